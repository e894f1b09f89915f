import numpy as np
import pytest

from assistant import Assistant, Passage
from assistant.question import parse
from assistant.errors import InputError
from assistant.evaluation import evidence_span
from assistant.retrieval import FUSED_HEAD, FusionSettings, Retriever, _reserve_sentence_slots, _scaled


def test_search_returns_typed_passages_best_first(fake_index, encoder):
    qa = Assistant.load(fake_index, encoder=encoder)
    hits = qa.search("Huichuan district micro loan SMEs", k=5)
    assert len(hits) == 5 and all(isinstance(h, Passage) for h in hits)
    head = [h.score for h in hits[:FUSED_HEAD]]
    assert head == sorted(head, reverse=True)  # ranks after the head may be reserved (next test)
    assert hits[0].doc_id == "004_89f843d6a7ca3e66" and "Micro Loan" in hits[0].text
    with pytest.raises(AttributeError):
        hits[0].score = 1.0  # frozen


def test_lexical_side_finds_a_rare_exact_term(fake_index, encoder):
    qa = Assistant.load(fake_index, encoder=encoder)
    (top,) = qa.search("Zunyi", k=1)
    assert "Zunyi" in top.text


def test_document_filter(fake_index, encoder):
    qa = Assistant.load(fake_index, encoder=encoder)
    hits = qa.search("pension insurance", k=10, documents=["001_3e4fe2d8ef67bf05"])
    assert hits and {h.doc_id for h in hits} == {"001_3e4fe2d8ef67bf05"}
    with pytest.raises(InputError, match="unknown document id"):
        qa.search("pension", documents=["nope"])


@pytest.mark.parametrize("query,k", [("", 5), ("   ", 5), ("x" * 2001, 5), ("ok", 0), ("ok", 101)])
def test_bad_queries(fake_index, encoder, query, k):
    qa = Assistant.load(fake_index, encoder=encoder)
    with pytest.raises(InputError):
        qa.search(query, k=k)


def test_unknown_words_only_still_return_dense_hits(fake_index, encoder):
    qa = Assistant.load(fake_index, encoder=encoder)
    hits = qa.search("zzqx wvyt", k=3)
    assert len(hits) == 3 and all(h.score >= 0 for h in hits)


def test_fusion_weights_move_the_ranking(fake_index, encoder):
    qa = Assistant.load(fake_index, encoder=encoder)
    lexical_only = FusionSettings(lexical_weight=1.0, document_weight=0.0)
    hits = qa.search("Gansu labor big data platform hotline", k=1, fusion=lexical_only)
    assert "Gansu" in hits[0].text


def test_scaling():
    assert _scaled(np.array([2.0, 1.0, -1.0])).tolist() == [1.0, 0.5, 0.0]
    assert _scaled(np.array([0.0, 0.0])).tolist() == [0.0, 0.0]


def test_document_lookup(fake_index, encoder):
    qa = Assistant.load(fake_index, encoder=encoder)
    doc = qa.document("003_7b280bcd34d210ec")
    assert doc.authors == ("Yuchi Zhou", "Wen Bao")
    with pytest.raises(InputError):
        qa.document("missing")


def test_evaluation_overlap_rules():
    from assistant.evaluation import citation_matches, holds

    p = Passage("d", "T", "", "x" * 100, 100, 200)
    assert holds(p, "d", (150, 250)) and not holds(p, "d", (160, 300)) and not holds(p, "e", (150, 250))
    assert citation_matches("d", (0, 100), "d", (40, 60)) and not citation_matches("d", (0, 100), "d", (95, 200))


def test_own_tokenizer_matches_bm25s(corpus):
    """lexical.tokenize is a fast copy of bm25s.tokenize; it must give the very same stems."""
    import bm25s

    from assistant import lexical
    from assistant.ingest import read_corpus

    texts = [p.document.text for p in read_corpus(corpus)] + ["Hukou's 2.5% rise — what's NEW? e-commerce", ""]
    expected = bm25s.tokenize([lexical.matching_text(t).replace("_", " ") for t in texts], stopwords=sorted(lexical._stopwords()),
                              stemmer=lexical._stemmer(), return_ids=False, show_progress=False)
    assert lexical.tokenize(texts) == expected


def test_markdown_emphasis_does_not_hide_a_word():
    from assistant import lexical

    assert lexical.tokenize(["largely _funded_ by __taxes__"]) == lexical.tokenize(["largely funded by taxes"])


def test_segment_argmax_matches_a_loop():
    import numpy as np

    from assistant.retrieval import _segment_argmax

    rng = np.random.default_rng(3)
    lengths = rng.integers(1, 6, size=200)
    values = rng.integers(0, 4, size=int(lengths.sum())).astype(np.float32)  # many ties
    expected, at = [], 0
    for n in lengths:
        expected.append(at + int(np.argmax(values[at : at + n])))
        at += n
    assert _segment_argmax(values, lengths).tolist() == expected


def test_ranks_after_the_head_go_to_the_passages_with_the_best_sentences():
    cands = np.arange(8)
    fused_order = np.array([0, 1, 2, 3, 4, 5, 6, 7])
    sent_cos = np.array([0.5, 0.9, 0.4, 0.3, 0.2, 0.1, 0.8, 0.7])  # 1 is in the head already
    order = _reserve_sentence_slots(fused_order, sent_cos, cands, 2)
    assert order.tolist() == [0, 1, 2, 6, 7, 3, 4, 5]
    assert _reserve_sentence_slots(fused_order, sent_cos, cands, 0).tolist() == fused_order.tolist()
    assert _reserve_sentence_slots(fused_order[:3], sent_cos[:3], cands[:3], 2).tolist() == [0, 1, 2]


def test_a_shorter_search_is_the_start_of_a_longer_one(fake_index, encoder):
    qa = Assistant.load(fake_index, encoder=encoder)
    for question in ("Huichuan district micro loan SMEs", "why do migrant workers go home", "talent"):
        five, ten = qa.search(question, k=5), qa.search(question, k=10)
        assert five == ten[:5]


def test_a_question_naming_one_documents_authors_searches_that_document(fake_index, encoder):
    qa = Assistant.load(fake_index, encoder=encoder)
    hits = qa.search("What do the Shandong authors say about rural talent and migrant workers?", k=5)
    assert {h.doc_id for h in hits} == {"000_00d9ca38244840a4"}  # the only document that mentions Shandong
    # Named by nothing particular ("the authors"): every document stays in play.
    hits = qa.search("What do the authors say about rural talent and migrant workers?", k=10)
    assert len({h.doc_id for h in hits}) > 1


def test_a_question_sentence_never_stands_for_its_passage():
    # Passage 0 holds sentences 0 (a question, closest to the query) and 1; passage 1 holds sentence 2.
    vecs = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]], dtype=np.float32)
    ranges = np.array([[0, 2], [2, 3]])
    q = np.array([1.0, 0.0], dtype=np.float32)
    cands = np.array([0, 1])
    plain = Retriever(None, None, None, np.array([0, 0]), vecs, ranges)
    asks = Retriever(None, None, None, np.array([0, 0]), vecs, ranges, np.array([True, False, False]))
    cos, rows, _, _ = plain._best_sentences(cands, q)
    assert rows.tolist() == [0, 2] and cos.tolist() == pytest.approx([1.0, 0.0])
    cos, rows, sims, starts = asks._best_sentences(cands, q)
    assert rows.tolist() == [1, 2] and cos.tolist() == pytest.approx([0.6, 0.0])
    # Every sentence's own similarity comes back too (the question's unmasked), each passage's from its start.
    assert sims.tolist() == pytest.approx([1.0, 0.6, 0.0]) and starts.tolist() == [0, 2]


def test_a_hit_carries_its_sentences_similarities_for_the_answer(fake_index, encoder):
    qa = Assistant.load(fake_index, encoder=encoder)
    _, vector, hits = qa._retrieve(parse("why do few migrant workers return to the countryside?"), 5, None, FusionSettings())
    for hit in hits:
        a, b = qa._retriever.sentence_ranges[hit.row]
        assert hit.sentence_sims.tolist() == pytest.approx(qa._retriever.sentence_similarity(np.arange(a, b), vector).tolist())


def _named(qa: Assistant, question: str):
    """The documents a question names by their people (a mask), or None."""
    return qa._sources.resolve(parse(question))[1].documents


def _authored(tmp_path, encoder, docs: dict[str, tuple[str, str]]) -> Assistant:
    """An index of Markdown files named by ``docs``' keys, each with its (author, text)."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, (author, text) in docs.items():
        (corpus / f"{name}.md").write_text(f"---\ntitle: Paper {name}\nauthors: {author}\n---\n\n{text}\n", encoding="utf-8")
    Assistant.build(corpus, tmp_path / "index", encoder=encoder)
    return Assistant.load(tmp_path / "index", encoder=encoder)


def test_authors_names_name_their_document_unless_other_documents_use_them(tmp_path, encoder):
    qa = _authored(tmp_path, encoder, {
        "a": ("Shanghai Daily", "Shanghai merged its urban and rural pension schemes in 2014. Pensions rose."),
        "b": ("Mei Lanfang", "Shanghai builds rural roads. Housing for migrant workers is scarce in cities."),
        "c": ("Tao Ran", "Rural land contract reform separates ownership rights from management rights."),
    })
    assert {h.doc_id for h in qa.search("What does Mei say about rural roads and land?", k=5)} == {"b"}
    # Two documents' authors named once each: a comparison, so neither is chosen.
    assert _named(qa, "What do Tao and Lanfang say about rural land?") is None
    # "Shanghai" is an author's word, but two documents' texts use it: it names neither.
    assert _named(qa, "What did Shanghai do about pensions and roads?") is None
    assert len({h.doc_id for h in qa.search("What did Shanghai do about pensions and roads?", k=5)}) > 1


def test_a_whole_authors_name_leaves_the_focus_even_when_a_part_of_it_is_common(tmp_path, encoder):
    qa = _authored(tmp_path, encoder, {
        "a": ("Pang Jiaping", "Talent flows between city and countryside. Pang Jiaping is from Shandong."),
        "b": ("Tao Ran", "Rural land reform. As Pang (2023) found, industries merge slowly."),
    })
    # "Pang" alone names neither document (both texts hold it), but "Pang Jiaping" is one author.
    assert _named(qa, "What does Pang say about land reform?") is None
    focus = qa._sources.resolve(parse("What does Pang Jiaping say about talent flows between city and countryside?"))[0].focus
    assert "Pang" not in focus and "Jiaping" not in focus and "talent" in focus


def test_labelled_evidence_is_found_up_to_quotes_dashes_spaces_and_case():
    text = "Intro.\nThe registration of \xa0migrant workers is key. Rural residents’ income — low.\n"
    exact = "The registration of \xa0migrant workers is key."
    assert evidence_span(text, exact) == (7, 7 + len(exact))
    s, e = evidence_span(text, "the registration of migrant workers is key.")
    assert text[s:e] == exact
    s, e = evidence_span(text, " Rural residents' income - low. ")
    assert text[s:e] == "Rural residents’ income — low."
    with pytest.raises(InputError):
        evidence_span(text, "not in the text")
    with pytest.raises(InputError):
        evidence_span(text, "   ")


def test_ligatures_are_spelt_out_for_matching():
    from assistant import lexical

    assert lexical.tokenize(["the program’s beneﬁts and ﬂows"]) == lexical.tokenize(["the program’s benefits and flows"])


def test_a_raised_footnote_number_is_no_part_of_the_word_it_follows():
    from assistant import lexical

    assert lexical.tokenize(["rural counties¹² lost people in 2009⁴"]) == lexical.tokenize(["rural counties lost people in 2009"])
    assert lexical.matching_text("counties¹² lost") == "counties   lost"  # the quote keeps them; matching does not


def test_the_index_embeds_and_the_verifier_reads_ligatures_spelt_out():
    import numpy as np

    from assistant.indexing import _embed
    from assistant.verifier import as_pair

    seen = []

    class Recording:
        dim = 2

        def encode(self, texts, progress=None):
            seen.extend(texts)
            return np.zeros((len(texts), 2), np.float32)

    _embed(["beneﬁts ﬂow"], Recording(), lambda p: None)
    assert seen == ["benefits flow"]
    assert as_pair("What beneﬁts?", "The beneﬁts ﬂow.") == ("What beneﬁts?", "The benefits flow.")
