"""Sentence boundaries as character spans.

Written here rather than taken from a library because citations need spans that
are exact offsets into the text, and the splitter must run in linear time on any
input (uploaded files, fuzzed text). Rules, in order:

* a blank line or a line break ends a sentence, unless the line runs on
  (no closing punctuation, next line starts in lower case: a page break inside
  a sentence);
* ``.``, ``!``, ``?`` (with closing quotes or brackets, and a footnote's number: "… in
  2009.12 The …", or "… in 2009.¹² The …" where the PDF set it raised) followed by white space
  and a capital, digit, quote or bracket ends a sentence, unless the word before
  the full stop is a known abbreviation ("No.", "Dr.", "Vol.", "e.g."), an
  initial ("Y.L."), or a number ("3.5%" has no space, so it never splits);
* nor before a number when the word before the full stop is a short capitalised
  abbreviation or holds dots of its own: the citation forms of laws, bills and
  courts ("34 Stat. 768", "S.Con.Res. 33", "(E.O.) 14285", "(1st Cir. 2025)").
"""

from __future__ import annotations

import re

_ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof sr jr st mt no nos vol vols fig figs eq eqs art arts sec ch chap pp p para
    e.g i.e etc vs cf al approx dept est govt inc ltd co corp univ assn jan feb mar apr jun jul aug
    sep sept oct nov dec u.s u.k u.n p.r.c a.m p.m rev gen col capt lt sgt hon cl pt pts
    """.split()
)


# A footnote's number set raised in a PDF (or in an HTML page's <sup>) is written with these, so that it is
# not read as part of the word or number it follows ("2009⁴", not "20094").
SUPERSCRIPT_DIGITS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
AS_SUPERSCRIPT = str.maketrans("0123456789", SUPERSCRIPT_DIGITS)


def _break_pattern() -> str:
    """The in-line sentence break as one regex (only fixed-width look-behinds).

    The same pattern serves ``split_spans`` and the chunker's text splitter, so
    passages and evidence sentences agree on where sentences end.
    """
    ends = r"(?:(?<=[.!?…])|(?<=[.!?…][\"'”’)\]])"
    # a footnote's number after the full stop ("… national memorials.\"9 Some …", "… defaults.18 Relationships");
    # three letters before the stop, so "No.12" and "pp.3" do not end a sentence
    ends += "".join(rf"|(?<=[a-z]{{3}}[.!?]\d{{{n}}})|(?<=[a-z][.!?][\"”’)]\d{{{n}}})" for n in (1, 2, 3))
    # a raised one ("… in 2009.⁴ Later …") is a footnote's whatever stands before the stop
    ends += "".join(rf"|(?<=[.!?][{SUPERSCRIPT_DIGITS}]{{{n}}})|(?<=[.!?][\"”’)][{SUPERSCRIPT_DIGITS}]{{{n}}})"
                    for n in (1, 2, 3)) + ")"
    not_abbr = "".join(rf"(?<!\b(?i:{re.escape(a)})\.)" for a in sorted(_ABBREVIATIONS))
    not_initial = r"(?<!\b[A-Z]\.)"
    # "Stat. 768", "Cir. 2025", "S.Rept. 119-51": a number after such a word continues the citation
    # (look-behinds must be fixed-width: one per word length)
    citation_words = [rf"(?<=\b[A-Z][a-z]{{{n}}}\.)" for n in (1, 2, 3)]
    citation_words += [rf"(?<=\.[A-Za-z]{{{n}}}\.{b})" for n in range(1, 7) for b in ("", r"\)")]
    not_citation = rf"(?!(?:{'|'.join(citation_words)})[ \t]+\(?\d)"
    return ends + not_abbr + not_initial + not_citation + r"[ \t]+(?=[\"'“‘(\[]*[A-Z0-9\u4e00-\u9fff])"


SENTENCE_BREAK = _break_pattern()
_BREAK = re.compile(SENTENCE_BREAK)


BULLETS = "[-–•*▪◦]"  # the marks that open a list item, as a regex character class
# a line that opens a list item: a bullet, or a short numbering ("2.", "(b)", "iv)") and a space
LIST_ITEM = re.compile(rf"^\s*(?:{BULLETS}|\(?(?:\d{{1,3}}|[ivx]{{1,4}}|[a-z])[.)])\s", re.I)
# a numbering at line start, after a bullet when a Markdown list item is numbered too ("- 1. Honorable")
_MARKER = re.compile(rf"[ \t]*(?:{BULLETS}[ \t]+)?(?:\d+(?:\.\d+)*|[IVXLC]+|[A-Za-z])\.?$")


def _is_list_marker(text: str, dot: int) -> bool:
    """True for the full stop of a numbering at line start: "3.1." or "II." or "a." or "- 1."."""
    line_start = text.rfind("\n", 0, dot) + 1
    return bool(_MARKER.fullmatch(text, line_start, dot))


def _line_runs_on(text: str, line_end: int, next_start: int) -> bool:
    """A line that ends without punctuation and whose next line starts lower-case."""
    prev = text[:line_end].rstrip().rstrip(SUPERSCRIPT_DIGITS)
    if not prev or prev[-1] in ".!?:;\"”’)]":
        return False
    return next_start < len(text) and text[next_start].islower()


def split_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans ``(s, e)`` of ``text[start:end]``, trimmed of white space."""
    end = len(text) if end is None else end
    cuts: list[int] = []
    # Line breaks.
    for m in re.finditer(r"[ \t]*\r?\n\s*", text[start:end]):
        a, b = start + m.start(), start + m.end()
        if not _line_runs_on(text, a, b):
            cuts.append(a)
    # Sentence punctuation inside lines.
    for m in _BREAK.finditer(text, start, end):
        if not _is_list_marker(text, m.start() - 1):
            cuts.append(m.start())
    spans: list[tuple[int, int]] = []
    prev = start
    for cut in sorted(set(cuts)) + [end]:
        s, e = prev, cut
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            spans.append((s, e))
        prev = max(prev, cut)
    return spans


def split(text: str) -> list[str]:
    """The sentences of ``text`` as strings (for callers that need no offsets)."""
    return [text[s:e] for s, e in split_spans(text)]


def is_question(sentence: str) -> bool:
    """Whether a sentence asks rather than states (an interviewer's question, a rhetorical one).

    Such a sentence resembles a user's question in form, not because it answers it: it is never
    quoted as evidence, and it never counts as a passage's closest sentence in retrieval.
    """
    return sentence.rstrip("\"'”’) \n").endswith("?")
