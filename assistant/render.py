"""Answers as people read them: plain text for the terminal, Markdown for reports."""

from __future__ import annotations

import textwrap

from .types import Answer


def _reference_line(ref: dict) -> str:
    markers = ", ".join(f"[{n}]" for n in ref["markers"])
    who = ", ".join(ref["authors"]) or "author not stated"
    when = ref["date"] or "undated"
    parts = [f"{markers} {ref['title']} — {who} ({when})"]
    if ref["sections"]:
        parts.append("section: " + "; ".join(ref["sections"]))
    parts.append(f"source: {ref['source']}")
    return ". ".join(parts)


def plain(answer: Answer, width: int = 90) -> str:
    lines = []
    for para in answer.text.split("\n\n"):
        lines.append(textwrap.fill(para, width=width))
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


def markdown(answer: Answer) -> str:
    """A block that pastes cleanly into a report: the answer, then numbered references."""
    out = [f"**Q:** {answer.question}", ""]
    if answer.answered:
        for para in answer.text.split("\n\n"):
            out += [para, ""]
        out.append("**References**")
        out.append("")
        for ref in answer.references:
            out.append(f"- {_reference_line(ref)}")
    else:
        out += [answer.text, "", "**Related passages**", ""]
        for p in answer.passages[:3]:
            out.append(f"- *{p.title}*{' — ' + p.section if p.section else ''}: "
                       + textwrap.shorten(" ".join(p.text.split()), width=200))
    return "\n".join(out).rstrip() + "\n"
