"""Annexes are recognised by their content, never by their name; names are cleaned for display."""

from __future__ import annotations

import pytest

from app.annexes import files
from app.errors import Invalid
from tests.annexes import samples


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (samples.PDF, files.PDF),
        (samples.JPEG, files.JPEG),
        (samples.PNG, files.PNG),
        (samples.DOCX, files.DOCX),
        (samples.XLSX, files.XLSX),
    ],
)
def test_accepted_types_are_recognised_by_content(data: bytes, content_type: str) -> None:
    assert files.detect_type(data).content_type == content_type


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "vide"),
        (samples.EXE_RENAMED, "programme"),
        (samples.EICAR, "EICAR"),
        (b"%PDF-1.4\n" + samples.EICAR, "EICAR"),
        (samples.HTML_AS_PDF, "page web"),
        (samples.SVG_AS_PNG, "SVG"),
        (samples.PDF_WITH_JAVASCRIPT, "JavaScript"),
        (samples.PDF_WITH_ESCAPED_JS, "JavaScript"),
        (samples.PDF_WITH_COMPRESSED_JS, "JavaScript"),
        (samples.OLD_WORD, ".docx"),
        (samples.PLAIN_TEXT, "ne correspond à aucun type accepté"),
        (samples.PLAIN_ZIP, "n'est pas un document Word"),
        (samples.DOCM, "macros"),
        (samples.ZIP_BOMB, "volume anormal"),
        (samples.MANY_PARTS, "trop de parties"),
        (b"PK\x03\x04" + b"\x00" * 40, "n'est pas un document Word"),
    ],
)
def test_hostile_or_unknown_content_is_refused_with_a_french_reason(data: bytes, message: str) -> None:
    with pytest.raises(Invalid, match=message):
        files.detect_type(data)


def test_refusal_lists_the_accepted_types() -> None:
    with pytest.raises(Invalid, match="Types acceptés : PDF, JPEG, PNG, DOCX ou XLSX"):
        files.detect_type(samples.EXE_RENAMED)


PDF_TYPE = files.DetectedType(files.PDF, ".pdf")
JPEG_TYPE = files.DetectedType(files.JPEG, ".jpg")


@pytest.mark.parametrize(
    ("raw", "detected", "expected"),
    [
        ("../../app.py", PDF_TYPE, "app.py.pdf"),
        ("..\\..\\Windows\\RIB.PDF", PDF_TYPE, "RIB.pdf"),
        ("预算.pdf", PDF_TYPE, "预算.pdf"),
        ("Lettre\x00 d'engage\x07ment.pdf", PDF_TYPE, "Lettre d'engagement.pdf"),
        ("facture\u202efdp.exe", PDF_TYPE, "facturefdp.exe.pdf"),
        ("stat\u200buts\ufeff.pdf", PDF_TYPE, "statuts.pdf"),
        ("e\u0301tat.pdf", PDF_TYPE, "\u00e9tat.pdf"),
        ("photo.jpeg", JPEG_TYPE, "photo.jpeg"),
        ("scan.png", JPEG_TYPE, "scan.png.jpg"),
        ("budget", PDF_TYPE, "budget.pdf"),
        ("..", PDF_TYPE, "annexe.pdf"),
        ("", PDF_TYPE, "annexe.pdf"),
        ('a<b>:c"d|e?f*.pdf', PDF_TYPE, "a_b__c_d_e_f_.pdf"),
        ("  délibération   du   CA  .pdf", PDF_TYPE, "délibération du CA.pdf"),
    ],
)
def test_display_names_are_cleaned(raw: str, detected: files.DetectedType, expected: str) -> None:
    assert files.clean_filename(raw, detected) == expected


def test_long_names_are_cut_keeping_the_extension() -> None:
    name = files.clean_filename("é" * 300 + ".pdf", PDF_TYPE)
    assert len(name) <= files.MAX_FILENAME_CHARS
    assert name.endswith("é.pdf")
