"""The dossier's other exports: the workbook, the exchange document, its content digest and the archive."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime

import openpyxl
import pytest

from app.annexes.models import Annex, AnnexKind
from app.consortia.models import Consortium, PartnerStatus
from app.database import utcnow
from app.dossier import exports
from app.extensions import db
from app.storage import store_bytes
from tests.factories import make_consortium


@pytest.fixture
def consortium() -> Consortium:
    return make_consortium(3)


def add_annex(
    consortium: Consortium, partner_index: int, filename: str, data: bytes, *, old: bool = False
) -> None:
    partner = consortium.partners[partner_index]
    stored = store_bytes(data, "application/pdf")
    db.session.add(
        Annex(
            consortium_id=consortium.id,
            partner_id=partner.id,
            kind=AnnexKind.STATUTES,
            title="Statuts",
            filename=filename,
            file_id=stored.id,
            content_type="application/pdf",
            size=len(data),
            superseded_at=utcnow() if old else None,
        )
    )
    db.session.commit()


def test_workbook_has_the_consolidated_plan_and_one_sheet_per_partner(consortium: Consortium) -> None:
    workbook = openpyxl.load_workbook(io.BytesIO(exports.workbook_bytes(consortium)))
    names = workbook.sheetnames
    for partner in consortium.partners:
        assert any(partner.organisation.name[:20] in name for name in names)
    assert len(names) > len(consortium.partners)


def test_content_digest_ignores_the_export_time_and_status_but_not_the_content(
    consortium: Consortium,
) -> None:
    first = exports.exchange_json(consortium, at=datetime(2026, 1, 1, tzinfo=UTC))
    later = exports.exchange_json(consortium, at=datetime(2026, 6, 1, tzinfo=UTC))
    assert first != later
    assert exports.content_digest(first) == exports.content_digest(later)
    assert exports.content_digest(first) == exports.current_content_digest(consortium)
    submitted = json.loads(first)
    submitted["consortium"]["status"] = "submitted"
    assert exports.content_digest(json.dumps(submitted)) == exports.content_digest(first)
    consortium.title = "Un autre intitulé"
    db.session.commit()
    assert exports.current_content_digest(consortium) != exports.content_digest(first)


@pytest.mark.parametrize(
    ("hostile", "expected"),
    [
        ("../../etc/passwd", "etc-passwd"),
        ("a\x00b\nc", "a-b-c"),
        ('C:\\Windows\\*?"<>|', "C-Windows"),
        ("", "fichier"),
        ("...", "fichier"),
    ],
)
def test_safe_name_leaves_no_path_nor_control_character(hostile: str, expected: str) -> None:
    assert exports.safe_name(hostile) == expected


def test_archive_has_the_current_annexes_of_active_partners_only(consortium: Consortium) -> None:
    add_annex(consortium, 1, "statuts-2019.pdf", b"ancien", old=True)
    add_annex(consortium, 1, "../statuts.pdf", b"actuel")
    add_annex(consortium, 1, "statuts.pdf", b"doublon")
    add_annex(consortium, 2, "statuts.pdf", b"retire")
    consortium.partners[2].status = PartnerStatus.WITHDRAWN
    db.session.commit()
    data = exports.archive_zip(consortium, b"%PDF-test", final=True)
    archive = zipfile.ZipFile(io.BytesIO(data))
    names = archive.namelist()
    assert names[:3] == [
        f"{consortium.slug}-dossier.pdf",
        f"{consortium.slug}-echange.json",
        f"{consortium.slug}-plan-de-financement.xlsx",
    ]
    annexes = sorted(name for name in names if name.startswith("annexes/"))
    code = consortium.partners[1].code
    assert annexes == [
        f"annexes/02-{code}/Statuts - statuts (2).pdf",
        f"annexes/02-{code}/Statuts - statuts.pdf",
    ]
    assert {archive.read(name) for name in annexes} == {b"actuel", b"doublon"}
    for name in names:
        assert not name.startswith("/")
        assert ".." not in name.split("/")
