"""Asking for the PDF: the cache by content digest, jobs (synchronous, thread, RQ), progress, failures."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.budget.models import AmountKind, BudgetAmount
from app.consortia.models import Consortium, Partner
from app.database import utcnow
from app.dossier import rendering
from app.dossier.html import dossier_html
from app.dossier.models import DossierPiece, DossierRender, RenderStatus
from app.dossier.pdf import RenderedPdf, RenderError
from app.errors import Invalid
from app.extensions import db
from app.jobs import run_later
from app.storage import StoredFile
from tests.factories import make_consortium

FAKE_PDF = b"%PDF-1.7\n% rendu de test\n%%EOF\n"


def unbalance(consortium: Consortium) -> Partner:
    """Give a partner an expense without resource: an error that blocks the final dossier."""
    partner = consortium.partners[1]
    amount = db.session.scalars(
        select(BudgetAmount).where(
            BudgetAmount.partner_id == partner.id, BudgetAmount.kind == AmountKind.EXPENSE
        )
    ).first()
    assert amount is not None
    amount.amount += Decimal("1234.56")
    db.session.commit()
    return partner


def fake_renderer(monkeypatch: pytest.MonkeyPatch, pages: int = 7) -> list[str]:
    """Replace WeasyPrint by an instant fake; returns the HTML it was given, one per render."""
    seen: list[str] = []

    def render(html: str) -> RenderedPdf:
        seen.append(html)
        return RenderedPdf(FAKE_PDF + str(len(seen)).encode(), pages)

    use_renderer(monkeypatch, render)
    return seen


def use_renderer(monkeypatch: pytest.MonkeyPatch, render: Callable[[str], RenderedPdf]) -> None:
    """Render every dossier, draft or final, with `render` given its whole HTML (a draft is otherwise
    laid out piece by piece: tests/dossier/test_pieces.py)."""
    monkeypatch.setattr(rendering, "render_pdf", render)
    monkeypatch.setattr(
        rendering,
        "render_draft",
        lambda _consortium_id, dossier, on_stage=None: render(dossier_html(dossier)),
    )


@pytest.fixture
def synchronous_jobs(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "JOBS_SYNCHRONOUS", True)
    monkeypatch.setitem(app.config, "REDIS_URL", None)


def renders() -> list[DossierRender]:
    db.session.expire_all()
    return list(db.session.scalars(select(DossierRender).order_by(DossierRender.id)))


@pytest.mark.usefixtures("synchronous_jobs")
def test_real_pdf_is_rendered_once_then_served_from_the_cache_until_the_content_changes() -> None:
    consortium = make_consortium(3)
    render = rendering.request_pdf(consortium, final=False, by=None)
    assert render.status == RenderStatus.QUEUED  # the job starts when the request commits
    db.session.commit()
    [done] = renders()
    assert done.status == RenderStatus.DONE
    assert done.progress == 100
    assert done.page_count is not None
    assert done.page_count > 3
    stored = db.session.get(StoredFile, done.file_id)
    assert stored is not None
    assert stored.data.startswith(b"%PDF")
    assert stored.content_type == "application/pdf"

    again = rendering.request_pdf(consortium, final=False, by=None)
    db.session.commit()
    assert again.id == done.id
    assert len(renders()) == 1  # no second render for the same content

    consortium.title = "Parcours vers l'emploi en Seine-Saint-Denis (révisé)"
    db.session.commit()
    changed = rendering.request_pdf(consortium, final=False, by=None)
    db.session.commit()
    assert changed.id != done.id
    assert [r.status for r in renders()] == [RenderStatus.DONE, RenderStatus.DONE]
    # Two PDFs, besides the pieces the drafts were put together from (tests/dossier/test_pieces.py).
    pieces = select(DossierPiece.file_id)
    assert (
        db.session.scalar(select(func.count()).select_from(StoredFile).where(StoredFile.id.not_in(pieces)))
        == 2
    )


@pytest.mark.usefixtures("synchronous_jobs")
def test_draft_and_final_are_cached_separately(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = fake_renderer(monkeypatch)
    consortium = make_consortium(3)
    draft = rendering.request_pdf(consortium, final=False, by=None)
    final = rendering.request_pdf(consortium, final=True, by=None)
    db.session.commit()
    assert draft.id != final.id
    assert len(seen) == 2
    assert [render.final for render in renders()] == [False, True]


def test_final_pdf_is_refused_while_the_consortium_has_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = fake_renderer(monkeypatch)
    consortium = make_consortium(3)
    unbalance(consortium)
    with pytest.raises(Invalid) as refused:
        rendering.request_pdf(consortium, final=True, by=None)
    assert "erreur" in str(refused.value)
    db.session.rollback()
    assert renders() == []
    assert seen == []


@pytest.mark.usefixtures("synchronous_jobs")
def test_a_failed_render_says_why_in_french_and_keeps_no_file(monkeypatch: pytest.MonkeyPatch) -> None:
    def too_long(html: str) -> RenderedPdf:
        raise RenderError("La fabrication du PDF a dépassé 180 secondes et a été interrompue.")

    use_renderer(monkeypatch, too_long)
    consortium = make_consortium(3)
    rendering.request_pdf(consortium, final=False, by=None)
    db.session.commit()
    [failed] = renders()
    assert failed.status == RenderStatus.FAILED
    assert failed.error == "La fabrication du PDF a dépassé 180 secondes et a été interrompue."
    assert failed.file_id is None
    assert db.session.scalar(select(func.count()).select_from(StoredFile)) == 0
    state = rendering.state_of(failed)
    assert not state.is_pending
    assert not state.is_done


@pytest.mark.usefixtures("synchronous_jobs")
def test_an_unexpected_crash_is_a_failed_render_with_a_french_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def crash(html: str) -> RenderedPdf:
        raise RuntimeError("boom")

    use_renderer(monkeypatch, crash)
    consortium = make_consortium(3)
    rendering.request_pdf(consortium, final=False, by=None)
    db.session.commit()
    [failed] = renders()
    assert failed.status == RenderStatus.FAILED
    assert "La fabrication du PDF a échoué" in failed.error
    assert "boom" not in failed.error


@pytest.mark.usefixtures("synchronous_jobs")
def test_a_render_abandoned_by_a_killed_worker_left_no_file_and_is_retried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen = fake_renderer(monkeypatch)
    consortium = make_consortium(3)
    from app.dossier.document import build_dossier

    digest = build_dossier(consortium, final=False).digest
    abandoned = DossierRender(
        consortium_id=consortium.id,
        digest=digest,
        final=False,
        status=RenderStatus.RUNNING,
        progress=40,
        stage="Mise en page du dossier",
        started_at=utcnow() - timedelta(minutes=30),
    )
    db.session.add(abandoned)
    db.session.commit()
    state = rendering.state_of(abandoned)
    assert state.status == RenderStatus.FAILED
    assert "interrompue" in state.error

    retried = rendering.request_pdf(consortium, final=False, by=None)
    db.session.commit()
    assert retried.id != abandoned.id
    assert len(seen) == 1
    assert renders()[-1].status == RenderStatus.DONE


def test_a_render_under_way_is_reused_not_duplicated(monkeypatch: pytest.MonkeyPatch, app: Flask) -> None:
    started: list[tuple[object, ...]] = []
    monkeypatch.setattr(rendering, "run_later", lambda *args: started.append(args))
    consortium = make_consortium(3)
    first = rendering.request_pdf(consortium, final=False, by=None)
    second = rendering.request_pdf(consortium, final=False, by=None)
    assert first.id == second.id
    assert len(started) == 1


def test_progress_grows_with_time_against_the_previous_render() -> None:
    consortium = make_consortium(3)
    now = utcnow()
    db.session.add(
        DossierRender(
            consortium_id=consortium.id,
            digest="a" * 64,
            status=RenderStatus.DONE,
            started_at=now - timedelta(hours=1, seconds=100),
            finished_at=now - timedelta(hours=1),
        )
    )
    running = DossierRender(
        consortium_id=consortium.id,
        digest="b" * 64,
        status=RenderStatus.RUNNING,
        progress=10,
        stage="Mise en page du dossier",
        started_at=now - timedelta(seconds=50),
    )
    db.session.add(running)
    db.session.commit()
    state = rendering.state_of(running, now)
    assert 50 <= state.progress <= 55  # half of the previous render's 100 s
    assert state.stage == "Mise en page du dossier"
    late = rendering.state_of(running, now + timedelta(seconds=500))
    assert late.progress == 95  # never 100 before it is done


def test_a_job_asked_for_in_a_rolled_back_transaction_never_starts(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "JOBS_SYNCHRONOUS", True)
    calls: list[int] = []
    monkeypatch.setattr(f"{__name__}.record_call", calls.append, raising=False)
    db.session.execute(select(1))  # a transaction is open
    run_later(f"{__name__}.record_call", 1)
    assert calls == []  # not before the commit
    db.session.rollback()
    db.session.commit()
    assert calls == []
    db.session.execute(select(1))
    run_later(f"{__name__}.record_call", 2)
    db.session.commit()
    assert calls == [2]
    run_later(f"{__name__}.record_call", 3)  # no transaction: at once
    assert calls == [2, 3]


def finished_status(render_id: int, seconds: float = 30) -> RenderStatus | None:
    """Wait for a background render to finish; its status. No transaction is held while waiting: on
    SQLite a session outside a request takes the write lock, and the job could not write."""
    deadline = time.monotonic() + seconds
    while True:
        status = db.session.scalar(select(DossierRender.status).where(DossierRender.id == render_id))
        db.session.rollback()
        if status in (RenderStatus.DONE, RenderStatus.FAILED) or time.monotonic() > deadline:
            return status
        time.sleep(0.1)


def test_in_process_jobs_run_in_a_background_thread(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "JOBS_SYNCHRONOUS", False)
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    seen = fake_renderer(monkeypatch)
    consortium = make_consortium(3)
    render = rendering.request_pdf(consortium, final=False, by=None)
    render_id = render.id
    db.session.commit()
    assert finished_status(render_id) == RenderStatus.DONE
    assert len(seen) == 1


@pytest.fixture
def rq_queue(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A dedicated queue on the local Redis (skipped when Redis does not answer)."""
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError

    url = "redis://127.0.0.1:6379/0"
    try:
        Redis.from_url(url).ping()
    except RedisConnectionError:
        pytest.skip("Redis ne répond pas sur 127.0.0.1:6379")
    name = f"consortio-test-{uuid.uuid4().hex[:12]}"
    monkeypatch.setitem(app.config, "JOBS_SYNCHRONOUS", False)
    monkeypatch.setitem(app.config, "REDIS_URL", url)
    monkeypatch.setitem(app.config, "JOBS_QUEUE", name)
    yield name
    from rq import Queue

    queue = Queue(name, connection=Redis.from_url(url))
    queue.empty()
    queue.delete(delete_jobs=True)


def test_with_redis_the_render_is_an_rq_job_run_by_a_worker(
    monkeypatch: pytest.MonkeyPatch, rq_queue: str
) -> None:
    from redis import Redis
    from rq import Queue, SimpleWorker

    seen = fake_renderer(monkeypatch, pages=12)
    consortium = make_consortium(3)
    render = rendering.request_pdf(consortium, final=False, by=None)
    render_id = render.id
    connection = Redis.from_url("redis://127.0.0.1:6379/0")
    queue = Queue(rq_queue, connection=connection)
    assert queue.count == 0  # enqueued only once the row is committed
    db.session.commit()
    assert queue.count == 1
    assert renders()[0].status == RenderStatus.QUEUED
    db.session.rollback()

    SimpleWorker([queue], connection=connection).work(burst=True)

    [done] = renders()
    assert done.id == render_id
    assert done.status == RenderStatus.DONE
    assert done.page_count == 12
    assert len(seen) == 1


@pytest.mark.usefixtures("synchronous_jobs")
def test_a_render_waits_for_a_free_slot_when_the_limit_is_reached(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = fake_renderer(monkeypatch)
    monkeypatch.setitem(app.config, "DOSSIER_MAX_CONCURRENT_RENDERS", 1)
    other = make_consortium(3, slug="autre-consortium")
    busy = DossierRender(
        consortium_id=other.id, digest="c" * 64, status=RenderStatus.RUNNING, started_at=utcnow()
    )
    db.session.add(busy)
    db.session.commit()
    busy_id = busy.id
    waits: list[str] = []

    def pause() -> None:
        # While this render waits, the other one finishes.
        stage = db.session.scalar(select(DossierRender.stage).where(DossierRender.id != busy_id))
        waits.append(stage or "")
        db.session.execute(
            DossierRender.__table__.update()
            .where(DossierRender.id == busy_id)
            .values(status=RenderStatus.DONE)
        )
        db.session.commit()

    monkeypatch.setattr(rendering, "_pause", pause)
    consortium = make_consortium(3)
    rendering.request_pdf(consortium, final=False, by=None)
    db.session.commit()
    assert waits == ["En attente : d'autres dossiers sont en cours de fabrication"]
    assert len(seen) == 1
    assert renders()[-1].status == RenderStatus.DONE


def test_when_redis_is_unreachable_the_render_still_runs_here(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "JOBS_SYNCHRONOUS", False)
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")
    seen = fake_renderer(monkeypatch)
    consortium = make_consortium(3)
    render_id = rendering.request_pdf(consortium, final=False, by=None).id
    db.session.commit()
    assert finished_status(render_id) == RenderStatus.DONE
    assert len(seen) == 1
