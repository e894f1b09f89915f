"""What people read: the answer's text, the Markdown report."""

from assistant import render
from assistant.compose import shown_quote
from assistant.types import Answer, Citation, Passage


def test_a_sources_own_reference_numbers_do_not_look_like_markers():
    quote = "Growth lacks diversified support [3]. Others agree [4, 5] and [6-8]."
    assert shown_quote(quote) == "Growth lacks diversified support [ref. 3]. Others agree [ref. 4, 5] and [ref. 6-8]."
    assert shown_quote("Two\n  lines [1]") == "Two lines [ref. 1]"


def test_markdown_escapes_what_users_and_documents_wrote():
    hostile = "hukou\n# Heading\n- [x](javascript:alert(1)) <script>"
    quote = "Rural areas <b>lag</b> behind [ref. 3]."
    answer = Answer(
        question=hostile, answered=True, text=f"{quote} [1]",
        citations=(Citation(1, "a", "Doc # A", "S", 0, len(quote), quote),),
        passages=(Passage("a", "Doc # A", "S", quote, 0, len(quote)),),
        references=({"markers": [1], "doc_id": "a", "title": "Doc # A", "authors": [], "date": "",
                     "sections": ["S"], "source": "a.txt"},),
    )
    md = render.markdown(answer)
    assert "\n# Heading" not in md and "<script>" not in md and "<b>" not in md
    assert md.startswith("**Q:** hukou \\# Heading - \\[x\\](javascript:alert(1))")  # text, not a link
    assert "behind \\[ref. 3\\]. [1]" in md  # the quote escaped, our marker kept as a marker
    assert "- [1] Doc \\# A" in md
