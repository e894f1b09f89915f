from pathlib import Path

import pytest

from assistant.chunking import ChunkSettings, chunk_document
from assistant.encoder import MAX_TOKENS, MiniLMEncoder
from assistant.ingest import read_corpus
from assistant.sentences import split_spans

SEEDS = Path(__file__).resolve().parents[2] / "seeds"


@pytest.fixture(scope="module")
def chunks():
    tokenizer = MiniLMEncoder()  # only its tokenizer is used: no torch here
    out = []
    for parsed in read_corpus(SEEDS):
        out.append((parsed, chunk_document(parsed, tokenizer.count_tokens, MAX_TOKENS, ChunkSettings()), tokenizer))
    return out


def test_spans_are_exact(chunks):
    for parsed, passages, _ in chunks:
        assert passages
        for p in passages:
            assert parsed.document.text[p.start : p.end] == p.text
            assert p.text == p.text.strip()


def test_passages_fit_the_model_window_and_stay_readable(chunks):
    lengths = []
    for _, passages, tok in chunks:
        counts = tok.count_tokens([p.text for p in passages])
        assert max(counts) <= MAX_TOKENS
        lengths += [len(p.text) for p in passages]
    assert sum(lengths) / len(lengths) < 1200


def test_passages_are_whole_sentences(chunks):
    for parsed, passages, _ in chunks:
        text = parsed.document.text
        for section in parsed.sections:
            spans = split_spans(text, section.start, section.end)
            starts, ends = {s for s, _ in spans}, {e for _, e in spans}
            for p in passages:
                if section.start <= p.start < section.end:
                    assert p.start in starts and p.end in ends, p.text[:60]


def test_passages_know_their_section(chunks):
    for parsed, passages, _ in chunks:
        for p in passages:
            (section,) = [s for s in parsed.sections if s.start <= p.start < s.end]
            assert p.section == section.title


def test_an_overlong_sentence_is_still_cut_to_the_window():
    from assistant.ingest import parse_text

    long_sentence = " ".join(["word"] * 900) + "."
    parsed = parse_text("long", "Title\n\n" + long_sentence + "\n", "long.txt")
    count = lambda texts: [len(t.split()) + 2 for t in texts]  # noqa: E731
    passages = chunk_document(parsed, count, 256, ChunkSettings())
    assert len(passages) >= 4
    assert all(count([p.text])[0] <= 256 for p in passages)
    assert all(parsed.document.text[p.start : p.end] == p.text for p in passages)
