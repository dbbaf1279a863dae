"""The exchange document for a script: a bearer token on export.json and on /api/v1/.../export."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.audit import AuditEvent, EventKind
from app.consortia.models import Role
from app.extensions import db
from tests.api.test_api_consortium import bearer, token_for
from tests.factories import make_consortium, make_member, make_user

PATHS = ["/consortia/cap-remob-idf/export.json", "/api/v1/consortia/cap-remob-idf/export"]


@pytest.mark.parametrize("path", PATHS)
def test_a_coordinators_token_downloads_the_exchange_document_without_a_session(
    app: Flask, client: FlaskClient, path: str
) -> None:
    consortium = make_consortium()
    coordinator = make_member(consortium, Role.COORDINATOR, "urtie-idf")
    token = token_for(app, coordinator.email)

    response = client.get(path, headers=bearer(token))

    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    document = json.loads(response.get_data(as_text=True))
    assert document["consortium"]["slug"] == "cap-remob-idf"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert client.get_cookie("consortio_session") is None
    logged = db.session.scalars(select(AuditEvent.kind).where(AuditEvent.consortium_id == consortium.id))
    assert EventKind.CONSORTIUM_EXPORTED.value in list(logged)


@pytest.mark.parametrize("path", PATHS)
def test_other_roles_are_refused_and_strangers_get_a_404(app: Flask, client: FlaskClient, path: str) -> None:
    consortium = make_consortium()
    director = make_member(consortium, Role.DIRECTOR, "plie-sevran")
    stranger = make_user("etranger@exemple.fr")

    assert client.get(path, headers=bearer(token_for(app, director.email))).status_code == 403
    hidden = client.get(path, headers=bearer(token_for(app, stranger.email)))
    assert hidden.status_code == 404
    assert "Cap Remobilisation" not in hidden.get_data(as_text=True)


@pytest.mark.parametrize("path", PATHS)
def test_a_wrong_token_gets_a_401_not_the_login_page(client: FlaskClient, path: str) -> None:
    make_consortium()

    response = client.get(path, headers=bearer("pas-un-jeton"))

    assert response.status_code == 401
    assert response.is_json
    assert "Location" not in response.headers
