"""Answers as people read them: plain text for the terminal, Markdown for reports."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable

from .sentences import LIST_ITEM
from .types import Answer


def _reference_line(ref: dict, escape: Callable[[str], str] = str) -> str:
    """"[1], [2] Title — authors (date). section: …. pp. 3, 7. source: …"; ``escape`` applies to all but
    the markers."""
    markers = ", ".join(f"[{n}]" for n in ref["markers"])
    who = ", ".join(ref["authors"]) or "author not stated"
    when = ref["date"] or "undated"
    parts = [f"{ref['title']} — {who} ({when})"]
    if ref["sections"]:
        parts.append("section: " + "; ".join(ref["sections"]))
    pages = ref.get("pages") or []
    if pages:
        parts.append(("p. " if len(pages) == 1 else "pp. ") + ", ".join(map(str, pages)))
    parts.append(f"source: {ref['source']}")
    return f"{markers} {escape('. '.join(parts))}"


def plain(answer: Answer, width: int = 90) -> str:
    lines = []
    for para in answer.text.split("\n\n"):
        for line in para.split("\n"):  # a quoted list: one line per item, wrapped under its text
            lines.append(textwrap.fill(line, width=width, subsequent_indent="  " if LIST_ITEM.match(line) else ""))
        lines.append("")
    if answer.answered:
        lines.append("References")
        for ref in answer.references:
            lines.append(textwrap.fill(_reference_line(ref), width=width, subsequent_indent="    "))
    elif answer.passages:
        lines.append("Related passages (not an answer):")
        for p in answer.passages[:3]:
            where = " · ".join(x for x in (p.title, p.section) if x)
            lines.append(f"  - {where}: " + textwrap.shorten(" ".join(p.text.split()), width=width - 10))
    return "\n".join(lines).rstrip() + "\n"


# Characters that can start Markdown or HTML markup (the chat's renderer also knows math and entities).
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#!|~$<>&])")
# In a report, only what a Markdown editor would turn into markup: links and images, HTML,
# emphasis and code, headings, tables. Parentheses, dates and dashes stay as they are.
_MD_REPORT_SPECIAL = re.compile(r"([\\`*_\[\]#|~<>])")
_MARKERS_AT_END = re.compile(r"((?:\s*\[\d+\])+)\s*$")


def md_escape(text: str) -> str:
    """Text that a Markdown renderer shows verbatim: a backslash before every character that
    could start markup, so ``<script>`` is text, not a tag, and ``[a](javascript:…)`` no link."""
    return _MD_SPECIAL.sub(r"\\\1", text).replace("\n", "  \n")


def report_escape(text: str) -> str:
    """Text for a Markdown report: markup-starting characters escaped, everything else as written."""
    return _MD_REPORT_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def split_markers(paragraph: str) -> tuple[str, list[str]]:
    """An answer paragraph's quote and the numbers of the markers that end it."""
    m = _MARKERS_AT_END.search(paragraph)
    return (paragraph[: m.start()].strip(), re.findall(r"\d+", m.group(1))) if m else (paragraph, [])


def markdown(answer: Answer) -> str:
    """A block that pastes cleanly into a report: the answer, then numbered references.

    Everything that comes from a user or a document is escaped: a question or a quote cannot
    add a heading, a link or HTML to the report."""
    out = [f"**Q:** {report_escape(answer.question)}", ""]
    if answer.answered:
        for para in answer.text.split("\n\n"):
            quote, markers = split_markers(para)
            shown = "  \n".join(report_escape(line) for line in quote.split("\n"))  # a list's items: hard line breaks
            out += [f"{shown} {''.join(f'[{n}]' for n in markers)}".strip(), ""]
        out.append("**References**")
        out.append("")
        for ref in answer.references:
            out.append(f"- {_reference_line(ref, report_escape)}")
    else:
        out += [report_escape(answer.text), "", "**Related passages**", ""]
        for p in answer.passages[:3]:
            where = report_escape(p.title) + (" — " + report_escape(p.section) if p.section else "")
            out.append(f"- *{where}*: " + report_escape(textwrap.shorten(" ".join(p.text.split()), width=200)))
    return "\n".join(out).rstrip() + "\n"
