"""What an uploaded annex really is, decided from its bytes, and the name it is shown and offered under.

The browser's content type and the file's extension are never trusted: a `.pdf` that starts with `MZ` is
a Windows program. Office documents are zip archives, inspected through their directory only (never
unpacked), so a zip bomb costs nothing.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from typing import Final

from flask_babel import gettext as _

from app.errors import Invalid
from app.storage import inflates_abnormally

PDF: Final = "application/pdf"
JPEG: Final = "image/jpeg"
PNG: Final = "image/png"
DOCX: Final = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# The extension given to each type, and the other spellings a person's file name may keep.
EXTENSIONS: Final = {PDF: ".pdf", JPEG: ".jpg", PNG: ".png", DOCX: ".docx", XLSX: ".xlsx"}
_KEPT_EXTENSIONS: Final = {
    PDF: {".pdf"},
    JPEG: {".jpg", ".jpeg"},
    PNG: {".png"},
    DOCX: {".docx"},
    XLSX: {".xlsx"},
}
TYPE_LABELS: Final = {PDF: "PDF", JPEG: "JPEG", PNG: "PNG", DOCX: "Word (DOCX)", XLSX: "Excel (XLSX)"}
ACCEPTED_TYPES_TEXT: Final = "PDF, JPEG, PNG, DOCX ou XLSX"

# Office archives: caps on what the directory announces (nothing is ever extracted).
ZIP_MAX_ENTRIES: Final = 2000
ZIP_MAX_UNCOMPRESSED: Final = 200 * 1024 * 1024
ZIP_MAX_RATIO: Final = 100
# PDF streams inflated to look for scripts hidden in compressed objects: a budget, never more.
PDF_MAX_INFLATED: Final = 64 * 1024 * 1024

MAX_FILENAME_CHARS: Final = 120

_EICAR: Final = b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE"
_PDF_NAME: Final = re.compile(rb"/([^\s/\[\]()<>{}%]+)")
_PDF_HEX_ESCAPE: Final = re.compile(rb"#([0-9A-Fa-f]{2})")
_PDF_STREAM: Final = re.compile(rb"stream\r?\n")
_PDF_SCRIPT_NAMES: Final = frozenset({b"JavaScript", b"JS"})
_MARKUP: Final = re.compile(rb"\A\s*(?:<\?xml|<!doctype|<html|<svg|<script|<head|<body|<!--)", re.IGNORECASE)
# Characters Windows and macOS refuse in a file name: replaced, so the download keeps its name.
_UNSAFE_IN_NAME: Final = re.compile(r'[<>:"|?*\\/]')


@dataclass(frozen=True)
class DetectedType:
    """A type we accept, recognised from the content."""

    content_type: str
    extension: str

    @property
    def label(self) -> str:
        return TYPE_LABELS[self.content_type]


def _refused(reason: str) -> Invalid:
    return Invalid(_("%(reason)s Types acceptés : %(types)s.", reason=reason, types=ACCEPTED_TYPES_TEXT))


def detect_type(data: bytes) -> DetectedType:
    """The type of an annex from its bytes; `Invalid` with a French reason when it is not one we accept."""
    if not data:
        raise Invalid(_("Le fichier est vide : choisissez le document à déposer."))
    if _EICAR in data:
        raise Invalid(_("Ce fichier est reconnu comme un fichier de test antivirus (EICAR) : il est refusé."))
    if data.startswith((b"MZ", b"\x7fELF")):
        raise _refused(_("Ce fichier est un programme, pas un document : il est refusé."))
    if data.startswith(b"%PDF-"):
        _check_pdf(data)
        return DetectedType(PDF, EXTENSIONS[PDF])
    if data.startswith(b"\xff\xd8\xff"):
        return DetectedType(JPEG, EXTENSIONS[JPEG])
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return DetectedType(PNG, EXTENSIONS[PNG])
    if data.startswith(b"PK\x03\x04"):
        content_type = _office_type(data)
        return DetectedType(content_type, EXTENSIONS[content_type])
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise _refused(
            _(
                "Les anciens formats Word et Excel (.doc, .xls) ne sont pas acceptés : "
                "enregistrez le document en .docx, .xlsx ou PDF."
            )
        )
    if _MARKUP.match(data[:1024].lstrip(b"\xef\xbb\xbf")):
        raise _refused(_("Ce fichier est une page web ou une image SVG, pas un document : il est refusé."))
    raise _refused(_("Le contenu de ce fichier ne correspond à aucun type accepté."))


def _pdf_names(data: bytes) -> set[bytes]:
    # A name may spell its letters as #xx ("/J#61vaScript" is "/JavaScript").
    return {
        _PDF_HEX_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), name) for name in _PDF_NAME.findall(data)
    }


def _inflated_streams(data: bytes) -> list[bytes]:
    """The content of the PDF's compressed streams (object streams may hide a script), within a budget."""
    budget = PDF_MAX_INFLATED
    inflated: list[bytes] = []
    for match in _PDF_STREAM.finditer(data):
        if budget <= 0:
            break
        end = data.find(b"endstream", match.end())
        if end < 0:
            break
        try:
            chunk = zlib.decompressobj().decompress(data[match.end() : end], budget)
        except zlib.error:
            continue
        budget -= len(chunk)
        inflated.append(chunk)
    return inflated


def _check_pdf(data: bytes) -> None:
    if _PDF_SCRIPT_NAMES & _pdf_names(data) or any(
        _PDF_SCRIPT_NAMES & _pdf_names(chunk) for chunk in _inflated_streams(data)
    ):
        raise Invalid(
            _(
                "Ce PDF contient du JavaScript : il est refusé. Enregistrez-le à nouveau "
                "(« Imprimer en PDF » ou « Exporter en PDF ») puis déposez la nouvelle version."
            )
        )


def _office_type(data: bytes) -> str:
    not_office = _refused(_("Cette archive n'est pas un document Word (.docx) ou Excel (.xlsx)."))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        raise not_office from None
    if len(entries) > ZIP_MAX_ENTRIES:
        raise _refused(_("Ce document compte trop de parties pour un fichier Word ou Excel : il est refusé."))
    if inflates_abnormally(entries, max_bytes=ZIP_MAX_UNCOMPRESSED, max_ratio=ZIP_MAX_RATIO):
        raise _refused(
            _("Ce document se décompresse en un volume anormal (archive piégée possible) : il est refusé.")
        )
    names = {entry.filename for entry in entries}
    if "[Content_Types].xml" not in names:
        raise not_office
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        raise _refused(_("Ce document contient des macros : il est refusé. Enregistrez-le sans macros."))
    if "word/document.xml" in names or any(name.startswith("word/") for name in names):
        return DOCX
    if "xl/workbook.xml" in names or any(name.startswith("xl/") for name in names):
        return XLSX
    raise not_office


def clean_filename(raw: str, detected: DetectedType) -> str:
    """The name shown and offered on download: readable, no path or invisible character, a true extension."""
    name = unicodedata.normalize("NFC", raw or "")
    # Only the last part of a path: "../../app.py" is "app.py", "C:\\Users\\x\\RIB.pdf" is "RIB.pdf".
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    # Controls, direction overrides and zero-width characters (U+202E turns "fdp.exe" around).
    name = "".join(c for c in name if unicodedata.category(c) not in ("Cc", "Cf"))
    name = _UNSAFE_IN_NAME.sub("_", " ".join(name.split())).strip(" .")
    stem, dot, extension = name.rpartition(".")
    extension = f".{extension.lower()}" if dot else ""
    if extension in _KEPT_EXTENSIONS[detected.content_type]:
        name = stem.rstrip(" .")
    else:
        extension = detected.extension
    stem = name[: MAX_FILENAME_CHARS - len(extension)].rstrip(" .") or _("annexe")
    return stem + extension


def clean_title(raw: str, max_chars: int) -> str:
    """An optional title on one line, without invisible characters, cut to `max_chars`."""
    title = unicodedata.normalize("NFC", raw or "")
    title = "".join(c for c in title if unicodedata.category(c) not in ("Cc", "Cf") or c.isspace())
    return " ".join(title.split())[:max_chars].rstrip()
