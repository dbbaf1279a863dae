"""The dossier's other exports: the consolidated workbook, the exchange document and the full archive."""

from __future__ import annotations

import hashlib
import io
import json
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload, undefer

from app import content_version
from app.annexes.models import ANNEX_KIND_LABELS, Annex
from app.budget import spreadsheets
from app.budget.consolidation import plan_of
from app.budget.services import consolidation_of
from app.consortia.models import Consortium, PartnerStatus
from app.exchange.exporter import export_document
from app.exchange.serialisation import document_to_dict, dumps
from app.extensions import db
from app.storage import StoredFile

XLSX_MIME = spreadsheets.XLSX_MIME
JSON_MIME = "application/json"
ZIP_MIME = "application/zip"
# A fixed date inside the archive, so the same content gives the same bytes.
_ZIP_TIME = (2000, 1, 1, 0, 0, 0)


def workbook_bytes(consortium: Consortium) -> bytes:
    """The consolidated plan and each partner's budget as an .xlsx (the financing plan page's workbook)."""
    state = consolidation_of(consortium)
    return spreadsheets.plan_workbook(consortium, state, plan_of(state))


def exchange_json(consortium: Consortium, *, at: datetime | None = None) -> str:
    """The exchange document (export.json) as text."""
    return dumps(export_document(consortium, at=at))


def content_digest(json_text: str) -> str:
    """SHA-256 of an exchange document without its export time nor status: what the consortium says."""
    data: dict[str, Any] = json.loads(json_text)
    data.pop("exported_at", None)
    data.get("consortium", {}).pop("status", None)
    canonical = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def current_content_digest(consortium: Consortium) -> str:
    """The content digest of the consortium as it is now (computed once per content version)."""

    def compute() -> str:
        document = export_document(consortium)
        return content_digest(json.dumps(document_to_dict(document), ensure_ascii=False))

    return content_version.remembered(consortium, "exchange-digest", compute)


def safe_name(text: str, fallback: str = "fichier") -> str:
    """A file or folder name safe in any archive and file system: no path, no control character."""
    text = unicodedata.normalize("NFC", text)
    text = re.sub(r"[\x00-\x1f\x7f/\\:*?\"<>|]+", "-", text).strip(" .-")
    return text[:120] or fallback


@dataclass(frozen=True)
class ArchivedAnnex:
    """An annex as it goes in the archive."""

    path: str
    data: bytes


def current_annex_files(consortium: Consortium) -> list[ArchivedAnnex]:
    """Each active partner's current annexes (not replaced), with their bytes, named by partner and kind."""
    annexes = db.session.scalars(
        select(Annex)
        .join(Annex.partner)
        .options(selectinload(Annex.file).options(undefer(StoredFile.data)))
        .where(
            Annex.consortium_id == consortium.id,
            Annex.superseded_at.is_(None),
        )
        .order_by(Annex.partner_id, Annex.kind, Annex.uploaded_at, Annex.id)
    ).all()
    used: set[str] = set()
    result = []
    for annex in annexes:
        if annex.partner.status != PartnerStatus.ACTIVE:
            continue
        folder = safe_name(f"{annex.partner.position + 1:02d}-{annex.partner.code}", "membre")
        label = ANNEX_KIND_LABELS.get(annex.kind, "Pièce")
        # Only the file's own name: whatever path it was uploaded with stays out of the archive.
        basename = annex.filename.replace("\\", "/").rsplit("/", 1)[-1].lstrip(".")
        name = safe_name(f"{label} - {basename}")
        path = f"annexes/{folder}/{name}"
        number = 2
        while path in used:
            stem, dot, extension = name.rpartition(".")
            path = f"annexes/{folder}/{stem or name} ({number}){dot}{extension if stem else ''}"
            number += 1
        used.add(path)
        result.append(ArchivedAnnex(path, annex.file.data))
    return result


def archive_zip(consortium: Consortium, pdf: bytes, *, final: bool) -> bytes:
    """The full archive: the PDF, the exchange document, the workbook and the partners' annexes."""
    slug = consortium.slug
    buffer = io.BytesIO()
    entries: list[tuple[str, bytes]] = [
        (f"{slug}-dossier{'' if final else '-brouillon'}.pdf", pdf),
        (f"{slug}-echange.json", exchange_json(consortium).encode("utf-8")),
        (f"{slug}-plan-de-financement.xlsx", workbook_bytes(consortium)),
    ]
    entries += [(annex.path, annex.data) for annex in current_annex_files(consortium)]
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()
