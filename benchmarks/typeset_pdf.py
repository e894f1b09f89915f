"""Typeset a corpus's text files as PDFs, the way reports and papers reach users.

Users add PDFs far more often than text files, and a PDF's text layer is laid out, not written:
every line ends where the page did, long words are hyphenated across lines, and each page
repeats a running header and a footer with its number. These PDFs carry exactly that
(justified, hyphenated paragraphs, footnote numbers raised, the title as a running header,
a publisher line and the page number as the footer, the title and author in the metadata), so
the generality table can ask the same labelled questions of a corpus read from its PDFs
(``benchmarks/generality.py --corpora crs-pdf,covidqa-pdf``) as of its text.

    .venv/bin/python benchmarks/typeset_pdf.py crs        # -> benchmarks/out/pdf/crs/*.pdf

Needs reportlab and pyphen (``make bench-setup``); the product does not.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from xml.sax.saxutils import escape

from common import ROOT

OUT = ROOT / "benchmarks" / "out" / "pdf"
FOOTER = "Published report"  # the same on every page, as a publisher's name is
VERSION = 3  # 2: words hyphenated at line ends; 3: footnote numbers raised
# A footnote's number after a sentence's stop in the source text ("… defaults.18 Relationships"):
# the sources were themselves read from PDFs that set it raised, so it is set raised again.
FOOTNOTE_NUMBER = re.compile(r"(?<=[a-z]{3}[.!?])(\d{1,3})(?=\s|$)|(?<=[a-z][.!?][\"”’)])(\d{1,3})(?=\s|$)")


def typeset(src: Path, dst: Path) -> None:
    from reportlab.lib.enums import TA_JUSTIFY
    from reportlab.lib.pagesizes import letter
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    text = src.read_text(encoding="utf-8")
    title = text.strip().split("\n", 1)[0].strip()[:120]
    body = getSampleStyleSheet()["BodyText"]
    body.alignment = TA_JUSTIFY
    body.hyphenationLang = "en_US"  # words broken at line ends, as typeset reports and papers have them (pyphen)
    story = []
    for block in re.split(r"\n[ \t]*\n", text):
        for line in block.strip().split("\n"):
            if line.strip():
                marked = FOOTNOTE_NUMBER.sub(lambda m: f"<super>{m.group()}</super>", escape(line.strip()))
                story.append(Paragraph(marked, body))
        story.append(Spacer(1, 6))

    def furniture(canvas, doc) -> None:  # noqa: ANN001 - reportlab's callback
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        canvas.drawString(72, letter[1] - 40, title)
        canvas.drawString(72, 30, FOOTER)
        canvas.drawRightString(letter[0] - 72, 30, str(doc.page))
        canvas.restoreState()

    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_suffix(".tmp")
    SimpleDocTemplate(str(tmp), pagesize=letter, title=title, author="").build(
        story, onFirstPage=furniture, onLaterPages=furniture)
    tmp.replace(dst)


def typeset_corpus(folder: Path, source: Path) -> Path:
    """One PDF in ``folder`` per text file of ``source`` (each kept while newer than its source
    and typeset by this version of the script)."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = folder / "typeset.json"  # not a document type: a build of the folder passes it by
    current = json.dumps({"version": VERSION})
    stale = not stamp.is_file() or stamp.read_text() != current
    for src in sorted(source.glob("*.txt")):
        dst = folder / f"{src.stem}.pdf"
        if stale or not dst.exists() or dst.stat().st_mtime < src.stat().st_mtime:
            typeset(src, dst)
    stamp.write_text(current)
    return folder


def main() -> None:
    from corpora import BENCH

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", help="a folder of ../shared/bench (crs, covidqa, squad2)")
    args = parser.parse_args()
    source = BENCH / args.corpus / "docs"
    if not source.is_dir():
        sys.exit(f"no folder {source}")
    print(typeset_corpus(OUT / args.corpus, source))


if __name__ == "__main__":
    main()
