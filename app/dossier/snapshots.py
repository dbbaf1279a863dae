"""Submitted versions: the dossier frozen as filed (exchange JSON, PDF, xlsx), and what changed since.

A snapshot is written in one transaction with its three files, or not at all; nothing ever updates
it afterwards. Later edits go on in the consortium itself; the comparison reads the frozen exchange
document back and sets it against the current one.
"""

from __future__ import annotations

import json

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.audit import EventKind, record_event
from app.auth.models import User
from app.consortia.models import Consortium, ConsortiumStatus
from app.database import utcnow
from app.dossier import comparison, rendering
from app.dossier.document import Dossier, build_dossier
from app.dossier.exports import JSON_MIME, XLSX_MIME, content_digest, exchange_json, workbook_bytes
from app.dossier.html import dossier_html
from app.dossier.models import DossierRender, DossierSnapshot, RenderStatus
from app.dossier.pdf import RenderedPdf
from app.dossier.rendering import PDF_MIME, render_now
from app.errors import Conflict, Invalid, NotAllowed, NotFound
from app.exchange import document as doc
from app.exchange.exporter import export_document
from app.exchange.validation import parse_document
from app.extensions import db
from app.jobs import run_later
from app.permissions import can_freeze_dossier
from app.storage import StoredFile, store_bytes


def version_label(number: int) -> str:
    """The label printed on a frozen version's cover."""
    return _("Version déposée n° %(number)s", number=number)


def snapshots_of(consortium: Consortium) -> list[DossierSnapshot]:
    """The consortium's submitted versions, the latest first."""
    return list(
        db.session.scalars(
            select(DossierSnapshot)
            .where(DossierSnapshot.consortium_id == consortium.id)
            .order_by(DossierSnapshot.number.desc())
        )
    )


def snapshot_of(consortium: Consortium, number: int) -> DossierSnapshot:
    """One submitted version of the consortium; NotFound otherwise (another consortium's included)."""
    snapshot = db.session.scalar(
        select(DossierSnapshot).where(
            DossierSnapshot.consortium_id == consortium.id, DossierSnapshot.number == number
        )
    )
    if snapshot is None:
        raise NotFound(_("La version déposée n° %(number)s n'existe pas.", number=number))
    return snapshot


def _next_number(consortium: Consortium) -> int:
    last = db.session.scalar(
        select(func.max(DossierSnapshot.number)).where(DossierSnapshot.consortium_id == consortium.id)
    )
    return (last or 0) + 1


def _check_can_freeze(consortium: Consortium, *, by: User, note: str) -> Dossier:
    """The draft dossier, once it is clear the person may freeze it and it has no error."""
    if not can_freeze_dossier(by, consortium):
        raise NotAllowed(_("Seule la coordination peut figer la version déposée."))
    if len(note.strip()) > 1000:
        raise Invalid(_("La note est trop longue (1 000 caractères au plus)."))
    draft = build_dossier(consortium, final=False)
    if draft.errors:
        raise Invalid(
            _("Le dossier contient encore des erreurs ; corrigez-les avant de figer la version déposée :")
            + " "
            + " ; ".join(draft.errors)
        )
    return draft


def freeze(consortium: Consortium, *, by: User, note: str = "") -> DossierSnapshot:
    """Freeze the dossier as filed (exchange JSON, final PDF, xlsx kept forever); the consortium is submitted.

    Refused (Invalid, listing them) while the consortium has errors. Renders the PDF here: the web
    asks for it with `request_freeze` (a job); this is for the job's logic, tests and scripts.
    """
    _check_can_freeze(consortium, by=by, note=note)
    number = _next_number(consortium)
    _dossier, rendered = render_now(consortium, final=True, version_label=version_label(number))
    return record_version(consortium, by=by, note=note, number=number, rendered=rendered)


def record_version(
    consortium: Consortium, *, by: User, note: str, number: int, rendered: RenderedPdf
) -> DossierSnapshot:
    """Write a submitted version whose PDF is rendered: its files, the snapshot, the status (flushed)."""
    if _next_number(consortium) != number:
        raise Conflict(_("Une autre version vient d'être figée au même moment : recommencez."))
    consortium.status = ConsortiumStatus.SUBMITTED
    json_text = exchange_json(consortium)
    pdf = store_bytes(rendered.data, PDF_MIME)
    exchange = store_bytes(json_text.encode("utf-8"), JSON_MIME)
    workbook = store_bytes(workbook_bytes(consortium), XLSX_MIME)
    snapshot = DossierSnapshot(
        consortium_id=consortium.id,
        number=number,
        frozen_by_id=by.id,
        content_digest=content_digest(json_text),
        sha256=pdf.sha256,
        pdf_file_id=pdf.id,
        json_file_id=exchange.id,
        xlsx_file_id=workbook.id,
        page_count=rendered.page_count,
        note=note.strip(),
    )
    db.session.add(snapshot)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as error:
        raise Conflict(_("Une autre version vient d'être figée au même moment : recommencez.")) from error
    record_event(
        EventKind.DOSSIER_FROZEN,
        actor_id=by.id,
        consortium_id=consortium.id,
        number=number,
        sha256=pdf.sha256,
        pages=rendered.page_count,
    )
    db.session.flush()
    return snapshot


def request_freeze(consortium: Consortium, *, by: User, note: str = "") -> DossierRender:
    """Ask for the submitted version to be frozen by a job (its PDF takes seconds to render).

    The checks are made now (refused with the errors listed) and again by the job; the render row
    tracks its progress, and points to the version's PDF once the job has written everything at once.
    """
    draft = _check_can_freeze(consortium, by=by, note=note)
    label = version_label(_next_number(consortium))
    digest = draft.marked_final(label).digest
    under_way = rendering.latest_render(consortium, digest)
    pending = (RenderStatus.QUEUED, RenderStatus.RUNNING)
    if under_way is not None and under_way.status in pending and not rendering.is_stale(under_way):
        return under_way  # a second click on the button: the same freeze
    render = DossierRender(
        consortium_id=consortium.id,
        digest=digest,
        final=True,
        status=RenderStatus.QUEUED,
        stage=f"{label} : " + _("en file d'attente"),
        requested_by_id=by.id,
    )
    db.session.add(render)
    db.session.flush()
    run_later(freeze_job, render.id, by.id, note.strip())
    return render


def freeze_job(render_id: int, user_id: int, note: str) -> None:
    """The job: freeze the submitted version; the snapshot and its files are committed at once, or nothing."""
    render = rendering.claim(render_id)
    if render is None:
        return
    failed_stage = rendering.FREEZE_STAGE_PREFIX + " : " + _("échec")
    rendering.set_stage(render, rendering.FREEZE_STAGE_PREFIX + " : " + _("vérification du dossier"), 5)
    try:
        consortium = db.session.get(Consortium, render.consortium_id)
        user = db.session.get(User, user_id)
        if consortium is None or user is None:
            raise NotFound(_("Ce consortium ou ce compte n'existe plus."))
        _check_can_freeze(consortium, by=user, note=note)  # again: things may have changed since
        number = _next_number(consortium)
        label = version_label(number)
        html = dossier_html(build_dossier(consortium, final=True, version_label=label, generated_at=utcnow()))
        rendering.set_stage(render, f"{label} : " + _("mise en page du PDF final"), 15)
        # Nothing is written until the PDF is there: no transaction (no SQLite lock) during the render.
        rendered = rendering.render_pdf(html)
        snapshot = record_version(consortium, by=user, note=note, number=number, rendered=rendered)
        render.file_id, render.page_count = snapshot.pdf_file_id, snapshot.page_count
        render.status, render.progress, render.finished_at = RenderStatus.DONE, 100, utcnow()
        render.stage = version_label(snapshot.number) + " : " + _("figée")
        db.session.commit()
    except Exception as error:
        rendering.fail(render_id, error, stage=failed_stage)


FILE_KINDS = {"pdf": "pdf_file_id", "json": "json_file_id", "xlsx": "xlsx_file_id"}


def snapshot_file(snapshot: DossierSnapshot, kind: str) -> StoredFile:
    """One of a snapshot's files, with its bytes."""
    column = FILE_KINDS.get(kind)
    if column is None:
        raise NotFound(_("Ce fichier n'existe pas."))
    stored = db.session.get(StoredFile, getattr(snapshot, column))
    if stored is None:
        raise NotFound(_("Ce fichier n'existe pas."))
    return stored


def is_changed_since(snapshot: DossierSnapshot, current_digest: str) -> bool:
    """Whether the consortium's content differs from the frozen version's."""
    return snapshot.content_digest != current_digest


# --- Comparison with the current state ---------------------------------------------------------


def frozen_document(snapshot: DossierSnapshot) -> doc.ExchangeDocument:
    """The exchange document as it was frozen."""
    stored = snapshot_file(snapshot, "json")
    return parse_document(json.loads(stored.data.decode("utf-8")))


def compare_with_current(consortium: Consortium, snapshot: DossierSnapshot) -> comparison.Comparison:
    """Which texts and figures changed since the version was frozen, and which partners joined or left."""
    return comparison.compare_documents(
        snapshot.number, frozen_document(snapshot), export_document(consortium)
    )
