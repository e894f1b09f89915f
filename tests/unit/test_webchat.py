"""The chat's escaping and sources panel, without a browser (the browser tests show them on the page)."""

from __future__ import annotations

import html
from dataclasses import replace

from assistant import Assistant
from assistant.types import Answer, Citation
from assistant.webchat import chat_escape, sources_html

SEED = "002_39880fb65be5e4c4"


def test_urls_and_addresses_in_a_quote_make_no_link():
    got = chat_escape("See https://evil.example/x, www.evil.example and clerk@evil.example [x](javascript:y)")
    assert "https\\://" in got and "www\\." in got and "clerk\\@" in got and "\\[x\\]\\(javascript:y\\)" in got


def test_a_citation_of_a_document_replaced_since_shows_its_quote_alone(fake_index, encoder):
    qa = Assistant.load(fake_index, encoder=encoder)
    text = qa.document(SEED).text
    start = text.index("The household registration")
    quote = text[start:start + 60]
    cite = Citation(1, SEED, "Steering labor mobility", "Removing barriers", start, start + 60, quote)
    answer = Answer(question="what are the barriers?", answered=True, text=f"{quote} [1]", citations=(cite,))
    fresh = sources_html([{"question": answer.question, "answer": answer}], qa)
    assert f"<mark>{quote}</mark>" in fresh and "changed since" not in fresh
    moved = replace(cite, start=start + 7, end=start + 67)  # the document as another generation held it
    stale = sources_html([{"question": answer.question, "answer": replace(answer, citations=(moved,))}], qa)
    assert "changed since this answer" in stale and f"<mark>{quote}</mark>" in stale
    after = html.escape(text[start + 60:start + 90])  # the rest of the quote's sentence, as context
    assert after in fresh and after not in stale  # none taken from a text the quote is not in


def test_example_questions_show_only_over_the_documents_they_are_about():
    from pathlib import Path

    from assistant.webchat import EXAMPLES, examples_for

    seeds = {p.stem for p in (Path(__file__).resolve().parents[2] / "seeds").glob("*.txt")}
    assert {doc for _, doc in EXAMPLES if doc} <= seeds  # each names a bundled document
    assert examples_for(seeds) == [q for q, _ in EXAMPLES]
    assert examples_for(seeds - {"000_00d9ca38244840a4"}) == [q for q, doc in EXAMPLES if doc != "000_00d9ca38244840a4"]
    assert examples_for({"crs-report-1", "crs-report-2"}) == []  # none about documents the index lacks
