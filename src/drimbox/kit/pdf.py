"""A minimal valid PDF, for the kit's generated reports and Encapsulated PDF instances."""

from __future__ import annotations


def tiny_pdf(text: str, *, font_size: int = 12, media_box: tuple[int, int] = (595, 842)) -> bytes:
    """One PDF 1.4 page showing ``text`` (ASCII; PDF string delimiters replaced), with an exact
    cross-reference table so that strict readers open it."""
    safe = text.encode("ascii", "replace").replace(b"\\", b"/").replace(b"(", b"[")
    safe = safe.replace(b")", b"]")
    stream = b"BT /F1 %d Tf 72 720 Td (" % font_size + safe + b") Tj ET"
    width, height = media_box
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents 4 0 R " % (width, height)
        + b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)
