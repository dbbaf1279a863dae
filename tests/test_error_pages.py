"""French error pages (and JSON errors under /api/): 400, 403, 404, 405, 500, 503."""

from __future__ import annotations

import html
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.exc import OperationalError
from werkzeug.test import TestResponse

from app import create_app
from app.consortia.models import Role
from app.extensions import db
from app.security import public
from config import TestConfig
from tests.factories import login, make_consortium, make_member, make_user

UNEXPECTED = (
    "Une erreur inattendue s'est produite. L'équipe technique est prévenue ; réessayez dans un instant."
)


def body(response: TestResponse) -> str:
    return html.unescape(response.get_data(as_text=True))


def assert_french_page(response: TestResponse, status: int, title: str, sentence: str) -> str:
    """The page uses the base layout, says what happened in French and offers a way back."""
    text = body(response)
    assert response.status_code == status
    assert response.mimetype == "text/html"
    assert '<html lang="fr">' in text
    assert f"<title>{title} · Consortio</title>" in text
    assert f'<h1 class="h3">{title}</h1>' in text
    assert sentence in text
    assert 'class="navbar-brand' in text, "the base layout (header) is there"
    return text


# --- 404 ------------------------------------------------------------------------------------------------


def test_unknown_page_says_so_in_french_and_links_to_login_when_anonymous(client: FlaskClient) -> None:
    text = assert_french_page(
        client.get("/cette-page-n-existe-pas"),
        404,
        "Page introuvable",
        "Cette page n'existe pas, ou vous n'y avez pas accès.",
    )
    assert 'href="/connexion">Aller à la page de connexion</a>' in text


def test_unknown_page_links_back_to_my_consortia_when_logged_in(client: FlaskClient) -> None:
    make_user("anne@exemple.fr")
    login(client, "anne@exemple.fr")
    text = assert_french_page(
        client.get("/cette-page-n-existe-pas"),
        404,
        "Page introuvable",
        "Cette page n'existe pas, ou vous n'y avez pas accès.",
    )
    assert 'href="/">Retour à mes consortiums</a>' in text


def test_missing_consortium_gets_the_french_404_with_its_own_sentence(client: FlaskClient) -> None:
    make_user("anne@exemple.fr")
    login(client, "anne@exemple.fr")
    assert_french_page(
        client.get("/consortia/inconnu"),
        404,
        "Page introuvable",
        "Ce consortium n'existe pas ou vous n'y avez pas accès.",
    )


def test_unknown_api_address_answers_json(client: FlaskClient) -> None:
    response = client.get("/api/v1/rien-ici")
    assert response.status_code == 404
    assert response.get_json() == {
        "error": 404,
        "title": "Page introuvable",
        "message": "Cette page n'existe pas, ou vous n'y avez pas accès.",
    }


def test_client_asking_for_json_gets_json(client: FlaskClient) -> None:
    response = client.get("/cette-page-n-existe-pas", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.get_json()["title"] == "Page introuvable"


# --- 403, 405 ----------------------------------------------------------------------------------------------


def test_forbidden_action_gets_the_french_403_page(client: FlaskClient) -> None:
    consortium = make_consortium()
    login(client, make_member(consortium, Role.READER).email)
    text = assert_french_page(
        client.get(f"/consortia/{consortium.slug}/export.json"),
        403,
        "Accès refusé",
        "Seule la coordination peut exporter le fichier d’échange.",
    )
    assert 'href="/">Retour à mes consortiums</a>' in text


def test_wrong_method_gets_the_french_405_page(client: FlaskClient) -> None:
    make_user("anne@exemple.fr")
    login(client, "anne@exemple.fr")
    assert_french_page(
        client.get("/deconnexion"),
        405,
        "Action impossible",
        "Cette action n'est pas possible à cette adresse.",
    )


def test_request_too_large_gets_the_french_413_page(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(client.application.config, "MAX_CONTENT_LENGTH", 1000)
    assert_french_page(
        client.post("/connexion", data={"email": "x" * 2000}),
        413,
        "Envoi trop volumineux",
        "Le fichier ou le texte envoyé dépasse la taille autorisée.",
    )


# --- 500 and 503, on a separate application that is not in testing mode -------------------------------------


@pytest.fixture
def failing_app(app: Flask) -> Iterator[Flask]:
    """An application as in production (exceptions not propagated), with views that fail."""

    class Production(TestConfig):
        TESTING = False
        SQLALCHEMY_DATABASE_URI = app.config["SQLALCHEMY_DATABASE_URI"]

    failing = create_app(Production)

    @failing.get("/_panne")
    @public
    def page_failure() -> Any:
        raise RuntimeError("panne simulée")

    @failing.get("/api/v1/_panne")
    @public
    def api_failure() -> Any:
        raise RuntimeError("panne simulée")

    @failing.get("/_base-indisponible")
    @public
    def database_failure() -> Any:
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))

    yield failing
    with failing.app_context():
        db.session.remove()
        db.engine.dispose()


def test_unexpected_error_gets_the_french_500_page_and_is_logged(
    failing_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        response = failing_app.test_client().get("/_panne")
    text = assert_french_page(
        response,
        500,
        "Erreur inattendue",
        UNEXPECTED,
    )
    assert "panne simulée" not in text, "no internals shown to the user"
    assert "Traceback" not in text
    logged = [record for record in caplog.records if record.exc_info]
    assert logged, "the team is told: the exception is logged with its traceback"
    assert "panne simulée" in str(logged[0].exc_info[1])  # type: ignore[index]


def test_unexpected_api_error_answers_json(failing_app: Flask) -> None:
    response = failing_app.test_client().get("/api/v1/_panne")
    assert response.status_code == 500
    assert response.get_json() == {
        "error": 500,
        "title": "Erreur inattendue",
        "message": UNEXPECTED,
    }


def test_database_outage_gets_the_french_503_page_and_is_logged(
    failing_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        response = failing_app.test_client().get("/_base-indisponible")
    assert_french_page(
        response,
        503,
        "Service momentanément indisponible",
        "La base de données n'a pas répondu : rien n'a été enregistré. Réessayez dans un instant.",
    )
    assert any(record.exc_info for record in caplog.records)


def test_in_testing_mode_errors_reach_the_test_instead_of_a_500_page(app: Flask) -> None:
    """Test applications show the real traceback rather than swallowing it as a 500 page."""

    class Testing(TestConfig):
        SQLALCHEMY_DATABASE_URI = app.config["SQLALCHEMY_DATABASE_URI"]

    testing = create_app(Testing)

    @testing.get("/_panne")
    @public
    def failure() -> Any:
        raise RuntimeError("panne simulée")

    with pytest.raises(RuntimeError, match="panne simulée"):
        testing.test_client().get("/_panne")
    with testing.app_context():
        db.engine.dispose()
