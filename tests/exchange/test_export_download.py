"""GET /consortia/<slug>/export.json: the exchange document as a download, for coordinators and admins."""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient

from app.consortia.models import Role
from tests.conftest import without_csrf
from tests.factories import DEMO_DOCUMENT, login, make_consortium, make_member, make_user

URL = "/consortia/cap-remob-idf/export.json"


def without_exported_at(text: str) -> dict[str, object]:
    data: dict[str, object] = json.loads(text)
    data.pop("exported_at")
    return data


@pytest.mark.parametrize("who", ["coordinator", "admin"])
def test_coordinator_and_admin_download_the_whole_document_as_a_json_attachment(
    client: FlaskClient, who: str
) -> None:
    consortium = make_consortium()
    if who == "admin":
        user = make_user("admin@exemple.fr", admin=True)
    else:
        user = make_member(consortium, Role.COORDINATOR, "urtie-idf")
    login(client, user.email)

    response = client.get(URL)

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == 'attachment; filename="cap-remob-idf.json"'
    assert without_exported_at(response.get_data(as_text=True)) == without_exported_at(
        DEMO_DOCUMENT.read_text(encoding="utf-8")
    )


@pytest.mark.parametrize(
    ("role", "partner"),
    [(Role.CONTRIBUTOR, "plie-sevran"), (Role.READER, None), (Role.DIRECTOR, "plie-sevran")],
)
def test_other_members_are_refused_with_403(client: FlaskClient, role: Role, partner: str | None) -> None:
    consortium = make_consortium()
    member = make_member(consortium, role, partner)
    login(client, member.email)

    response = client.get(URL)

    assert response.status_code == 403
    assert "Seule la coordination peut exporter" in response.get_data(as_text=True)
    assert "attachment" not in response.headers.get("Content-Disposition", "")


def test_people_outside_the_consortium_get_404_like_an_unknown_slug(client: FlaskClient) -> None:
    make_consortium()
    other = make_consortium(slug="autre")
    outsider = make_member(other, Role.COORDINATOR, "urtie-idf")
    login(client, outsider.email)

    hidden = client.get(URL)
    missing = client.get("/consortia/n-existe-pas/export.json")

    assert hidden.status_code == missing.status_code == 404
    assert without_csrf(hidden.get_data(as_text=True)) == without_csrf(missing.get_data(as_text=True))
    assert client.get("/consortia/autre/export.json").status_code == 200


def test_anonymous_visitor_is_sent_to_the_login_page(client: FlaskClient) -> None:
    make_consortium()

    response = client.get(URL)

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/connexion")
