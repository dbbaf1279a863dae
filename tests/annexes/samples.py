"""Small files of every kind an annex upload meets, genuine or hostile."""

from __future__ import annotations

import io
import zipfile
import zlib

PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
PDF_WITH_JAVASCRIPT = (
    b"%PDF-1.7\n1 0 obj << /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >> endobj\n%%EOF"
)
PDF_WITH_ESCAPED_JS = b"%PDF-1.4\n1 0 obj << /OpenAction << /S /J#61vaScript /J#53 (x) >> >> endobj\n%%EOF"
PDF_WITH_COMPRESSED_JS = (
    b"%PDF-1.5\n4 0 obj\n<< /Type /ObjStm /Filter /FlateDecode >>\nstream\n"
    + zlib.compress(b"<< /S /JavaScript /JS (app.launchURL('x')) >>")
    + b"\nendstream\nendobj\n%%EOF"
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01" + b"\x00" * 32 + b"\xff\xd9"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 32
EXE_RENAMED = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
HTML_AS_PDF = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG_AS_PNG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>'
OLD_WORD = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64
PLAIN_TEXT = b"Ceci n'est pas un PDF, juste du texte."


def office(parts: dict[str, bytes], *, content_types: bool = True) -> bytes:
    """A zip archive with these parts (and `[Content_Types].xml` unless told otherwise)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if content_types:
            archive.writestr("[Content_Types].xml", b'<?xml version="1.0"?><Types/>')
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


DOCX = office({"word/document.xml": b"<w:document/>", "_rels/.rels": b"<Relationships/>"})
XLSX = office({"xl/workbook.xml": b"<workbook/>", "_rels/.rels": b"<Relationships/>"})
DOCM = office({"word/document.xml": b"<w:document/>", "word/vbaProject.bin": b"\x00" * 64})
PLAIN_ZIP = office({"notes.txt": b"bonjour"}, content_types=False)
ZIP_BOMB = office({"word/document.xml": b"\x00" * (30 * 1024 * 1024)})
MANY_PARTS = office({f"word/part{number}.xml": b"x" for number in range(2100)})
