"""A PDF's text layer put back into the text its author wrote.

A PDF's lines end where the page ran out, and every page repeats its running header and footer.
Read as they come, a sentence is cut wherever a wrapped line opens with a capital ("the
American⏎Community Survey"), a word hyphenated at a line's end is two words to search, and the
header, footer and page number sit inside the sentence that runs over the page. So, per document:

* running heads and feet: a line within the top or bottom ``EDGE`` lines of a page whose form
  (digits as ``#``, so "Page 3" and "Page 4" agree) recurs at the edges of at least
  ``RECURRING`` of the pages (at least 3; both of a two-page document), a bare page number there,
  and a head or foot that bears the page's own number where the document numbers its pages
  ("Chapter 2: Handling 13" on the 13th printed page), are dropped, each form once per page edge,
  but for the document's first line (a running head is often the title), unless the title
  follows under it;
* wrapped lines: a line that fills the page's measure (at least ``FULL`` of the document's usual
  full line) runs on into the next unless it ends a sentence (a paragraph may end there too) or
  the next line opens a list item or a footnote ("12 U.S. Census Bureau, …"); a line ending in a
  hyphen runs on too, the hyphen dropped when the document spells the joined word elsewhere
  ("govern-⏎ment") or does not use both pieces as words ("particular-⏎ly"), kept when it does
  ("well-⏎known");
* pages: a page whose last line runs on into a lower-case word on the next is joined to it with a
  space (or nothing, for a word hyphenated over the page), not a page break (its last line may be
  a footnote's: a capital does not continue it).

Short lines (headings, list items, table cells, a paragraph's last line) keep their line breaks.
Quotes stay exact: the reflowed text is the document's text. ``printed_numbers`` reads the
number printed on each page off the same heads and feet, so a citation can name it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from .sentences import LIST_ITEM, SUPERSCRIPT_DIGITS

EDGE = 3  # lines at a page's top and at its bottom that may be a running head or foot
RECURRING = 0.3  # share of pages (at least 3 of them) whose edges repeat a line: a running head or foot
MAX_FURNITURE_CHARS = 160  # longer lines are text, however often they recur
FULL = 0.75  # share of the document's usual full line that a wrapped line fills
MIN_LINES = 10  # long lines a document needs before their upper quartile means more than the longest
PAGE_NUMBER = re.compile(r"^[-–—(\[]?\s*(?:page\s+)?(\d{1,4}|[ivxlc]{1,6})(?:\s*(?:of|/)\s*\d{1,4})?\s*[-–—)\]]?$", re.I)
_EDGE_NUMBER = re.compile(r"^(\d{1,4})(?=\s|$)|(?<=\s)(\d{1,4})$")
_HYPHENATED = re.compile(r"([A-Za-z]+)[-\u00ad]$")
_WORD_START = re.compile(r"^([a-z]+)")
_ENDS = re.compile(rf"[.!?:][\"'”’)\]]*[{SUPERSCRIPT_DIGITS}]*$")  # a raised footnote number may follow
_DOTTED = re.compile(r"\b\w+\.\w+\.$")  # "U.S.", "e.g.": the sentence goes on
# A footnote at a page's foot: its number, then its text ("12 U.S. Census Bureau, …")
FOOTNOTE_START = re.compile(r"^\s*\d{1,3}\s+[A-Z\"“(]")


def _form(line: str) -> str:
    """A line as running heads and feet repeat it: digits as ``#``, white space as one space."""
    return re.sub(r"\s+", " ", re.sub(r"\d+", "#", line.strip().lower()))


def _edges(lines: list[str]) -> list[int]:
    """Indexes of a page's first and last ``EDGE`` non-blank lines."""
    filled = [i for i, line in enumerate(lines) if line.strip()]
    return sorted(set(filled[:EDGE] + filled[-EDGE:]))


def _furniture(pages: list[list[str]]) -> set[str]:
    """The forms that recur at the edges of enough pages to be running heads or feet."""
    if len(pages) < 2:
        return set()
    seen: Counter[str] = Counter()
    for lines in pages:
        seen.update({_form(lines[i]) for i in _edges(lines) if len(lines[i].strip()) <= MAX_FURNITURE_CHARS})
    need = 2 if len(pages) == 2 else max(3, RECURRING * len(pages))
    return {form for form, n in seen.items() if n >= need}


def _page_number(line: str, last_page: int) -> bool:
    """A bare page number ("12", "- 12 -", "Page 12 of 40", "iv"); a number past any page the
    document could number (a year, a table's total) is text."""
    m = PAGE_NUMBER.match(line.strip())
    return bool(m) and (not m.group(1).isdigit() or int(m.group(1)) <= last_page)


def _edge_numbers(line: str) -> set[int]:
    """The numbers a line opens or closes with ("Chapter 2: Handling 13" → {13})."""
    return {int(a or b) for a, b in _EDGE_NUMBER.findall(line.strip())}


def _offsets(pages: list[list[str]], depth: int = 1, bare: bool = True) -> Counter[tuple[int, bool]]:
    """For each (offset, at the top) how many pages have a line among their first (or last)
    ``depth`` that opens or closes with the number index + offset (or, with ``bare``, is that number)."""
    seen: Counter[tuple[int, bool]] = Counter()
    for i, lines in enumerate(pages):
        filled = [line for line in lines if line.strip()]
        seen.update({(n - i, top) for top, edge in ((True, filled[:depth]), (False, filled[-depth:]))
                     for line in edge if bare or not line.strip().isdigit() for n in _edge_numbers(line)})
    return seen


def _enough(n: int, pages: int) -> bool:
    return pages >= 3 and n >= max(3, RECURRING * pages)


def _numbering(pages: list[list[str]]) -> tuple[int, bool] | None:
    """How printed page numbers run against page order (printed = index + offset), and whether
    they are at the top (else the bottom), when the first or last line of enough pages opens or
    closes with such a number: a running head that changes with the chapter ("Chapter 2:
    Handling 13") is told by its page number, not by recurring. Bare numbers do not count: where
    a document prints only those, a chapter heading "1 Introduction" on page 1 is no head."""
    seen = _offsets(pages, bare=False)
    if not seen:
        return None
    found, n = seen.most_common(1)[0]
    return found if _enough(n, len(pages)) else None


def _strip_edges(lines: list[str], furniture: set[str], last_page: int, printed: tuple[int, bool] | None,
                 first_page: bool = False) -> list[str]:
    """The page without the running heads, feet and page numbers at its top and bottom;
    ``printed`` is the number the page bears and whether at its top, when the document numbers
    its pages. The first page keeps its first line: a running head is often the title."""
    filled = [i for i, line in enumerate(lines) if line.strip()]
    seen: set[str] = set()  # once per page: a title under a running head that repeats it is text
    drop: set[int] = set()
    title = None
    for top, order in ((True, filled), (False, filled[::-1])):
        numbered = False  # one page number per edge: a chapter heading "2 Handling" under "2" is text
        for i in order[:EDGE + (first_page and top)]:  # the title kept does not count
            if i in drop:
                break
            line = lines[i]
            form = _form(line)
            bears = not numbered and (_page_number(line, last_page) or (
                printed is not None and printed[1] == top and printed[0] in _edge_numbers(line)
                and len(line.strip()) <= MAX_FURNITURE_CHARS))
            if first_page and top and i == filled[0] and not bears:
                title = re.sub(r"\W", "", form)  # letters only: the title under it may be hyphenated
                continue  # the document's first line: its title, however often the pages repeat it
            key = re.sub(r"\W", "", form)
            if top and title and (key == title or (len(key) >= 15 and (title.startswith(key) or key.startswith(title)))):
                drop.add(filled[0])  # the title again under its running head (or its first line): the head goes
                break
            if form in seen or not (form in furniture or bears):
                break
            seen.add(form)
            numbered = numbered or bears
            drop.add(i)
    return [line for i, line in enumerate(lines) if i not in drop and (filled and filled[0] <= i <= filled[-1])]


def _full_width(pages: list[list[str]]) -> float:
    """The document's usual full line, in characters (0 when it has too few lines to tell)."""
    lengths = sorted(len(line.strip()) for lines in pages for line in lines if len(line.strip()) >= 20)
    if len(lengths) < 2:
        return 0.0
    # the upper quartile: most lines of a page are full ones; of a few lines, the longest
    return float(lengths[int(0.75 * (len(lengths) - 1)) if len(lengths) >= MIN_LINES else -1])


def _vocabulary(pages: list[list[str]]) -> set[str]:
    """The document's words, lower case, without the pieces of words hyphenated at a line's end."""
    words: set[str] = set()
    for lines in pages:
        broken = False  # the line before ended in a hyphen: this line's first word is a piece
        for line in lines:
            found = re.findall(r"[A-Za-z]+", line)
            ends_broken = bool(_HYPHENATED.search(line.rstrip()))
            words.update(w.lower() for w in found[int(broken): len(found) - int(ends_broken)])
            broken = ends_broken
    return words


def _join(line: str, next_line: str, full: float, words: set[str]) -> tuple[int, str] | None:
    """How ``line`` runs on into ``next_line``: the characters to cut from its end and what to put
    between them; None when the line break stays."""
    a, b = line.rstrip(), next_line.lstrip()
    if not a or not b or not full or len(a) < FULL * full or LIST_ITEM.match(next_line) or FOOTNOTE_START.match(b):
        return None
    hyphen = _HYPHENATED.search(a)
    if hyphen:  # "govern-⏎ment", "particular-⏎ly" → one word; "well-⏎known", "SARS-⏎CoV-2" keep the hyphen
        start = _WORD_START.match(b)
        if not start:
            return 0, ""
        first, second = hyphen.group(1).lower(), start.group(1)
        whole = first + second in words or not (first in words and second in words)
        return (1, "") if whole else (0, "")
    if a[-1] in "—–/":  # a dash or a path: nothing between
        return 0, ""
    if _ENDS.search(a) and not _DOTTED.search(a):  # a sentence ends there: so may a paragraph
        return None
    return 0, " "


def _runs_on(lines: list[str], full: float, words: set[str]) -> list[str]:
    """The page's lines with wrapped ones joined, each as ``_join`` says of the line as printed."""
    out: list[str] = []
    for before, line in zip([None, *lines], lines):
        glue = _join(before, line, full, words) if before is not None else None
        if glue is None:
            out.append(line)
            continue
        cut, between = glue
        head = out[-1].rstrip()
        out[-1] = head[: len(head) - cut] + between + line.lstrip()
    return out


def reflow(page_texts: Sequence[str]) -> tuple[list[str], list[str | None]]:
    """The pages' texts reflowed, and what joins each page to the next ("" or " " when its last line
    runs on, the hyphen of a word broken over the page gone; else ``None`` for the caller's page
    break)."""
    pages = [text.split("\n") for text in page_texts]
    furniture = _furniture(pages)
    last_page = 2 * len(pages) + 20  # printed numbers may start after unnumbered front matter
    numbering = _numbering(pages)
    pages = [_strip_edges(lines, furniture, last_page, None if numbering is None else (i + numbering[0], numbering[1]),
                          first_page=i == 0)
             for i, lines in enumerate(pages)]
    full = _full_width(pages)
    words = _vocabulary(pages)
    # A page runs on into the next as a line does, but only into a lower-case word: its last line
    # may be a footnote's, which a capital on the next page does not continue.
    texts = ["\n".join(_runs_on(lines, full, words)) for lines in pages]
    joints: list[str | None] = []
    for i, (lines, following) in enumerate(zip(pages, pages[1:])):
        glue = _join(lines[-1], following[0], full, words) if lines and following else None
        if glue is None or not following[0].lstrip()[:1].islower():
            joints.append(None)
            continue
        cut, between = glue
        last = texts[i].rstrip()
        texts[i] = last[: len(last) - cut]
        joints.append(between)
    return texts, joints


def printed_numbers(page_texts: Sequence[str]) -> tuple[str, ...]:
    """The number printed on each page, where the document numbers its pages in its heads or feet
    (a page before the numbering starts: ""); () when it does not."""
    by_offset: Counter[int] = Counter()
    for (offset, _), n in _offsets([text.split("\n") for text in page_texts], depth=EDGE).items():
        by_offset[offset] += n  # at the top of some pages, the foot of others: one numbering
    if not by_offset:
        return ()
    offset, n = by_offset.most_common(1)[0]
    if not _enough(n, len(page_texts)):
        return ()
    return tuple(str(i + offset) if i + offset >= 1 else "" for i in range(len(page_texts)))
