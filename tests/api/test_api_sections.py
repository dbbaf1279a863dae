"""GET/PUT /api/v1/consortia/<slug>/sections/<code>: the stable contract of a section's texts."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.auth.services import create_token
from app.consortia.models import Consortium, Partner, PartnerStatus, Role
from app.consortia.services import partner_by_code
from app.extensions import db
from app.sections.models import RevisionKind, Section, SectionRevision
from app.sections.saving import find_part
from tests.factories import csrf_token, login, make_consortium, make_member, make_user

URL = "/api/v1/consortia/cap-remob-idf/sections"


@pytest.fixture
def consortium() -> Consortium:
    return make_consortium()


@pytest.fixture
def coordinator_client(client: FlaskClient, consortium: Consortium) -> FlaskClient:
    make_member(consortium, Role.COORDINATOR, email="coordination@exemple.fr")
    login(client, "coordination@exemple.fr")
    client.environ_base["HTTP_X_CSRFTOKEN"] = csrf_token(client)
    return client


def section(consortium: Consortium, code: str) -> Section:
    found = db.session.scalar(
        select(Section).where(Section.consortium_id == consortium.id, Section.code == code)
    )
    assert found is not None
    return found


def partner(consortium: Consortium, code: str) -> Partner:
    found = partner_by_code(consortium, code)
    assert found is not None
    return found


def revision_count() -> int:
    return db.session.scalar(select(func.count(SectionRevision.id))) or 0


def put(client: FlaskClient, code: str, body: Any, query: str = "", **kwargs: Any) -> Any:
    return client.put(f"{URL}/{code}{query}", json=body, **kwargs)


def test_get_returns_the_contract_with_revision_zero_for_an_unwritten_text(
    coordinator_client: FlaskClient, consortium: Consortium
) -> None:
    body = coordinator_client.get(f"{URL}/innovation").get_json()
    assert body["code"] == "innovation"
    assert body["title"] == section(consortium, "innovation").title
    assert body["status"] == "todo"
    assert body["max_chars"] == 4000
    assert body["shared"] == {"content": "", "revision": 0, "chars": 0}
    assert body["partners"] == {}


def test_get_lists_each_active_partners_part(coordinator_client: FlaskClient, consortium: Consortium) -> None:
    body = coordinator_client.get(f"{URL}/role_membre").get_json()
    assert body["shared"] is None
    sevran = partner(consortium, "plie-sevran")
    part = find_part(section(consortium, "role_membre"), sevran)
    assert part is not None
    assert part.head_revision is not None
    entry = body["partners"][str(sevran.id)]
    assert entry["revision"] == part.version >= 1
    assert entry["content"] == part.head_revision.content
    assert entry["chars"] > 0
    assert len(body["partners"]) == 12


def test_a_reader_may_get_but_a_stranger_gets_404(client: FlaskClient, consortium: Consortium) -> None:
    make_member(consortium, Role.READER, "plie-sevran", email="lecteur@exemple.fr")
    make_user("inconnu@exemple.fr")
    login(client, "lecteur@exemple.fr")
    assert client.get(f"{URL}/innovation").status_code == 200
    client.post("/deconnexion", headers={"X-CSRFToken": csrf_token(client)})
    login(client, "inconnu@exemple.fr")
    assert client.get(f"{URL}/innovation").status_code == 404


def test_unknown_and_foreign_sections_are_404(coordinator_client: FlaskClient) -> None:
    make_consortium(slug="autre-consortium")
    response = coordinator_client.get(f"{URL}/nexiste-pas")
    assert response.status_code == 404
    assert "chapitre" in response.get_json()["message"]
    assert coordinator_client.get("/api/v1/consortia/autre-consortium/sections/innovation").status_code == 404


def test_put_saves_and_returns_the_sanitised_text(
    coordinator_client: FlaskClient, consortium: Consortium
) -> None:
    response = put(
        coordinator_client, "innovation", {"content": "<p>Bonjour<script>x</script></p>", "base_revision": 0}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {"revision": 1, "merged": False, "content": "<p>Bonjour</p>"}
    body = coordinator_client.get(f"{URL}/innovation").get_json()
    assert body["shared"] == {"content": "<p>Bonjour</p>", "revision": 1, "chars": 7}


def test_put_merges_a_stale_save_of_another_paragraph(coordinator_client: FlaskClient) -> None:
    put(coordinator_client, "innovation", {"content": "<p>un</p><p>deux</p>", "base_revision": 0})
    put(coordinator_client, "innovation", {"content": "<p>UN</p><p>deux</p>", "base_revision": 1})
    response = put(coordinator_client, "innovation", {"content": "<p>un</p><p>DEUX</p>", "base_revision": 1})
    assert response.get_json() == {"revision": 3, "merged": True, "content": "<p>UN</p><p>DEUX</p>"}


def test_put_conflict_answers_409_with_the_current_text(coordinator_client: FlaskClient) -> None:
    put(coordinator_client, "innovation", {"content": "<p>un</p>", "base_revision": 0})
    put(coordinator_client, "innovation", {"content": "<p>un !</p>", "base_revision": 1})
    response = put(coordinator_client, "innovation", {"content": "<p>un ?</p>", "base_revision": 1})
    assert response.status_code == 409
    body = response.get_json()
    assert body["error"] == "conflict"
    assert (body["current_revision"], body["current_content"], body["conflict_copy_revision"]) == (
        3,
        "<p>un !</p>",
        3,
    )
    assert "conservé" in body["message"]
    kept = db.session.scalar(select(SectionRevision).where(SectionRevision.number == 3))
    assert kept is not None
    assert kept.kind is RevisionKind.CONFLICT_COPY
    assert kept.content == "<p>un ?</p>"


def test_double_submit_is_a_no_op(coordinator_client: FlaskClient, consortium: Consortium) -> None:
    first = put(coordinator_client, "innovation", {"content": "<p>un</p>", "base_revision": 0})
    again = put(coordinator_client, "innovation", {"content": "<p>un</p>", "base_revision": 0})
    assert first.get_json() == again.get_json() == {"revision": 1, "merged": False, "content": "<p>un</p>"}
    part = find_part(section(consortium, "innovation"), None)
    assert part is not None
    assert (
        db.session.scalar(select(func.count(SectionRevision.id)).where(SectionRevision.part_id == part.id))
        == 1
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"content": "<p>a</p>"}, "base_revision"),
        ({"content": "<p>a</p>", "base_revision": "1"}, "base_revision"),
        ({"content": "<p>a</p>", "base_revision": 1.0}, "base_revision"),
        ({"content": "<p>a</p>", "base_revision": True}, "base_revision"),
        ({"content": "<p>a</p>", "base_revision": -1}, "base_revision"),
        ({"base_revision": 0}, "content"),
        ({"content": ["<p>a</p>"], "base_revision": 0}, "content"),
        ({"content": None, "base_revision": 0}, "content"),
        ({"content": "<p>a\u0000b</p>", "base_revision": 0}, "caractère nul"),
        ({"content": "x" * 1_000_000, "base_revision": 0}, "taille maximale"),
        ({"content": "<p>" + "a" * 200_001 + "</p>", "base_revision": 0}, "taille maximale"),
        (["pas", "un", "objet"], "objet JSON"),
    ],
)
def test_invalid_input_is_422_with_a_french_message_and_saves_nothing(
    coordinator_client: FlaskClient, body: Any, message: str
) -> None:
    before = revision_count()
    response = put(coordinator_client, "innovation", body)
    assert response.status_code == 422
    assert message in response.get_json()["message"]
    assert revision_count() == before


def test_a_body_that_is_not_json_is_422(coordinator_client: FlaskClient) -> None:
    response = coordinator_client.put(f"{URL}/innovation", data="content=x", content_type="text/plain")
    assert response.status_code == 422


def test_contributor_writing_another_partners_part_gets_403_and_nothing_is_saved(
    client: FlaskClient, consortium: Consortium
) -> None:
    make_member(consortium, Role.CONTRIBUTOR, "plie-sevran", email="contrib@exemple.fr")
    login(client, "contrib@exemple.fr")
    client.environ_base["HTTP_X_CSRFTOKEN"] = csrf_token(client)
    other = partner(consortium, "urtie-idf")
    before = revision_count()
    response = put(
        client, "role_membre", {"content": "<p>intrus</p>", "base_revision": 1}, f"?partner={other.id}"
    )
    assert response.status_code == 403
    assert "rôle" in response.get_json()["message"]
    assert revision_count() == before
    own = partner(consortium, "plie-sevran")
    part = find_part(section(consortium, "role_membre"), own)
    assert part is not None
    response = put(
        client,
        "role_membre",
        {"content": "<p>à nous</p>", "base_revision": part.version},
        f"?partner={own.id}",
    )
    assert response.status_code == 200
    assert put(client, "innovation", {"content": "<p>commun</p>", "base_revision": 0}).status_code == 403


@pytest.mark.parametrize("query", ["?partner=999999", "?partner=abc", "?partner=-1"])
def test_an_unknown_partner_is_404(coordinator_client: FlaskClient, query: str) -> None:
    assert (
        put(coordinator_client, "role_membre", {"content": "<p>a</p>", "base_revision": 0}, query).status_code
        == 404
    )


def test_a_partner_of_another_consortium_is_404(coordinator_client: FlaskClient) -> None:
    other = make_consortium(slug="autre-consortium")
    foreign = partner(other, "plie-sevran")
    response = put(
        coordinator_client,
        "role_membre",
        {"content": "<p>a</p>", "base_revision": 0},
        f"?partner={foreign.id}",
    )
    assert response.status_code == 404


def test_without_the_csrf_header_nothing_is_saved_and_a_fresh_token_comes_back(
    coordinator_client: FlaskClient,
) -> None:
    del coordinator_client.environ_base["HTTP_X_CSRFTOKEN"]
    before = revision_count()
    response = put(
        coordinator_client, "innovation", {"content": "<p>deux heures de travail</p>", "base_revision": 0}
    )
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "csrf"
    assert "jeton" in body["message"]
    assert body["csrf_token"]
    assert revision_count() == before
    retry = put(
        coordinator_client,
        "innovation",
        {"content": "<p>deux heures de travail</p>", "base_revision": 0},
        headers={"X-CSRFToken": body["csrf_token"]},
    )
    assert retry.status_code == 200
    assert retry.get_json()["content"] == "<p>deux heures de travail</p>"


def test_an_expired_csrf_token_after_hours_of_writing_can_be_renewed(
    app: Flask, coordinator_client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "WTF_CSRF_TIME_LIMIT", -1)  # every token is already too old
    body = {"content": "<p>Texte écrit pendant deux heures.</p>", "base_revision": 0}
    response = put(coordinator_client, "innovation", body)
    assert response.status_code == 400
    assert response.get_json()["error"] == "csrf"
    monkeypatch.setitem(app.config, "WTF_CSRF_TIME_LIMIT", 8 * 3600)
    retry = put(
        coordinator_client, "innovation", body, headers={"X-CSRFToken": response.get_json()["csrf_token"]}
    )
    assert retry.status_code == 200


def test_a_bearer_token_needs_no_cookie_nor_csrf(app: Flask, consortium: Consortium) -> None:
    user = make_member(consortium, Role.COORDINATOR, email="robot@exemple.fr")
    token = create_token(user)
    db.session.commit()
    anonymous = app.test_client()
    response = anonymous.put(
        f"{URL}/innovation",
        json={"content": "<p>par jeton</p>", "base_revision": 0},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert (
        anonymous.get(f"{URL}/innovation", headers={"Authorization": f"Bearer {token}"}).get_json()["shared"][
            "revision"
        ]
        == 1
    )


def test_an_anonymous_get_is_401(client: FlaskClient, consortium: Consortium) -> None:
    assert client.get(f"{URL}/innovation").status_code == 401


def test_a_withdrawn_partners_part_is_403_and_nothing_is_saved(
    coordinator_client: FlaskClient, consortium: Consortium
) -> None:
    gone = partner(consortium, "plie-sevran")
    gone.status = PartnerStatus.WITHDRAWN
    db.session.commit()
    before = revision_count()
    response = put(
        coordinator_client, "role_membre", {"content": "<p>a</p>", "base_revision": 1}, f"?partner={gone.id}"
    )
    assert response.status_code == 403
    assert "retiré" in response.get_json()["message"]
    assert revision_count() == before
