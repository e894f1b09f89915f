"""Small files that take a reader a long time: the shapes an outside review sent (issue 25)."""

from __future__ import annotations

import io
import re
import zipfile


def docx_bomb(paragraphs: int = 600_000) -> bytes:
    """A .docx of a few hundred KB whose document.xml repeats one paragraph ``paragraphs`` times."""
    import docx

    out = io.BytesIO()
    document = docx.Document()
    document.add_paragraph("Rural households weigh a lease against a sale.")
    document.save(out)
    src = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    xml = src.read("word/document.xml").decode("utf-8")
    para = re.search(r"<w:p>.*?</w:p>|<w:p [^>]*>.*?</w:p>", xml, re.S).group()
    xml = xml.replace(para, para * paragraphs, 1)
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, xml if info.filename == "word/document.xml" else src.read(info.filename))
    return bomb.getvalue()


def pdf_bomb(content_bytes: int = 8_200_000) -> bytes:
    """A one-page PDF of a few tens of KB whose content stream inflates to ``content_bytes`` of text operators."""
    import zlib

    op = b"BT /F1 12 Tf 72 720 Td (policy) Tj ET\n"
    stream = zlib.compress(op * (content_bytes // len(op)), 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % n + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()
