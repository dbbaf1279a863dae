"""Submitted versions: frozen whole or not at all, untouched by later edits, compared with the present."""

from __future__ import annotations

import hashlib
import io
import json

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import func, select

from app.audit import AuditEvent
from app.auth.models import User
from app.budget.models import AmountKind, BudgetAmount
from app.consortia.models import Consortium, ConsortiumStatus, PartnerStatus, Role
from app.dossier import snapshots
from app.dossier.models import DossierSnapshot
from app.errors import Invalid, NotAllowed, NotFound
from app.extensions import db
from app.sections.models import Section, SectionPart, SectionRevision
from app.sections.saving import save_part
from app.storage import StoredFile
from tests.dossier.test_rendering import fake_renderer, unbalance
from tests.factories import csrf_token, login, make_consortium, make_member

NEW_TEXT = "<p>Le consortium accompagne désormais 1 200 participants vers un emploi durable.</p>"


@pytest.fixture
def consortium(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Consortium:
    monkeypatch.setitem(app.config, "JOBS_SYNCHRONOUS", True)
    return make_consortium(3)


@pytest.fixture
def boss(consortium: Consortium) -> User:
    return make_member(consortium, Role.COORDINATOR, "urtie-idf", email="coordination@exemple.fr")


def shared_section(consortium: Consortium) -> Section:
    """A shared section with text in the demo."""
    for section in db.session.scalars(
        select(Section).where(Section.consortium_id == consortium.id).order_by(Section.position)
    ):
        part = db.session.scalar(
            select(SectionPart).where(SectionPart.section_id == section.id, SectionPart.partner_id.is_(None))
        )
        if part is not None and part.head_revision_id is not None and not section.generated:
            return section
    raise AssertionError("no shared text in the demo")


def rewrite(section: Section, by: User, text: str = NEW_TEXT) -> None:
    part = db.session.scalar(
        select(SectionPart).where(SectionPart.section_id == section.id, SectionPart.partner_id.is_(None))
    )
    assert part is not None
    save_part(section, None, text, base_revision=part.version, by=by)
    db.session.commit()


def test_freezing_keeps_pdf_json_and_xlsx_with_their_sha256_and_marks_the_consortium_submitted(
    consortium: Consortium, boss: User
) -> None:
    snapshot = snapshots.freeze(consortium, by=boss, note="Déposé sur la plateforme régionale")
    db.session.commit()
    assert snapshot.number == 1
    assert consortium.status == ConsortiumStatus.SUBMITTED
    pdf = snapshots.snapshot_file(snapshot, "pdf")
    assert pdf.data.startswith(b"%PDF")
    assert snapshot.sha256 == hashlib.sha256(pdf.data).hexdigest() == pdf.sha256
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages[:2])
    assert "Version déposée n° 1" in " ".join(text.split())
    assert "BROUILLON" not in text
    assert snapshot.page_count == len(PdfReader(io.BytesIO(pdf.data)).pages)
    exchange = json.loads(snapshots.snapshot_file(snapshot, "json").data)
    assert exchange["consortium"]["status"] == "submitted"
    assert snapshots.snapshot_file(snapshot, "xlsx").data.startswith(b"PK")
    for kind in ("json", "xlsx"):
        stored = snapshots.snapshot_file(snapshot, kind)
        assert stored.sha256 == hashlib.sha256(stored.data).hexdigest()
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "dossier.frozen")).one()
    assert event.actor_id == boss.id
    assert event.data["number"] == 1
    assert event.data["sha256"] == snapshot.sha256


def test_freezing_is_refused_with_the_errors_listed_and_nothing_written(
    consortium: Consortium, boss: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = fake_renderer(monkeypatch)
    partner = unbalance(consortium)
    with pytest.raises(Invalid) as refused:
        snapshots.freeze(consortium, by=boss)
    assert "corrigez-les avant de figer" in str(refused.value)
    assert partner.organisation.name in str(refused.value) or "équilibr" in str(refused.value)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(DossierSnapshot)) == 0
    assert db.session.scalar(select(func.count()).select_from(StoredFile)) == 0
    assert consortium.status == ConsortiumStatus.DRAFT
    assert seen == []


def test_only_the_coordination_freezes(consortium: Consortium, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_renderer(monkeypatch)
    director = make_member(consortium, Role.DIRECTOR, consortium.partners[1].code, email="dir@exemple.fr")
    with pytest.raises(NotAllowed):
        snapshots.freeze(consortium, by=director)


def test_later_edits_never_touch_the_snapshot_and_show_in_the_comparison(
    consortium: Consortium, boss: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_renderer(monkeypatch)
    snapshot = snapshots.freeze(consortium, by=boss)
    db.session.commit()
    frozen = {kind: snapshots.snapshot_file(snapshot, kind).data for kind in ("pdf", "json", "xlsx")}
    assert snapshots.compare_with_current(consortium, snapshot).unchanged

    section = shared_section(consortium)
    rewrite(section, boss)
    partner = consortium.partners[1]
    amount = db.session.scalars(
        select(BudgetAmount)
        .where(BudgetAmount.partner_id == partner.id, BudgetAmount.kind == AmountKind.EXPENSE)
        .order_by(BudgetAmount.year, BudgetAmount.id)
    ).first()
    assert amount is not None
    year, old = amount.year, amount.amount
    amount.amount = old + 1000
    withdrawn = consortium.partners[2]
    withdrawn.status = PartnerStatus.WITHDRAWN
    db.session.commit()

    db.session.expire_all()
    again = db.session.get(DossierSnapshot, snapshot.id)
    assert again is not None
    for kind, data in frozen.items():
        assert snapshots.snapshot_file(again, kind).data == data
    comparison = snapshots.compare_with_current(consortium, again)
    assert not comparison.unchanged
    [change] = [change for change in comparison.texts if change.partner is None]
    assert change.section == section.title
    assert "<ins>" in change.diff
    assert "emploi durable" in change.diff
    rows = [row for row in comparison.figures if row.partner == partner.organisation.name]
    changed = [row for row in rows if row.label.startswith(f"{year} · dépense · ")]
    assert changed  # the category, and the flat-rate indirect costs computed from it
    for row in changed:
        assert row.old.endswith("€")
        assert row.old != row.new
    assert comparison.withdrawn == [withdrawn.organisation.name]
    assert comparison.joined == []


def test_versions_are_numbered_and_another_consortiums_version_is_not_found(
    consortium: Consortium, boss: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_renderer(monkeypatch)
    first = snapshots.freeze(consortium, by=boss)
    second = snapshots.freeze(consortium, by=boss)
    db.session.commit()
    assert (first.number, second.number) == (1, 2)
    assert [s.number for s in snapshots.snapshots_of(consortium)] == [2, 1]
    other = make_consortium(3, slug="autre-consortium")
    with pytest.raises(NotFound):
        snapshots.snapshot_of(other, 1)


def test_freeze_view_then_version_page_and_byte_for_byte_downloads(
    client: FlaskClient, consortium: Consortium, boss: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_renderer(monkeypatch)
    login(client, boss.email)
    token = csrf_token(client, f"/consortia/{consortium.slug}/dossier")
    response = client.post(
        f"/consortia/{consortium.slug}/dossier/versions", data={"csrf_token": token, "note": "Dépôt du 30"}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/consortia/{consortium.slug}/dossier/versions/1")
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Version déposée n° 1 figée" in html
    assert "Aucune modification depuis cette version" in html
    assert "Dépôt du 30" in html
    snapshot = db.session.scalars(select(DossierSnapshot)).one()
    for kind in ("pdf", "json", "xlsx"):
        download = client.get(f"/consortia/{consortium.slug}/dossier/versions/1/{kind}")
        assert download.status_code == 200
        assert download.data == snapshots.snapshot_file(snapshot, kind).data
        assert download.headers["Content-Disposition"].startswith("attachment;")
        assert download.headers["X-Content-Type-Options"] == "nosniff"
    page = client.get(f"/consortia/{consortium.slug}/dossier").get_data(as_text=True)
    assert "n° 1" in page
    assert snapshot.sha256[:16] in page
    assert "Claire" in page or "coordinator test" in page
    assert client.get(f"/consortia/{consortium.slug}/dossier/versions/1/exe").status_code == 404
    assert client.get(f"/consortia/{consortium.slug}/dossier/versions/9").status_code == 404

    rewrite(shared_section(consortium), boss)
    page = client.get(f"/consortia/{consortium.slug}/dossier").get_data(as_text=True)
    assert "Le dossier a été modifié depuis la version déposée n° 1" in page
    html = client.get(f"/consortia/{consortium.slug}/dossier/versions/1").get_data(as_text=True)
    assert "Textes modifiés (1)" in html
    assert "emploi durable" in html


def test_freeze_view_with_errors_lists_them_and_keeps_the_draft(
    client: FlaskClient, consortium: Consortium, boss: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_renderer(monkeypatch)
    unbalance(consortium)
    login(client, boss.email)
    token = csrf_token(client, f"/consortia/{consortium.slug}/dossier")
    response = client.post(
        f"/consortia/{consortium.slug}/dossier/versions", data={"csrf_token": token}, follow_redirects=True
    )
    assert "corrigez-les avant de figer la version déposée" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(DossierSnapshot)) == 0
    assert db.session.get(Consortium, consortium.id).status == ConsortiumStatus.DRAFT  # type: ignore[union-attr]


def test_a_reader_sees_versions_but_not_their_exchange_file(
    client: FlaskClient, consortium: Consortium, boss: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_renderer(monkeypatch)
    snapshots.freeze(consortium, by=boss)
    db.session.commit()
    make_member(consortium, Role.READER, email="lecture@exemple.fr")
    login(client, "lecture@exemple.fr")
    assert client.get(f"/consortia/{consortium.slug}/dossier/versions/1").status_code == 200
    assert client.get(f"/consortia/{consortium.slug}/dossier/versions/1/pdf").status_code == 200
    assert client.get(f"/consortia/{consortium.slug}/dossier/versions/1/json").status_code == 403
    assert db.session.scalar(select(func.count()).select_from(SectionRevision)) > 0


def test_freezing_runs_as_a_job_and_a_second_click_joins_the_same_one(
    client: FlaskClient, consortium: Consortium, boss: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[tuple[object, ...]] = []
    monkeypatch.setattr(snapshots, "run_later", lambda *args: started.append(args))
    fake_renderer(monkeypatch)
    first = snapshots.request_freeze(consortium, by=boss, note="Dépôt")
    second = snapshots.request_freeze(consortium, by=boss, note="Dépôt")
    db.session.commit()
    assert first.id == second.id
    assert len(started) == 1
    assert db.session.scalar(select(func.count()).select_from(DossierSnapshot)) == 0

    login(client, boss.email)
    html = client.get(f"/consortia/{consortium.slug}/dossier?rendu={first.id}").get_data(as_text=True)
    assert "Préparation de la version déposée en cours" in html
    assert 'hx-trigger="every 1s"' in html

    snapshots.freeze_job(first.id, boss.id, "Dépôt")  # what the worker does
    fragment = client.get(
        f"/consortia/{consortium.slug}/dossier/rendus/{first.id}", headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert "Version déposée n° 1 figée" in fragment
    assert f"/consortia/{consortium.slug}/dossier/versions/1" in fragment
    html = client.get(f"/consortia/{consortium.slug}/dossier").get_data(as_text=True)
    assert "Dernier PDF final" not in html  # the version's PDF is listed with the versions, not as an export


def test_a_failed_freeze_writes_nothing_and_says_so(
    client: FlaskClient, consortium: Consortium, boss: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.dossier import rendering
    from app.dossier.pdf import RenderedPdf, RenderError

    def too_big(html: str) -> RenderedPdf:
        raise RenderError(
            "La fabrication du PDF a dépassé la mémoire permise (1024 Mio) et a été interrompue."
        )

    monkeypatch.setattr(rendering, "render_pdf", too_big)
    login(client, boss.email)
    token = csrf_token(client, f"/consortia/{consortium.slug}/dossier")
    response = client.post(f"/consortia/{consortium.slug}/dossier/versions", data={"csrf_token": token})
    assert response.status_code == 302
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "La version déposée n'a pas pu être figée ; rien n'a été enregistré." in html
    assert "dépassé la mémoire permise" in html
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(DossierSnapshot)) == 0
    assert db.session.scalar(select(func.count()).select_from(StoredFile)) == 0
    assert db.session.get(Consortium, consortium.id).status == ConsortiumStatus.DRAFT  # type: ignore[union-attr]
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "dossier.frozen")).all() == []
