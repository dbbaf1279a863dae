"""The export page, the PDF (cached or rendered by a job) and its progress, the workbook, the archive."""

from __future__ import annotations

import io
import json
import re
import zipfile

import openpyxl
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.annexes.models import Annex, AnnexKind
from app.audit import AuditEvent
from app.consortia.models import Consortium, Role
from app.dossier import rendering
from app.dossier.models import DossierRender
from app.extensions import db
from app.storage import store_bytes
from tests.dossier.test_rendering import FAKE_PDF, fake_renderer, unbalance
from tests.factories import csrf_token, login, make_consortium, make_member, make_user


@pytest.fixture
def consortium(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Consortium:
    monkeypatch.setitem(app.config, "JOBS_SYNCHRONOUS", True)
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    fake_renderer(monkeypatch)
    return make_consortium(3)


def coordinator(client: FlaskClient, consortium: Consortium) -> None:
    make_member(consortium, Role.COORDINATOR, "urtie-idf", email="coordination@exemple.fr")
    login(client, "coordination@exemple.fr")


def reader(client: FlaskClient, consortium: Consortium) -> None:
    make_member(consortium, Role.READER, email="lecture@exemple.fr")
    login(client, "lecture@exemple.fr")


def events(kind: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.kind == kind).order_by(AuditEvent.id)))


def test_export_page_shows_the_state_the_buttons_and_the_other_exports(
    client: FlaskClient, consortium: Consortium
) -> None:
    coordinator(client, consortium)
    html = client.get(f"/consortia/{consortium.slug}/dossier").get_data(as_text=True)
    assert "Le dossier à déposer" in html
    assert "0 erreur" in html
    assert "PDF brouillon" in html
    assert re.search(r'<button class="btn btn-success" type="submit">PDF final</button>', html)
    assert f"/consortia/{consortium.slug}/dossier/apercu" in html
    assert f"/consortia/{consortium.slug}/dossier.xlsx" in html
    assert f"/consortia/{consortium.slug}/export.json" in html
    assert f"/consortia/{consortium.slug}/dossier.zip" in html
    assert "Figer la version déposée" in html
    assert 'aria-current="page" href="/consortia/' in html  # the Dossier tab is the current one


def test_final_pdf_and_freezing_are_disabled_with_the_reason_while_errors_remain(
    client: FlaskClient, consortium: Consortium
) -> None:
    unbalance(consortium)
    coordinator(client, consortium)
    html = client.get(f"/consortia/{consortium.slug}/dossier").get_data(as_text=True)
    assert "À corriger avant le dépôt" in html
    assert re.search(r'type="submit" disabled aria-describedby="final-refuse">PDF final', html)
    assert "Le PDF final est indisponible tant que le dossier a des erreurs" in html
    assert re.search(r'disabled aria-describedby="figer-refuse">Figer la version déposée', html)

    token = csrf_token(client, f"/consortia/{consortium.slug}/dossier")
    response = client.post(
        f"/consortia/{consortium.slug}/dossier/fabriquer",
        data={"final": "1", "csrf_token": token},
        follow_redirects=True,
    )
    assert "erreur" in response.get_data(as_text=True)
    assert db.session.scalars(select(DossierRender)).all() == []


def test_buttons_render_then_the_page_offers_the_download(
    client: FlaskClient, consortium: Consortium
) -> None:
    coordinator(client, consortium)
    token = csrf_token(client, f"/consortia/{consortium.slug}/dossier")
    response = client.post(
        f"/consortia/{consortium.slug}/dossier/fabriquer", data={"final": "0", "csrf_token": token}
    )
    assert response.status_code == 302
    render = db.session.scalars(select(DossierRender)).one()
    assert f"rendu={render.id}" in response.headers["Location"]
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "PDF brouillon prêt" in html
    assert "7 pages" in html
    download = f"/consortia/{consortium.slug}/dossier/rendus/{render.id}.pdf"
    assert download in html
    pdf = client.get(download)
    assert pdf.data.startswith(FAKE_PDF)
    assert (
        pdf.headers["Content-Disposition"]
        == f'attachment; filename="dossier-{consortium.slug}-brouillon.pdf"'
    )
    assert pdf.headers["X-Content-Type-Options"] == "nosniff"
    [event] = events("dossier.exported")
    assert event.data["format"] == "pdf"
    assert event.data["final"] is False


def test_a_reader_downloads_the_cached_pdf_directly(client: FlaskClient, consortium: Consortium) -> None:
    rendering.request_pdf(consortium, final=False, by=None)
    db.session.commit()
    reader(client, consortium)
    response = client.get(f"/consortia/{consortium.slug}/dossier.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(FAKE_PDF)
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert len(db.session.scalars(select(DossierRender)).all()) == 1  # served, not rendered again


def test_pdf_not_ready_answers_with_a_polling_progress_page_then_the_link(
    client: FlaskClient, consortium: Consortium, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[tuple[object, ...]] = []
    monkeypatch.setattr(rendering, "run_later", lambda *args: started.append(args))
    reader(client, consortium)
    response = client.get(f"/consortia/{consortium.slug}/dossier.pdf")
    assert response.status_code == 202
    html = response.get_data(as_text=True)
    render = db.session.scalars(select(DossierRender)).one()
    status_url = f"/consortia/{consortium.slug}/dossier/rendus/{render.id}"
    assert f'hx-get="{status_url}"' in html
    assert 'hx-trigger="every 1s"' in html
    assert "Fabrication du PDF brouillon en cours" in html
    assert len(started) == 1

    state = client.get(status_url, query_string={"format": "json"}).get_json()
    assert state["status"] == "queued"
    assert state["download"] is None

    rendering.render_job(render.id)  # what the worker does
    fragment = client.get(status_url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "hx-trigger" not in fragment  # polling stops
    assert "Télécharger le PDF brouillon" in fragment
    state = client.get(status_url, query_string={"format": "json"}).get_json()
    assert state["status"] == "done"
    assert state["progress"] == 100
    assert state["download"].endswith(f"/rendus/{render.id}.pdf")


def test_page_says_modified_since_the_export_when_the_content_changed(
    client: FlaskClient, consortium: Consortium
) -> None:
    rendering.request_pdf(consortium, final=False, by=None)
    db.session.commit()
    coordinator(client, consortium)
    html = client.get(f"/consortia/{consortium.slug}/dossier").get_data(as_text=True)
    assert "Dernier PDF brouillon" in html
    assert "modifié depuis l'export" not in html
    consortium.title = "Un nouvel intitulé"
    db.session.commit()
    html = client.get(f"/consortia/{consortium.slug}/dossier").get_data(as_text=True)
    assert "modifié depuis l'export" in html


def test_renders_of_another_consortium_and_outsiders_get_404(
    client: FlaskClient, consortium: Consortium
) -> None:
    other = make_consortium(3, slug="autre-consortium")
    render = rendering.request_pdf(other, final=False, by=None)
    db.session.commit()
    coordinator(client, consortium)
    assert client.get(f"/consortia/{consortium.slug}/dossier/rendus/{render.id}").status_code == 404
    assert client.get(f"/consortia/{consortium.slug}/dossier/rendus/{render.id}.pdf").status_code == 404
    assert client.get(f"/consortia/{other.slug}/dossier").status_code == 404
    assert client.get(f"/consortia/{other.slug}/dossier.pdf").status_code == 404


def test_preview_is_the_dossier_in_html(client: FlaskClient, consortium: Consortium) -> None:
    reader(client, consortium)
    response = client.get(f"/consortia/{consortium.slug}/dossier/apercu")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert consortium.title.replace("'", "&#39;") in html or consortium.title in html
    for partner in consortium.partners:
        assert partner.organisation.name.replace("'", "&#39;") in html or partner.organisation.name in html


def test_workbook_download_has_the_consolidated_plan(client: FlaskClient, consortium: Consortium) -> None:
    reader(client, consortium)
    response = client.get(f"/consortia/{consortium.slug}/dossier.xlsx")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    workbook = openpyxl.load_workbook(io.BytesIO(response.data))
    assert len(workbook.sheetnames) > 3
    assert events("dossier.exported")[0].data["format"] == "xlsx"


def test_archive_holds_pdf_exchange_workbook_and_current_annexes(
    client: FlaskClient, consortium: Consortium
) -> None:
    partner = consortium.partners[1]
    for title, body, superseded in (("ancienne", b"v1", True), ("actuelle", b"%PDF lettre", False)):
        stored = store_bytes(body, "application/pdf")
        annex = Annex(
            consortium_id=consortium.id,
            partner_id=partner.id,
            kind=AnnexKind.COMMITMENT_LETTER,
            title=title,
            filename=f"../../lettre-{title}.pdf",
            file_id=stored.id,
            content_type="application/pdf",
            size=len(body),
        )
        if superseded:
            from app.database import utcnow

            annex.superseded_at = utcnow()
        db.session.add(annex)
    db.session.commit()
    coordinator(client, consortium)
    response = client.get(f"/consortia/{consortium.slug}/dossier.zip")
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    names = archive.namelist()
    assert f"{consortium.slug}-dossier-brouillon.pdf" in names
    assert archive.read(f"{consortium.slug}-dossier-brouillon.pdf").startswith(FAKE_PDF)
    exchange = json.loads(archive.read(f"{consortium.slug}-echange.json"))
    assert exchange["consortium"]["slug"] == consortium.slug
    openpyxl.load_workbook(io.BytesIO(archive.read(f"{consortium.slug}-plan-de-financement.xlsx")))
    annexes = [name for name in names if name.startswith("annexes/")]
    assert len(annexes) == 1  # the superseded letter is not there
    assert ".." not in annexes[0]
    assert annexes[0].startswith(f"annexes/02-{partner.code}/Lettre d'engagement - ")
    assert archive.read(annexes[0]) == b"%PDF lettre"


def test_a_reader_may_not_download_the_archive_nor_freeze(
    client: FlaskClient, consortium: Consortium
) -> None:
    reader(client, consortium)
    html = client.get(f"/consortia/{consortium.slug}/dossier").get_data(as_text=True)
    assert "dossier.zip" not in html
    assert "Figer la version déposée" not in html
    assert client.get(f"/consortia/{consortium.slug}/dossier.zip").status_code == 403
    token = csrf_token(client, f"/consortia/{consortium.slug}/dossier")
    response = client.post(f"/consortia/{consortium.slug}/dossier/versions", data={"csrf_token": token})
    assert response.status_code == 403


def test_posting_without_csrf_token_changes_nothing(client: FlaskClient, consortium: Consortium) -> None:
    coordinator(client, consortium)
    response = client.post(f"/consortia/{consortium.slug}/dossier/fabriquer", data={"final": "0"})
    assert response.status_code in (400, 403)
    assert db.session.scalars(select(DossierRender)).all() == []


def test_a_stranger_account_cannot_see_the_export_page(client: FlaskClient, consortium: Consortium) -> None:
    make_user("inconnu@exemple.fr")
    login(client, "inconnu@exemple.fr")
    assert client.get(f"/consortia/{consortium.slug}/dossier").status_code == 404
    assert client.get(f"/consortia/{consortium.slug}/dossier.xlsx").status_code == 404
    assert db.session.scalar(select(DossierRender.id)) is None


def test_a_reader_gets_the_draft_but_may_not_make_the_dossier_final(
    client: FlaskClient, consortium: Consortium
) -> None:
    reader(client, consortium)
    html = client.get(f"/consortia/{consortium.slug}/dossier").get_data(as_text=True)
    assert "PDF brouillon" in html
    assert ">PDF final<" not in html
    assert client.get(f"/consortia/{consortium.slug}/dossier.pdf?final=1").status_code == 403
    token = csrf_token(client, f"/consortia/{consortium.slug}/dossier")
    response = client.post(
        f"/consortia/{consortium.slug}/dossier/fabriquer", data={"final": "1", "csrf_token": token}
    )
    assert response.status_code == 403
    assert db.session.scalars(select(DossierRender)).all() == []
