"""The annexes pages as people use them: upload, history, download headers, permissions, bad input."""

from __future__ import annotations

import io
import re
from html import unescape

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from app.annexes import services
from app.annexes.models import Annex, AnnexKind
from app.audit import AuditEvent
from app.consortia.models import Consortium, Partner, Role
from app.consortia.services import partner_by_code
from app.extensions import db
from app.storage import StoredFile
from tests.annexes import samples
from tests.factories import csrf_token, login, make_consortium, make_member

OWN = "plie-sevran"
OTHER = "mde-aulnay"


@pytest.fixture
def consortium() -> Consortium:
    return make_consortium()


def partner(consortium: Consortium, code: str) -> Partner:
    found = partner_by_code(consortium, code)
    assert found is not None
    return found


def text_of(html: str) -> str:
    html = re.sub(r"<(script|style|title)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"[ \t\r\n]+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def stored_count() -> int:
    return db.session.scalar(select(func.count(StoredFile.id))) or 0


def annex_count() -> int:
    return db.session.scalar(select(func.count(Annex.id))) or 0


def logged_in(client: FlaskClient, consortium: Consortium, role: Role, code: str | None = None) -> str:
    user = make_member(consortium, role, code)
    login(client, user.email)
    return csrf_token(client, f"/consortia/{consortium.slug}/annexes")


def post_upload(
    client: FlaskClient,
    consortium: Consortium,
    token: str,
    *,
    code: str = OWN,
    kind: str = "commitment_letter",
    data: bytes = samples.PDF,
    filename: str = "lettre.pdf",
    content_type: str = "application/pdf",
    **fields: str,
) -> TestResponse:
    form: dict[str, object] = {
        "csrf_token": token,
        "kind": kind,
        "file": (io.BytesIO(data), filename, content_type),
        **fields,
    }
    return client.post(
        f"/consortia/{consortium.slug}/annexes/membres/{code}", data=form, content_type="multipart/form-data"
    )


def test_director_uploads_a_commitment_letter_from_the_overview(
    client: FlaskClient, consortium: Consortium
) -> None:
    coordinator = make_member(consortium, Role.COORDINATOR)
    services.set_required_kinds(consortium, ["commitment_letter", "statutes"], by=coordinator)
    token = logged_in(client, consortium, Role.DIRECTOR, OWN)
    page = text_of(client.get(f"/consortia/{consortium.slug}/annexes").get_data(as_text=True))
    assert "Vos pièces — PLIE" in page
    assert "2 pièces exigées manquantes" in page
    assert "Type de pièce" in page
    assert "Fichier" in page
    assert "Déposer la pièce" in page

    response = post_upload(client, consortium, token, filename="Lettre d'engagement\u202e.pdf", back="index")
    assert response.status_code == 303
    assert response.location.endswith(f"/consortia/{consortium.slug}/annexes")
    page = text_of(client.get(response.location).get_data(as_text=True))
    assert "Pièce déposée pour" in page
    assert "Lettre d'engagement.pdf" in page
    assert "1 pièce exigée manquante" in page
    assert "Statuts" in page
    annex = db.session.scalars(select(Annex)).one()
    assert annex.partner_id == partner(consortium, OWN).id
    assert annex.kind == AnnexKind.COMMITMENT_LETTER
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "annex.uploaded")).one()
    assert event.partner_id == annex.partner_id


def test_coordinator_sees_every_partner_with_provided_and_missing_annexes(
    client: FlaskClient, consortium: Consortium
) -> None:
    coordinator = make_member(consortium, Role.COORDINATOR)
    services.set_required_kinds(consortium, ["commitment_letter"], by=coordinator)
    services.upload_annex(
        partner(consortium, OWN),
        kind="commitment_letter",
        data=samples.PDF,
        filename="engagement-sevran.pdf",
        max_bytes=10**6,
        by=coordinator,
    )
    login(client, coordinator.email)
    html = client.get(f"/consortia/{consortium.slug}/annexes").get_data(as_text=True)
    own_row = re.search(rf'<tr data-partner="{OWN}".*?</tr>', html, flags=re.S)
    other_row = re.search(rf'<tr data-partner="{OTHER}".*?</tr>', html, flags=re.S)
    assert own_row
    assert "Fournie" in own_row.group()
    assert "engagement-sevran.pdf" in own_row.group()
    assert other_row
    assert "Manquante" in other_row.group()
    assert "Vos pièces" not in html
    assert "Choisir les pièces exigées" in html


def test_new_version_replaces_and_old_one_stays_downloadable(
    client: FlaskClient, consortium: Consortium
) -> None:
    token = logged_in(client, consortium, Role.CONTRIBUTOR, OWN)
    post_upload(client, consortium, token, kind="statutes", filename="statuts-2019.pdf", back="partner")
    post_upload(client, consortium, token, kind="statutes", data=samples.DOCX, filename="statuts-2024.docx")
    html = client.get(f"/consortia/{consortium.slug}/annexes/membres/{OWN}").get_data(as_text=True)
    page = text_of(html)
    assert "statuts-2024.docx" in page
    assert "1 version précédente" in page
    assert "statuts-2019.pdf" in page
    old = db.session.scalars(select(Annex).where(Annex.filename == "statuts-2019.pdf")).one()
    assert old.superseded_at is not None
    response = client.get(f"/consortia/{consortium.slug}/annexes/{old.id}/telecharger")
    assert response.status_code == 200
    assert response.data == samples.PDF


def test_explicit_replacement_of_a_cofunding_letter(client: FlaskClient, consortium: Consortium) -> None:
    token = logged_in(client, consortium, Role.DIRECTOR, OWN)
    post_upload(client, consortium, token, kind="cofunding_letter", filename="aisne.pdf")
    post_upload(client, consortium, token, kind="cofunding_letter", filename="oise.pdf")
    aisne = db.session.scalars(select(Annex).where(Annex.filename == "aisne.pdf")).one()
    form_page = client.get(f"/consortia/{consortium.slug}/annexes/membres/{OWN}?remplacer={aisne.id}")
    assert "Remplacer « aisne.pdf »" in text_of(form_page.get_data(as_text=True))
    post_upload(
        client, consortium, token, kind="cofunding_letter", filename="aisne-2.pdf", replaces=str(aisne.id)
    )
    current = services.current_annexes(consortium.id)[partner(consortium, OWN).id]
    assert sorted(annex.filename for annex in current) == ["aisne-2.pdf", "oise.pdf"]


def test_download_is_an_attachment_with_a_safe_name_and_our_content_type(
    client: FlaskClient, consortium: Consortium
) -> None:
    token = logged_in(client, consortium, Role.DIRECTOR, OWN)
    post_upload(
        client, consortium, token, data=samples.PNG, filename="../../预算.pdf", content_type="text/html"
    )
    annex = db.session.scalars(select(Annex)).one()
    response = client.get(f"/consortia/{consortium.slug}/annexes/{annex.id}/telecharger")
    assert response.status_code == 200
    assert response.data == samples.PNG
    assert response.mimetype == "image/png"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''%E9%A2%84%E7%AE%97.pdf.png" in disposition
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]


def test_annex_of_another_consortium_is_not_found(client: FlaskClient, consortium: Consortium) -> None:
    other = make_consortium(slug="autre-consortium")
    coordinator = make_member(other, Role.COORDINATOR, email="coord-autre@exemple.fr")
    theirs = services.upload_annex(
        partner(other, OWN),
        kind="statutes",
        data=samples.PDF,
        filename="secret.pdf",
        max_bytes=10**6,
        by=coordinator,
    )
    logged_in(client, consortium, Role.COORDINATOR)
    response = client.get(f"/consortia/{consortium.slug}/annexes/{theirs.id}/telecharger")
    assert response.status_code == 404
    assert client.get(f"/consortia/{other.slug}/annexes/{theirs.id}/telecharger").status_code == 404


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"data": samples.EXE_RENAMED, "filename": "lettre.pdf"}, "programme, pas un document"),
        ({"data": samples.HTML_AS_PDF, "filename": "lettre.pdf"}, "page web"),
        ({"data": samples.SVG_AS_PNG, "filename": "logo.png", "content_type": "image/png"}, "SVG"),
        ({"data": samples.EICAR, "filename": "lettre.pdf"}, "EICAR"),
        ({"data": samples.PDF_WITH_JAVASCRIPT}, "JavaScript"),
        ({"data": b"", "filename": "vide.pdf"}, "vide"),
        ({"kind": "passeport"}, "Type de pièce inconnu"),
        ({"filename": ""}, "Choisissez le fichier"),
    ],
)
def test_bad_upload_gets_a_french_message_and_stores_nothing(
    client: FlaskClient, consortium: Consortium, fields: dict[str, object], message: str
) -> None:
    token = logged_in(client, consortium, Role.DIRECTOR, OWN)
    response = post_upload(client, consortium, token, **fields)  # type: ignore[arg-type]
    assert response.status_code == 422
    assert message in text_of(response.get_data(as_text=True))
    assert "Déposer la pièce" in response.get_data(as_text=True)
    assert stored_count() == 0
    assert annex_count() == 0


def test_upload_beyond_the_annex_limit_gets_413_and_stores_nothing(
    client: FlaskClient, consortium: Consortium, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "ANNEX_MAX_BYTES", 1000)
    token = logged_in(client, consortium, Role.DIRECTOR, OWN)
    response = post_upload(client, consortium, token, data=samples.PDF + b"0" * 2000)
    assert response.status_code == 413
    assert "dépasse la taille maximale d'une pièce (1 Ko)" in text_of(response.get_data(as_text=True))
    assert stored_count() == 0
    assert annex_count() == 0


def test_request_beyond_the_request_limit_gets_a_french_413_page(
    client: FlaskClient, consortium: Consortium, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = logged_in(client, consortium, Role.DIRECTOR, OWN)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 4096)
    monkeypatch.setitem(app.config, "ANNEX_MAX_BYTES", 2048)
    response = post_upload(client, consortium, token, data=samples.PDF + b"0" * 10_000)
    assert response.status_code == 413
    page = text_of(response.get_data(as_text=True))
    assert "Envoi trop volumineux" in page
    assert "rien n'a été enregistré" in page
    assert "(2 Ko)" in page
    assert stored_count() == 0
    assert annex_count() == 0


def test_request_limit_default_leaves_room_for_the_largest_annex(app: Flask) -> None:
    assert app.config["MAX_CONTENT_LENGTH"] > app.config["ANNEX_MAX_BYTES"] >= 10 * 1024 * 1024


@pytest.mark.parametrize(
    ("role", "code"), [(Role.READER, None), (Role.DIRECTOR, OTHER), (Role.CONTRIBUTOR, OTHER)]
)
def test_readers_and_other_partners_get_403_and_nothing_is_stored(
    client: FlaskClient, consortium: Consortium, role: Role, code: str | None
) -> None:
    token = logged_in(client, consortium, role, code)
    response = post_upload(client, consortium, token, code=OWN)
    assert response.status_code == 403
    assert "déposent ses pièces" in text_of(response.get_data(as_text=True))
    assert stored_count() == 0
    assert annex_count() == 0


def test_reader_sees_the_list_read_only(client: FlaskClient, consortium: Consortium) -> None:
    coordinator = make_member(consortium, Role.COORDINATOR)
    services.upload_annex(
        partner(consortium, OWN),
        kind="statutes",
        data=samples.PDF,
        filename="statuts.pdf",
        max_bytes=10**6,
        by=coordinator,
    )
    logged_in(client, consortium, Role.READER)
    html = client.get(f"/consortia/{consortium.slug}/annexes").get_data(as_text=True)
    assert "statuts.pdf" in html
    assert "Déposer la pièce" not in html
    partner_page = client.get(f"/consortia/{consortium.slug}/annexes/membres/{OWN}").get_data(as_text=True)
    assert "statuts.pdf" in partner_page
    assert "Déposer la pièce" not in partner_page
    assert client.get(f"/consortia/{consortium.slug}/annexes/exigences").status_code == 403


def test_outsider_does_not_see_the_annexes(client: FlaskClient, consortium: Consortium) -> None:
    other = make_consortium(slug="autre-consortium")
    logged_in(client, other, Role.COORDINATOR)
    assert client.get(f"/consortia/{consortium.slug}/annexes").status_code == 404


def test_coordinator_sets_required_annexes(client: FlaskClient, consortium: Consortium) -> None:
    token = logged_in(client, consortium, Role.COORDINATOR)
    page = text_of(client.get(f"/consortia/{consortium.slug}/annexes/exigences").get_data(as_text=True))
    assert "Lettre d'engagement" in page
    assert "Autre pièce" not in page
    response = client.post(
        f"/consortia/{consortium.slug}/annexes/exigences",
        data={"csrf_token": token, "kinds": ["commitment_letter", "bank_details"]},
    )
    assert response.status_code == 303
    assert "Pièces exigées enregistrées." in text_of(client.get(response.location).get_data(as_text=True))
    assert services.required_kinds(consortium.id) == [AnnexKind.COMMITMENT_LETTER, AnnexKind.BANK_DETAILS]
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.kind == "annex.requirements_changed")
    ).one()
    assert event.data == {"old": [], "new": ["commitment_letter", "bank_details"]}
    bad = client.post(
        f"/consortia/{consortium.slug}/annexes/exigences",
        data={"csrf_token": token, "kinds": ["statutes", "passeport"]},
    )
    assert bad.status_code == 422
    assert "Type de pièce inconnu" in text_of(bad.get_data(as_text=True))
    assert services.required_kinds(consortium.id) == [AnnexKind.COMMITMENT_LETTER, AnnexKind.BANK_DETAILS]


def test_upload_without_csrf_token_is_refused(client: FlaskClient, consortium: Consortium) -> None:
    logged_in(client, consortium, Role.DIRECTOR, OWN)
    response = post_upload(client, consortium, "")
    assert response.status_code == 400
    assert stored_count() == 0


def test_missing_annex_links_to_the_form_with_its_kind_chosen(
    client: FlaskClient, consortium: Consortium
) -> None:
    coordinator = make_member(consortium, Role.COORDINATOR)
    services.set_required_kinds(consortium, ["siret_proof"], by=coordinator)
    logged_in(client, consortium, Role.DIRECTOR, OWN)
    page = client.get(f"/consortia/{consortium.slug}/annexes/membres/{OWN}").get_data(as_text=True)
    link = f"/consortia/{consortium.slug}/annexes/membres/{OWN}?type=siret_proof#depot-titre"
    assert f'href="{link}"' in page
    form = client.get(link.removesuffix("#depot-titre")).get_data(as_text=True)
    assert re.search(r'<option selected value="siret_proof">', form)


@pytest.mark.parametrize(
    ("filename", "shown"),
    [
        ("../../app.py", "app.py.pdf"),
        ("..\\..\\Lettre\x1b[31m\x00 signée\u200f.pdf", "Lettre[31m signée.pdf"),
        ("x" * 300 + ".pdf", "x" * 116 + ".pdf"),
    ],
)
def test_file_names_with_paths_or_control_characters_are_cleaned(
    client: FlaskClient, consortium: Consortium, filename: str, shown: str
) -> None:
    token = logged_in(client, consortium, Role.DIRECTOR, OWN)
    response = post_upload(client, consortium, token, filename=filename, back="partner")
    assert response.status_code == 303
    assert db.session.scalars(select(Annex.filename)).one() == shown
    assert shown in text_of(client.get(response.location).get_data(as_text=True))
