"""Property tests (hypothesis): hostile or random input never crashes and never breaks an offset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakes import HashEncoder
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant import Assistant
from assistant.chunking import ChunkSettings, chunk_document
from assistant.errors import AssistantError, CorpusError, InputError
from assistant.ingest import parse_text, read_file
from assistant.sentences import split_spans

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Text that looks like documents: words, numbers, headings, abbreviations, odd Unicode, control characters.
pieces = st.sampled_from([
    "Hukou", "reform", "No. 1", "3.5%", "Dr. Li", "\n", "\n\n", "# Title", "1. Introduction", "II. Methods",
    "Author: Zhao", "2021-02-18", "References", "<script>", "—", "“", "’", "\u200b", "\x00", "\t", " ", ".", "?",
    "户籍", "e.g.", "U.S.", "By Li Wei and Wang Fang", "Edited by X", "Abstract:", "|", "   ",
])
doc_text = st.lists(st.one_of(pieces, st.text(max_size=30)), max_size=120).map("".join)


@FUZZ
@given(doc_text)
def test_ingest_and_chunk_any_text(text):
    encoder = HashEncoder()
    try:
        parsed = parse_text("doc", text, "doc.txt")
    except CorpusError:
        return  # empty after all: refused with a message
    doc = parsed.document
    assert len(doc.text) == len(text)  # furniture blanked, never removed: offsets hold
    for sec in parsed.sections:
        assert 0 <= sec.start <= sec.end <= len(text)
    for p in chunk_document(parsed, encoder.count_tokens, encoder.max_tokens, ChunkSettings()):
        assert doc.text[p.start : p.end] == p.text and p.text.strip()
        for s, e in split_spans(doc.text, p.start, p.end):
            assert p.start <= s < e <= p.end


@FUZZ
@given(data=st.binary(max_size=3000), suffix=st.sampled_from([".txt", ".md", ".html", ".pdf", ".docx", ".jsonl", ".exe"]))
def test_read_any_bytes(tmp_path_factory, data, suffix):
    path = tmp_path_factory.mktemp("fuzz") / f"file{suffix}"
    path.write_bytes(data)
    try:
        docs = read_file(path)
    except CorpusError as exc:
        assert "\n" not in str(exc) and str(exc)
        return
    for parsed in docs:
        assert parsed.document.text.strip()
        for sec in parsed.sections:
            assert 0 <= sec.start <= sec.end <= len(parsed.document.text)


@pytest.fixture(scope="module")
def fuzz_qa(tmp_path_factory):
    from conftest import SEEDS

    index = tmp_path_factory.mktemp("fuzzqa") / "index"
    Assistant.build(SEEDS, index, encoder=HashEncoder())
    return Assistant.load(index, encoder=HashEncoder())


questions = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1900, max_size=2100),
    st.lists(pieces, max_size=40).map(" ".join),
)


@FUZZ
@given(question=questions, k=st.integers(min_value=-2, max_value=120))
def test_any_question(fuzz_qa, question, k):
    try:
        answer = fuzz_qa.ask(question, k=k)
        hits = fuzz_qa.search(question, k=k)
    except InputError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert len(hits) <= k
    for c in answer.citations:
        assert fuzz_qa.document(c.doc_id).text[c.start : c.end] == c.quote
    assert answer.answered or not answer.citations


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=20,
)
ask_bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"question": st.one_of(st.text(max_size=2100), json_values)},
        optional={"k": json_values, "history": json_values, "documents": json_values, "since": json_values,
                  "until": json_values, "extra": json_values},
    ),
)


@pytest.fixture(scope="module")
def api(fuzz_qa):
    from starlette.testclient import TestClient

    from assistant.server import create_app

    with TestClient(create_app(fuzz_qa, chat=False), raise_server_exceptions=False) as client:
        yield client


@FUZZ
@given(body=ask_bodies)
def test_any_ask_body(api, body):
    r = api.post("/api/ask", content=json.dumps(body), headers={"content-type": "application/json"})
    assert r.status_code in (200, 400, 404, 413, 422), (r.status_code, r.text)
    data = r.json()
    if r.status_code == 200:
        assert isinstance(data["answered"], bool) and isinstance(data["citations"], list)
    else:
        assert isinstance(data["error"], str) and "Traceback" not in data["error"]


@FUZZ
@given(raw=st.binary(max_size=500))
def test_any_raw_body(api, raw):
    r = api.post("/api/ask", content=raw, headers={"content-type": "application/json"})
    assert r.status_code in (200, 400, 413, 422), (r.status_code, r.text)


@FUZZ
@given(q=st.text(max_size=2100), k=st.text(max_size=5), doc=st.text(max_size=20), since=st.text(max_size=12))
def test_any_search_query(api, q, k, doc, since):
    r = api.get("/api/search", params={"q": q, "k": k, "doc": doc, "since": since})
    assert r.status_code in (200, 400, 404, 422), (r.status_code, r.text)
    assert "error" in r.json() or "passages" in r.json()


def test_assistant_errors_are_one_line(tmp_path: Path):
    with pytest.raises(AssistantError) as info:
        Assistant.load(tmp_path / "nothing-here", encoder=HashEncoder())
    assert "\n" not in str(info.value) and "policyqa build" in str(info.value)


line_pieces = st.sampled_from(["12", "Page 3 of 9", "- 4 -", "iv", "Annual Report", "govern-", "ment of the", "SARS-",
                               "CoV-2", "U.S.", "12 U.S. Census Bureau, accessed", "— ", "https://a.gov/", "\u00ad", " "])
page_text = st.lists(st.one_of(line_pieces, st.text(max_size=90)), max_size=40).map("\n".join)


@FUZZ
@given(st.lists(page_text, max_size=8))
def test_reflow_any_pages(pages):
    from assistant.reflow import reflow

    texts, joints = reflow(pages)
    assert len(texts) == len(pages) and len(joints) == max(0, len(pages) - 1)
    assert all(j in (None, "", " ") for j in joints)
    letters = lambda t: sum(c.isalnum() for c in t)  # noqa: E731
    assert letters("".join(texts)) <= letters("".join(pages))  # lines dropped or joined, nothing made up
