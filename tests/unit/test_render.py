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


LIST_QUOTE = ("The model has layers (listed here from top to bottom):\n- the application layer;\n"
              "- the transport\n  layer; and\n\n- the physical layer [2].")


def _list_answer() -> Answer:
    from assistant.compose import shown_quote

    shown = shown_quote(LIST_QUOTE)
    return Answer(
        question="Which layers?", answered=True, text=f"{shown} [1]",
        citations=(Citation(1, "a", "Doc A", "S", 0, len(LIST_QUOTE), LIST_QUOTE),),
        passages=(Passage("a", "Doc A", "S", LIST_QUOTE, 0, len(LIST_QUOTE)),),
        references=({"markers": [1], "doc_id": "a", "title": "Doc A", "authors": [], "date": "",
                     "sections": ["S"], "source": "a.txt"},),
    )


def test_a_quoted_list_keeps_one_line_per_item_and_closes_up_other_breaks():
    assert shown_quote(LIST_QUOTE) == ("The model has layers (listed here from top to bottom):\n- the application layer;\n"
                                       "- the transport layer; and\n- the physical layer [ref. 2].")
    assert shown_quote("A sentence wrapped\nat 2019. And (b) inline.") == "A sentence wrapped at 2019. And (b) inline."
    assert shown_quote("Steps:\n1. apply;\n(b) wait;\niv) appeal.") == "Steps:\n1. apply;\n(b) wait;\niv) appeal."


def test_a_quoted_list_reads_as_a_list_in_the_terminal_the_report_and_the_chat():
    from assistant.webchat import chat_message

    answer = _list_answer()
    text = render.plain(answer, width=40)
    assert "bottom):\n- the application layer;\n- the transport layer; and\n- the physical layer [ref. 2]. [1]" in text
    md = render.markdown(answer)
    assert "bottom):  \n- the application layer;  \n- the transport layer; and  \n- the physical layer \\[ref. 2\\]. [1]" in md
    chat = chat_message(answer, 1)
    assert "bottom\\):  \n- the application layer;  \n- the transport layer; and  \n- the physical layer" in chat
    assert chat.endswith('<a href="#src-1-1" class="cite">[1]</a>')


def test_a_reference_names_the_pages_of_a_pdf_its_quotes_are_on():
    ref = {"markers": [1, 2], "doc_id": "a", "title": "Report", "authors": ["Li Wei"], "date": "2024",
           "sections": ["Costs"], "pages": [3, 7], "source": "report.pdf"}
    assert render._reference_line(ref) == "[1], [2] Report — Li Wei (2024). section: Costs. pp. 3, 7. source: report.pdf"
    assert "p. 3." in render._reference_line({**ref, "pages": [3]})
    assert " p" not in render._reference_line({**ref, "pages": []}).split("source")[0]
