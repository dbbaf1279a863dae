"""The dossier to file: preview, PDF (cached, rendered in the background), exports, submitted versions."""

from __future__ import annotations

import dataclasses
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.audit import EventKind, record_event
from app.auth.models import User
from app.consortia.models import Consortium
from app.consortia.services import visible_consortium
from app.database import utcnow
from app.dossier import exports, rendering, snapshots
from app.dossier.cli import export_dossier_command
from app.dossier.html import dossier_html
from app.dossier.models import DossierRender, RenderStatus
from app.errors import DomainError, NotAllowed, NotFound
from app.extensions import db
from app.permissions import (
    can_export_consortium,
    can_export_dossier,
    can_freeze_dossier,
    can_make_final_dossier,
    can_view_consortium,
)
from app.storage import StoredFile, download_response

# cli_group=None: commands registered here are top-level (`flask --app wsgi <command>`).
bp = Blueprint("dossier", __name__, cli_group=None)
bp.cli.add_command(export_dossier_command)


def _exported(consortium: Consortium, kind: str, *, final: bool = False, **data: Any) -> None:
    record_event(
        EventKind.DOSSIER_EXPORTED,
        actor_id=current_user.id,
        consortium_id=consortium.id,
        format=kind,
        final=final,
        **data,
    )


def _require_export(consortium: Consortium) -> None:
    if not can_export_dossier(current_user, consortium):
        raise NotAllowed(_("Vous ne pouvez pas exporter ce dossier."))


def _wants_final(consortium: Consortium) -> bool:
    final = request.values.get("final") in ("1", "oui", "true")
    if final and not can_make_final_dossier(current_user, consortium):
        raise NotAllowed(_("Seule la coordination peut exporter le dossier final."))
    return final


def _pdf_name(consortium: Consortium, final: bool) -> str:
    return f"dossier-{consortium.slug}{'' if final else '-brouillon'}.pdf"


def _render_of(consortium: Consortium, render_id: int) -> DossierRender:
    render = db.session.get(DossierRender, render_id)
    if render is None or render.consortium_id != consortium.id:
        raise NotFound(_("Cette fabrication de PDF n'existe pas."))
    return render


def _user_names(ids: set[int | None]) -> dict[int, str]:
    wanted = {user_id for user_id in ids if user_id is not None}
    if not wanted:
        return {}
    return {user.id: user.name for user in db.session.scalars(select(User).where(User.id.in_(wanted)))}


@bp.get("/consortia/<slug>/dossier")
def index(slug: str) -> ResponseReturnValue:
    """Le dossier: its state, the PDF (draft or final), the other exports and the submitted versions."""
    consortium = visible_consortium(slug, current_user)
    dossier = rendering.dossier_of(consortium)
    last_draft, last_final = rendering.latest_done(consortium)
    shown = None
    if request.args.get("rendu", "").isdigit():
        shown = rendering.state_of(_render_of(consortium, int(request.args["rendu"])))
    versions = snapshots.snapshots_of(consortium)
    current_digest = exports.current_content_digest(consortium) if versions else None
    return render_template(
        "dossier/index.html",
        consortium=consortium,
        dossier=dossier,
        warnings=dossier.warnings,
        last_draft=last_draft,
        draft_changed=last_draft is not None and rendering.is_outdated(consortium, last_draft, dossier),
        last_final=last_final,
        final_changed=last_final is not None and rendering.is_outdated(consortium, last_final, dossier),
        shown=shown,
        versions=versions,
        latest_changed=bool(versions) and versions[0].content_digest != current_digest,
        names=_user_names({version.frozen_by_id for version in versions}),
        may_export_json=can_export_consortium(current_user, consortium),
        may_freeze=can_freeze_dossier(current_user, consortium),
        may_make_final=can_make_final_dossier(current_user, consortium),
    )


@bp.get("/consortia/<slug>/dossier/apercu")
def preview(slug: str) -> ResponseReturnValue:
    """The dossier in the browser, from the same template as the PDF."""
    consortium = visible_consortium(slug, current_user)
    _require_export(consortium)
    dossier = dataclasses.replace(rendering.dossier_of(consortium), generated_at=utcnow())
    return dossier_html(dossier, preview=True)


def _is_ready(render: DossierRender) -> bool:
    """Whether the render's file is there; commits first, which starts its job if it is new."""
    if render.status != RenderStatus.DONE:
        db.session.commit()
        db.session.refresh(render)  # a synchronous job has run meanwhile
    return render.status == RenderStatus.DONE and render.file_id is not None


def _request_render(consortium: Consortium) -> DossierRender | None:
    """The render of the PDF asked for (`final=1`: the final one); None, the reason flashed, if refused."""
    _require_export(consortium)
    final = _wants_final(consortium)  # refused (403) for whoever may not make it final
    try:
        return rendering.request_pdf(consortium, final=final, by=current_user)
    except DomainError as error:
        flash(str(error), "danger")
        return None


def _progress_page(consortium: Consortium, render: DossierRender) -> ResponseReturnValue:
    state = rendering.state_of(render)
    return render_template("dossier/progress.html", consortium=consortium, state=state), 202


@bp.get("/consortia/<slug>/dossier.pdf")
def pdf(slug: str) -> ResponseReturnValue:
    """The dossier's PDF (`?final=1`: the final one): from the cache, or rendered by a job meanwhile."""
    consortium = visible_consortium(slug, current_user)
    render = _request_render(consortium)
    if render is None:
        return redirect(url_for(".index", slug=slug))
    if not _is_ready(render):
        return _progress_page(consortium, render)
    return _send_render(consortium, render)


@bp.post("/consortia/<slug>/dossier/fabriquer")
def start_render(slug: str) -> ResponseReturnValue:
    """Buttons « PDF brouillon » / « PDF final »: start (or find) the render, back on the export page."""
    consortium = visible_consortium(slug, current_user)
    render = _request_render(consortium)
    if render is None:
        return redirect(url_for(".index", slug=slug))
    db.session.commit()
    return redirect(url_for(".index", slug=slug, rendu=render.id) + "#fabrication")


@bp.get("/consortia/<slug>/dossier/rendus/<int:render_id>")
def render_status(slug: str, render_id: int) -> ResponseReturnValue:
    """A render's state: an htmx fragment that keeps polling until it is done, or JSON."""
    consortium = visible_consortium(slug, current_user)
    _require_export(consortium)
    render = _render_of(consortium, render_id)
    state = rendering.state_of(render)
    if request.accept_mimetypes.best == "application/json" or request.args.get("format") == "json":
        return {
            "status": state.status.value,
            "progress": state.progress,
            "stage": state.stage,
            "error": state.error,
            "page_count": state.page_count,
            "download": url_for(".render_file", slug=slug, render_id=render.id) if state.is_done else None,
        }
    if request.headers.get("HX-Request"):
        return render_template("dossier/_render_state.html", consortium=consortium, state=state)
    return _progress_page(consortium, render)


def _send_render(consortium: Consortium, render: DossierRender) -> Response:
    stored = db.session.get(StoredFile, render.file_id)
    if stored is None:
        raise NotFound(_("Ce PDF n'existe plus."))
    _exported(consortium, "pdf", final=render.final, pages=render.page_count)
    db.session.commit()
    return download_response(stored.data, _pdf_name(consortium, render.final), rendering.PDF_MIME)


@bp.get("/consortia/<slug>/dossier/rendus/<int:render_id>.pdf")
def render_file(slug: str, render_id: int) -> ResponseReturnValue:
    """The PDF of a finished render."""
    consortium = visible_consortium(slug, current_user)
    _require_export(consortium)
    render = _render_of(consortium, render_id)
    if render.status != RenderStatus.DONE or render.file_id is None:
        return redirect(url_for(".render_status", slug=slug, render_id=render_id))
    return _send_render(consortium, render)


@bp.get("/consortia/<slug>/dossier.xlsx")
def workbook(slug: str) -> ResponseReturnValue:
    """The consolidated plan and the partners' budgets as an Excel workbook."""
    consortium = visible_consortium(slug, current_user)
    _require_export(consortium)
    data = exports.workbook_bytes(consortium)
    _exported(consortium, "xlsx")
    db.session.commit()
    return download_response(data, f"plan-de-financement-{consortium.slug}.xlsx", exports.XLSX_MIME)


@bp.get("/consortia/<slug>/dossier.zip")
def archive(slug: str) -> ResponseReturnValue:
    """The full archive (PDF, exchange document, workbook, annexes); waits for the PDF's render if needed."""
    consortium = visible_consortium(slug, current_user)
    if not can_export_consortium(current_user, consortium):
        raise NotAllowed(_("Seule la coordination peut télécharger l'archive complète."))
    render = _request_render(consortium)
    if render is None:
        return redirect(url_for(".index", slug=slug))
    if not _is_ready(render):
        return _progress_page(consortium, render)
    stored = db.session.get(StoredFile, render.file_id)
    assert stored is not None
    data = exports.archive_zip(consortium, stored.data, final=render.final)
    _exported(consortium, "zip", final=render.final)
    db.session.commit()
    return download_response(data, f"dossier-{consortium.slug}.zip", exports.ZIP_MIME)


# --- Submitted versions ------------------------------------------------------------------------


@bp.post("/consortia/<slug>/dossier/versions")
def freeze(slug: str) -> ResponseReturnValue:
    """« Figer la version déposée »: the dossier as filed, kept forever; the consortium becomes submitted."""
    consortium = visible_consortium(slug, current_user)
    if not can_freeze_dossier(current_user, consortium):
        raise NotAllowed(_("Seule la coordination peut figer la version déposée."))
    try:
        render = snapshots.request_freeze(consortium, by=current_user, note=request.form.get("note", ""))
    except DomainError as error:
        db.session.rollback()
        flash(str(error), "danger")
        return redirect(url_for(".index", slug=slug) + "#versions")
    db.session.commit()  # the job starts now (and has already run when jobs are synchronous)
    db.session.refresh(render)
    state = rendering.state_of(render)
    if state.snapshot_number is not None:
        flash(
            _(
                "Version déposée n° %(number)s figée (%(pages)s pages) : le consortium est marqué déposé.",
                number=state.snapshot_number,
                pages=state.page_count,
            ),
            "success",
        )
        return redirect(url_for(".version", slug=slug, number=state.snapshot_number))
    return redirect(url_for(".index", slug=slug, rendu=render.id) + "#fabrication")


@bp.get("/consortia/<slug>/dossier/versions/<int:number>")
def version(slug: str, number: int) -> ResponseReturnValue:
    """A submitted version: who froze it and when, its files, and what changed since."""
    consortium = visible_consortium(slug, current_user)
    snapshot = snapshots.snapshot_of(consortium, number)
    comparison = snapshots.compare_with_current(consortium, snapshot)
    return render_template(
        "dossier/version.html",
        consortium=consortium,
        snapshot=snapshot,
        comparison=comparison,
        frozen_by=_user_names({snapshot.frozen_by_id}).get(snapshot.frozen_by_id or 0),
        may_export_json=can_export_consortium(current_user, consortium),
    )


@bp.get("/consortia/<slug>/dossier/versions/<int:number>/<kind>")
def version_file(slug: str, number: int, kind: str) -> ResponseReturnValue:
    """A submitted version's PDF, exchange document or workbook, byte for byte as frozen."""
    consortium = visible_consortium(slug, current_user)
    if not can_view_consortium(current_user, consortium):
        raise NotFound(_("Ce consortium n'existe pas ou vous n'y avez pas accès."))
    if kind == "json" and not can_export_consortium(current_user, consortium):
        raise NotAllowed(_("Seule la coordination peut exporter le fichier d’échange."))
    snapshot = snapshots.snapshot_of(consortium, number)
    stored = snapshots.snapshot_file(snapshot, kind)
    names = {
        "pdf": f"dossier-{consortium.slug}-version-{number}.pdf",
        "json": f"{consortium.slug}-version-{number}.json",
        "xlsx": f"plan-de-financement-{consortium.slug}-version-{number}.xlsx",
    }
    _exported(consortium, kind, final=True, version=number)
    db.session.commit()
    return download_response(stored.data, names[kind], stored.content_type)
