"""Asking for the dossier's PDF: from the cache when its content has not changed, else rendered in a job.

A render is a `DossierRender` row: queued, then running (with a stage and a progress estimated from
the time the previous render of the consortium took), then done with its stored file, or failed
with a French message. The file is stored in the same commit that marks the render done, so a
worker killed mid-way leaves no partial file, only a running render that turns stale and is retried.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from app import content_version
from app.auth.models import User
from app.consortia.models import Consortium
from app.database import utcnow
from app.dossier.document import TEMPLATE_VERSION, Dossier, build_dossier
from app.dossier.html import dossier_html
from app.dossier.models import DossierRender, DossierSnapshot, RenderStatus
from app.dossier.pdf import RenderedPdf, RenderError, render_pdf
from app.dossier.pieces import render_draft
from app.errors import DomainError
from app.extensions import db
from app.jobs import run_later
from app.storage import store_bytes
from app.templating import paris_today

PDF_MIME = "application/pdf"
# A render still running after this long was abandoned by its worker (killed, restarted): try again.
STALE_AFTER = timedelta(minutes=10)
# The first render of a consortium, before there is a previous one to go by.
DEFAULT_EXPECTED_SECONDS = 20.0
# Waiting for a free rendering slot (the limit counts renders running in every process).
MAX_WAIT = timedelta(minutes=5)
# Every stage of a job freezing a submitted version starts with this (the page tells them apart).
FREEZE_STAGE_PREFIX = "Version déposée"
WAIT_STEP_SECONDS = 1.0


@dataclass(frozen=True)
class RenderState:
    """What the page shows of a render: its state, a progress estimate and what it is doing."""

    id: int
    status: RenderStatus
    final: bool
    progress: int
    stage: str
    error: str
    page_count: int | None
    finished_at: datetime | None
    # A submitted version being frozen (its stages say so), and its number once frozen.
    is_freeze: bool = False
    snapshot_number: int | None = None

    @property
    def is_done(self) -> bool:
        return self.status == RenderStatus.DONE

    @property
    def is_pending(self) -> bool:
        return self.status in (RenderStatus.QUEUED, RenderStatus.RUNNING)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def is_stale(render: DossierRender, now: datetime | None = None) -> bool:
    """Whether a queued or running render was abandoned (no worker will finish it)."""
    if render.status not in (RenderStatus.QUEUED, RenderStatus.RUNNING):
        return False
    since = _aware(render.started_at or render.created_at)
    return since is not None and (now or utcnow()) - since > STALE_AFTER


def latest_render(
    consortium: Consortium, digest: str | None = None, *, final: bool | None = None, key: str | None = None
) -> DossierRender | None:
    """The consortium's most recent render (for this content digest or key, or of this kind, when given)."""
    query = select(DossierRender).where(DossierRender.consortium_id == consortium.id)
    if digest is not None:
        query = query.where(DossierRender.digest == digest)
    if key is not None:
        query = query.where(DossierRender.content_key == key)
    if final is not None:
        query = query.where(DossierRender.final == final)
    return db.session.scalar(query.order_by(DossierRender.id.desc()).limit(1))


def latest_done(consortium: Consortium) -> tuple[DossierRender | None, DossierRender | None]:
    """The last finished render of a draft and of a final dossier, whatever their content (one query)."""
    latest = (
        select(func.max(DossierRender.id))
        .where(
            DossierRender.consortium_id == consortium.id,
            DossierRender.status == RenderStatus.DONE,
            # A frozen version's PDF carries its version label: not "the last final PDF".
            DossierRender.file_id.not_in(select(DossierSnapshot.pdf_file_id)),
        )
        .group_by(DossierRender.final)
    )
    found = {
        render.final: render
        for render in db.session.scalars(select(DossierRender).where(DossierRender.id.in_(latest)))
    }
    return found.get(False), found.get(True)


def content_key(consortium: Consortium, *, final: bool) -> str:
    """What a render is filed under: the template, the consortium's content version, the day (the
    checks compare dates with today's) and the kind. Read before anything is built."""
    kind = "definitif" if final else "brouillon"
    return f"{TEMPLATE_VERSION}:{consortium.content_version}:{paris_today().isoformat()}:{kind}"


def dossier_of(consortium: Consortium, *, final: bool = False) -> Dossier:
    """The consortium's dossier as it is now, built once per content version in this process."""
    return content_version.remembered(
        consortium, ("dossier", final, paris_today()), lambda: build_dossier(consortium, final=final)
    )


def is_outdated(consortium: Consortium, render: DossierRender, draft: Dossier) -> bool:
    """Whether a finished render no longer shows the consortium's content (`draft`: its dossier now)."""
    if render.content_key == content_key(consortium, final=render.final):
        return False
    if not render.final:
        return render.digest != draft.digest
    if draft.errors:
        return True
    final_digest = content_version.remembered(
        consortium, ("final-digest", paris_today()), lambda: draft.marked_final().digest
    )
    return render.digest != final_digest


def _done(consortium: Consortium, *criteria: Any) -> DossierRender | None:
    return db.session.scalar(
        select(DossierRender)
        .where(
            DossierRender.consortium_id == consortium.id,
            *criteria,
            DossierRender.status == RenderStatus.DONE,
            DossierRender.file_id.is_not(None),
        )
        .order_by(DossierRender.id.desc())
        .limit(1)
    )


def cached_render(consortium: Consortium, key: str) -> DossierRender | None:
    """A finished render of the content as it is now (one indexed query, nothing built)."""
    return _done(consortium, DossierRender.content_key == key)


def request_pdf(consortium: Consortium, *, final: bool, by: User | None) -> DossierRender:
    """The render for the dossier's current content: the cached one, the one under way, or a new job.

    Raises Invalid (with the errors) when a final dossier is asked for while the consortium has errors.
    """
    key = content_key(consortium, final=final)
    cached = cached_render(consortium, key)
    if cached is not None:
        return cached
    pending = latest_render(consortium, key=key)
    if pending is not None and _pending_fresh(pending):
        return pending
    dossier = dossier_of(consortium, final=final)
    # A write that changed nothing shown (a text saved as it was): the same PDF, filed under the new key.
    same = _done(consortium, DossierRender.digest == dossier.digest)
    if same is not None:
        same.content_key = key
        return same
    under_way = latest_render(consortium, dossier.digest)
    if under_way is not None and _pending_fresh(under_way):
        return under_way
    render = DossierRender(
        consortium_id=consortium.id,
        digest=dossier.digest,
        content_key=key,
        final=final,
        status=RenderStatus.QUEUED,
        progress=0,
        stage=_("En file d'attente"),
        requested_by_id=by.id if by is not None and by.is_authenticated else None,
    )
    db.session.add(render)
    db.session.flush()
    run_later(render_job, render.id)
    return render


def _pending_fresh(render: DossierRender) -> bool:
    return render.status in (RenderStatus.QUEUED, RenderStatus.RUNNING) and not is_stale(render)


def _expected_seconds(consortium_id: int, final: bool) -> float:
    """How long the previous render of this consortium took (the progress estimate goes by it)."""
    previous = db.session.execute(
        select(DossierRender.started_at, DossierRender.finished_at)
        .where(
            DossierRender.consortium_id == consortium_id,
            DossierRender.status == RenderStatus.DONE,
            DossierRender.started_at.is_not(None),
            DossierRender.finished_at.is_not(None),
        )
        # The same kind (draft or final) first, then the most recent.
        .order_by((DossierRender.final == final).desc(), DossierRender.id.desc())
        .limit(1)
    ).first()
    if previous is None:
        return DEFAULT_EXPECTED_SECONDS
    started, finished = _aware(previous[0]), _aware(previous[1])
    assert started is not None
    assert finished is not None
    return max(1.0, (finished - started).total_seconds())


def state_of(render: DossierRender, now: datetime | None = None) -> RenderState:
    """The render as the page shows it; a running render's progress grows with time towards 95 %."""
    progress, stage, status, error = render.progress, render.stage, render.status, render.error
    now = now or utcnow()
    if is_stale(render, now):
        status, progress = RenderStatus.FAILED, 0
        error = _("La fabrication a été interrompue (serveur redémarré ?) : relancez-la.")
    elif status == RenderStatus.RUNNING and render.started_at is not None:
        elapsed = (now - _aware(render.started_at)).total_seconds()  # type: ignore[operator]
        estimate = 10 + int(85 * elapsed / _expected_seconds(render.consortium_id, render.final))
        progress = max(progress, min(95, estimate))
    elif status == RenderStatus.DONE:
        progress = 100
    snapshot_number = None
    if status == RenderStatus.DONE and render.file_id is not None:
        snapshot_number = db.session.scalar(
            select(DossierSnapshot.number).where(DossierSnapshot.pdf_file_id == render.file_id)
        )
    return RenderState(
        id=render.id,
        status=status,
        final=render.final,
        progress=progress,
        stage=stage,
        error=error,
        page_count=render.page_count,
        finished_at=render.finished_at,
        is_freeze=stage.startswith(FREEZE_STAGE_PREFIX) or snapshot_number is not None,
        snapshot_number=snapshot_number,
    )


def set_stage(render: DossierRender, stage: str, progress: int) -> None:
    """Say what a running job is doing (committed at once: the page polling sees it)."""
    render.stage, render.progress = stage, progress
    db.session.commit()


def _running_elsewhere(render_id: int) -> int:
    """Renders running now in any process (abandoned ones excepted)."""
    since = utcnow() - STALE_AFTER
    return (
        db.session.scalar(
            select(func.count())
            .select_from(DossierRender)
            .where(
                DossierRender.status == RenderStatus.RUNNING,
                DossierRender.id != render_id,
                DossierRender.started_at > since,
            )
        )
        or 0
    )


def _pause() -> None:
    time.sleep(WAIT_STEP_SECONDS)


def _wait_for_a_slot(render: DossierRender) -> DossierRender | None:
    """At most DOSSIER_MAX_CONCURRENT_RENDERS renders at once across every process: wait for a free one.

    Returns the render reloaded, or None when another worker took it meanwhile."""
    render_id = render.id
    limit = int(current_app.config["DOSSIER_MAX_CONCURRENT_RENDERS"])
    if _running_elsewhere(render_id) < limit:
        return render
    render.stage = _("En attente : d'autres dossiers sont en cours de fabrication")
    db.session.commit()
    deadline = time.monotonic() + MAX_WAIT.total_seconds()
    while _running_elsewhere(render_id) >= limit and time.monotonic() < deadline:
        db.session.rollback()  # no transaction held while waiting
        _pause()
    db.session.expire_all()
    render = db.session.get(DossierRender, render_id)  # type: ignore[assignment]
    if render is None or render.status != RenderStatus.QUEUED:
        return None
    return render


def claim(render_id: int) -> DossierRender | None:
    """Take a queued (or abandoned) render for this worker: wait for a free slot, then mark it running."""
    found = db.session.get(DossierRender, render_id)
    if found is None or not (found.status == RenderStatus.QUEUED or is_stale(found)):
        return None  # already done, failed, or taken by another worker
    render = _wait_for_a_slot(found) if found.status == RenderStatus.QUEUED else found
    if render is None:
        return None
    render.status, render.started_at, render.error = RenderStatus.RUNNING, utcnow(), ""
    return render


def fail(render_id: int, error: Exception, *, stage: str | None = None) -> None:
    """Mark a render failed after an error, with a French message (the details go to the log)."""
    db.session.rollback()  # nothing of the failed work is kept: no partial file
    render = db.session.get(DossierRender, render_id)
    if render is None:
        return
    render.status, render.finished_at = RenderStatus.FAILED, utcnow()
    if isinstance(error, DomainError):
        render.error = error.message
    else:
        current_app.logger.exception("Fabrication du dossier %s en échec.", render_id, exc_info=error)
        render.error = _(
            "La fabrication du PDF a échoué. Réessayez ; si cela persiste, prévenez l'assistance."
        )
    render.stage = stage or _("Échec")
    db.session.commit()


def render_job(render_id: int) -> None:
    """The job: render the PDF of a queued render and store it (runs in its own app context)."""
    render = claim(render_id)
    if render is None:
        return
    set_stage(render, _("Rassemblement des données"), 5)
    try:
        consortium = db.session.get(Consortium, render.consortium_id)
        if consortium is None:
            raise RenderError(_("Ce consortium n'existe plus."))
        key = content_key(consortium, final=render.final)  # read before what it keys
        dossier = build_dossier(consortium, final=render.final, generated_at=utcnow())
        set_stage(render, _("Mise en page du dossier"), 10)
        if render.final:
            rendered = render_pdf(dossier_html(dossier))
        else:  # a draft: the chapters that have not changed since the last one are not laid out again
            rendered = render_draft(
                consortium.id, dossier, on_stage=lambda text, done: set_stage(render, text, done)
            )
        _finish(render, dossier, key, rendered)
    except Exception as error:
        fail(render_id, error)


def _finish(render: DossierRender, dossier: Dossier, key: str, rendered: RenderedPdf) -> None:
    stored = store_bytes(rendered.data, PDF_MIME)
    # The content may have changed while the job waited: the render is filed under what it shows.
    render.digest, render.content_key = dossier.digest, key
    render.file_id, render.page_count = stored.id, rendered.page_count
    render.status, render.progress, render.stage = RenderStatus.DONE, 100, _("Terminé")
    render.finished_at = utcnow()
    db.session.commit()


def render_now(
    consortium: Consortium, *, final: bool, version_label: str | None = None
) -> tuple[Dossier, RenderedPdf]:
    """Render the dossier synchronously (command line, frozen versions): no job, no cache.

    The read transaction ends before the render, which takes seconds: no database lock (SQLite's
    write lock above all) is held meanwhile, so autosaves and other exports go on. Callers write
    nothing before it (a frozen version re-checks its number after the render).
    """
    dossier = build_dossier(consortium, final=final, version_label=version_label, generated_at=utcnow())
    html = dossier_html(dossier)
    db.session.commit()
    return dossier, render_pdf(html)
