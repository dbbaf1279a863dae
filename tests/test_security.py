"""The request guards: login by default, CSRF and origin, NUL bytes, tenancy, roles (A1, A4, A6, A12, X6)."""

from __future__ import annotations

import html
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, jsonify
from flask.testing import FlaskClient
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from app import create_app
from app.audit import AuditEvent
from app.auth import services as accounts
from app.consortia.models import Role, RoleGrant
from app.extensions import db
from app.security import is_safe_next, public, token_authenticated
from config import TestConfig
from tests.conftest import without_csrf
from tests.factories import csrf_token, login, make_consortium, make_member, make_user

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
PLACEHOLDERS = {"int": 1, "integer": 1, "float": 1.5, "uuid": uuid.UUID(int=1), "path": "x/y", "any": None}


def placeholder_url(rule: Rule) -> str:
    """The rule's URL with a placeholder for each argument (`x`, `1`, ...)."""
    values: dict[str, Any] = {}
    for argument in rule.arguments:
        converter = type(rule._converters[argument]).__name__.removesuffix("Converter").lower()
        values[argument] = PLACEHOLDERS.get(converter) or "x"
        if converter == "any":
            values[argument] = rule._converters[argument].items[0]  # type: ignore[attr-defined]
    built = rule.build(values, append_unknown=False)
    assert built is not None, rule.rule
    return built[1]


def body(response: TestResponse) -> str:
    return html.unescape(response.get_data(as_text=True))


def audit_events() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent)) or 0


# --- login by default -------------------------------------------------------------------------------------


def test_every_endpoint_is_public_by_declaration_or_refuses_anonymous_visitors(
    app: Flask, client: FlaskClient
) -> None:
    """Walks the whole URL map: a new view without a guard fails here."""
    token = csrf_token(client, "/connexion")
    unguarded: list[str] = []
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":  # files of static/, served before any guard by design
            continue
        if getattr(app.view_functions[rule.endpoint], "is_public", False):
            continue
        url = placeholder_url(rule)
        is_api = url.startswith("/api/")
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            data = {"csrf_token": token} if method in UNSAFE else None
            response = client.open(url, method=method, data=data)
            checked += 1
            if is_api:
                guarded = response.status_code == 401 and response.get_json()["error"] == 401
            else:
                guarded = response.status_code in (302, 303) and response.headers["Location"].startswith(
                    "/connexion"
                )
            if not guarded:
                unguarded.append(f"{method} {url} ({rule.endpoint}) → {response.status_code}")
    assert unguarded == []
    assert checked >= 5


def test_only_the_login_page_is_public_among_the_accounts_pages(app: Flask) -> None:
    public_endpoints = {
        endpoint for endpoint, view in app.view_functions.items() if getattr(view, "is_public", False)
    }
    assert "auth.login" in public_endpoints
    assert "auth.logout" not in public_endpoints
    assert not any(endpoint.startswith("api.") for endpoint in public_endpoints)


def test_anonymous_page_visit_goes_to_login_with_a_french_message(client: FlaskClient) -> None:
    response = client.get("/?tri=titre")
    assert response.status_code == 302
    assert response.headers["Location"] == "/connexion?next=/?tri%3Dtitre"
    assert "Connectez-vous pour accéder à cette page." in body(client.get(response.headers["Location"]))


def test_anonymous_api_call_gets_401_json_in_french(client: FlaskClient) -> None:
    consortium = make_consortium()
    response = client.get(f"/api/v1/consortia/{consortium.slug}")
    assert response.status_code == 401
    assert response.get_json() == {
        "error": 401,
        "title": "Connexion requise",
        "message": "Authentification requise.",
    }
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_form_sent_after_the_session_ended_leads_back_to_login(client: FlaskClient) -> None:
    user = make_user("anne@exemple.fr")
    login(client, "anne@exemple.fr")
    token = csrf_token(client)
    accounts.logout(user)  # e.g. logged out from another tab
    db.session.commit()
    response = client.post("/deconnexion", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"] == "/connexion"
    assert "Votre session a pris fin : connectez-vous puis recommencez." in body(client.get("/connexion"))


# --- CSRF and origin (A12) -------------------------------------------------------------------------------


def test_post_without_token_is_refused_in_french_and_changes_nothing(client: FlaskClient) -> None:
    user = make_user("anne@exemple.fr")
    login(client, "anne@exemple.fr")
    response = client.post("/deconnexion")
    assert response.status_code == 400
    text = body(response)
    assert "Le formulaire a expiré ou ne vient pas de Consortio : rien n'a été enregistré." in text
    assert "CSRF" not in text, "no English reason from Flask-WTF"
    db.session.refresh(user)
    assert user.session_epoch == 0


def test_post_with_a_token_of_another_session_is_refused(client: FlaskClient, app: Flask) -> None:
    user = make_user("anne@exemple.fr")
    attacker = app.test_client()
    their_token = csrf_token(attacker, "/connexion")
    login(client, "anne@exemple.fr")
    response = client.post("/deconnexion", data={"csrf_token": their_token})
    assert response.status_code == 400
    db.session.refresh(user)
    assert user.session_epoch == 0


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "http://localhost.evil.example", "http://evil.example/localhost"]
)
def test_post_from_a_foreign_origin_is_refused_even_with_a_token(client: FlaskClient, origin: str) -> None:
    user = make_user("anne@exemple.fr")
    login(client, "anne@exemple.fr")
    response = client.post(
        "/deconnexion", data={"csrf_token": csrf_token(client)}, headers={"Origin": origin}
    )
    assert response.status_code == 400
    assert "Requête refusée : elle ne vient pas de Consortio." in body(response)
    db.session.refresh(user)
    assert user.session_epoch == 0


def test_post_from_the_site_itself_is_accepted(client: FlaskClient) -> None:
    user = make_user("anne@exemple.fr")
    login(client, "anne@exemple.fr")
    response = client.post(
        "/deconnexion", data={"csrf_token": csrf_token(client)}, headers={"Origin": "http://localhost"}
    )
    assert response.headers["Location"] == "/connexion"
    db.session.refresh(user)
    assert user.session_epoch == 1


# --- bearer tokens and CSRF, on an application with a token-authenticated write ----------------------


@pytest.fixture
def probe_app(app: Flask) -> Iterator[Flask]:
    """A separate application on the same database, with views the real one does not have (yet)."""

    class Probe(TestConfig):
        SQLALCHEMY_DATABASE_URI = app.config["SQLALCHEMY_DATABASE_URI"]

    probe = create_app(Probe)

    @probe.post("/api/v1/_probe")
    @token_authenticated
    def api_write() -> Any:
        return jsonify(user=current_user.email)

    yield probe
    with probe.app_context():
        db.session.remove()
        db.engine.dispose()


def test_valid_bearer_token_needs_no_csrf_token(probe_app: Flask) -> None:
    user = make_user("anne@exemple.fr")
    token = accounts.create_token(user)
    db.session.commit()
    response = probe_app.test_client().post("/api/v1/_probe", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.get_json() == {"user": "anne@exemple.fr"}


def test_bogus_bearer_header_does_not_exempt_a_session_from_csrf(probe_app: Flask) -> None:
    """Only a token that authenticated the request skips CSRF; a cookie session always needs it."""
    make_user("anne@exemple.fr")
    db.session.commit()
    browser = probe_app.test_client()
    login(browser, "anne@exemple.fr")
    response = browser.post("/api/v1/_probe", headers={"Authorization": "Bearer cst_nimporte-quoi"})
    assert response.status_code == 400
    assert response.get_json()["error"] == 400


# --- NUL bytes (X6) ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/?q=%00",
        "/?q=ok&q=a%00b",  # the second value of a repeated parameter
        "/?cl%00e=1",  # the name of a parameter
        "/consortia/cap%00remob",
    ],
)
def test_nul_byte_in_a_query_is_refused_in_french(client: FlaskClient, url: str) -> None:
    make_user("anne@exemple.fr")
    login(client, "anne@exemple.fr")
    response = client.get(url)
    assert response.status_code == 400
    assert "La requête contient un caractère nul, refusé." in body(response)


def test_nul_byte_in_an_api_query_gets_400_json(client: FlaskClient) -> None:
    consortium = make_consortium()
    make_member(consortium, Role.READER, email="lecteur@exemple.fr")
    login(client, "lecteur@exemple.fr")
    response = client.get(f"/api/v1/consortia/{consortium.slug}?champ=%00")
    assert response.status_code == 400
    assert response.get_json()["message"] == "La requête contient un caractère nul, refusé."


def test_nul_byte_in_a_form_is_refused_and_changes_nothing(client: FlaskClient) -> None:
    user = make_user("anne@exemple.fr")
    login(client, "anne@exemple.fr")
    response = client.post("/deconnexion", data={"csrf_token": csrf_token(client), "motif": ["ok", "x\x00"]})
    assert response.status_code == 400
    assert "caractère nul" in body(response)
    db.session.refresh(user)
    assert user.session_epoch == 0


# --- tenancy and roles (A1, A4, A6) ----------------------------------------------------------------------


def test_other_consortium_looks_exactly_like_a_missing_one(client: FlaskClient) -> None:
    mine = make_consortium()
    theirs = make_consortium(slug="autre-consortium")
    make_member(mine, Role.COORDINATOR, "urtie-idf", email="coord@exemple.fr")
    login(client, "coord@exemple.fr")

    for path in ["/consortia/{}", "/consortia/{}/export.json"]:
        existing = client.get(path.format(theirs.slug))
        missing = client.get(path.format("n-existe-pas"))
        assert existing.status_code == missing.status_code == 404
        assert "Ce consortium n'existe pas ou vous n'y avez pas accès." in body(existing)
        expected = without_csrf(body(missing)).replace("n-existe-pas", theirs.slug)
        assert without_csrf(body(existing)) == expected

    existing_api = client.get(f"/api/v1/consortia/{theirs.slug}")
    missing_api = client.get("/api/v1/consortia/n-existe-pas")
    assert existing_api.status_code == missing_api.status_code == 404
    assert existing_api.get_json() == missing_api.get_json()
    assert existing_api.get_json()["message"] == "Ce consortium n'existe pas ou vous n'y avez pas accès."
    assert theirs.title not in body(existing) + existing_api.get_data(as_text=True)


def test_other_consortium_is_hidden_from_api_tokens_too(client: FlaskClient) -> None:
    make_consortium()
    theirs = make_consortium(slug="autre-consortium")
    user = make_user("anne@exemple.fr")
    token = accounts.create_token(user)
    db.session.commit()
    response = client.get(f"/api/v1/consortia/{theirs.slug}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("role", "partner"),
    [(Role.READER, None), (Role.CONTRIBUTOR, "plie-sevran"), (Role.DIRECTOR, "plie-sevran")],
)
def test_only_coordination_may_download_the_exchange_file(
    client: FlaskClient, role: Role, partner: str | None
) -> None:
    """A4: a coordinator action called by anyone else is a 403 with a French reason, and no event."""
    consortium = make_consortium()
    member = make_member(consortium, role, partner)
    login(client, member.email)
    assert "Télécharger le fichier d'échange" not in body(client.get(f"/consortia/{consortium.slug}"))
    before = audit_events()
    response = client.get(f"/consortia/{consortium.slug}/export.json")
    assert response.status_code == 403
    assert "Seule la coordination peut exporter le fichier d’échange." in body(response)
    assert "Content-Disposition" not in response.headers
    assert audit_events() == before


@pytest.mark.parametrize("who", ["coordinator", "admin"])
def test_coordination_and_admins_download_the_exchange_file(client: FlaskClient, who: str) -> None:
    consortium = make_consortium()
    if who == "admin":
        make_user("admin@exemple.fr", admin=True)
        login(client, "admin@exemple.fr")
    else:
        login(client, make_member(consortium, Role.COORDINATOR, "urtie-idf").email)
    response = client.get(f"/consortia/{consortium.slug}/export.json")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f'attachment; filename="{consortium.slug}.json"'
    assert response.get_json()["consortium"]["slug"] == consortium.slug


def test_role_revoked_mid_session_is_denied_on_the_next_request(client: FlaskClient) -> None:
    """A6: no cached permission survives the request it was computed in."""
    consortium = make_consortium()
    member = make_member(consortium, Role.READER, email="lecteur@exemple.fr")
    login(client, member.email)
    assert consortium.title in body(client.get(f"/consortia/{consortium.slug}"))
    assert client.get(f"/api/v1/consortia/{consortium.slug}").status_code == 200

    db.session.delete(db.session.scalars(select(RoleGrant).where(RoleGrant.user_id == member.id)).one())
    db.session.commit()
    assert client.get(f"/consortia/{consortium.slug}").status_code == 404
    assert client.get(f"/api/v1/consortia/{consortium.slug}").status_code == 404
    assert consortium.title not in body(client.get("/"))


def test_coordinator_demoted_mid_session_loses_coordinator_actions_at_once(client: FlaskClient) -> None:
    consortium = make_consortium()
    member = make_member(consortium, Role.COORDINATOR, "urtie-idf")
    login(client, member.email)
    assert client.get(f"/consortia/{consortium.slug}/export.json").status_code == 200
    grant = db.session.scalars(select(RoleGrant).where(RoleGrant.user_id == member.id)).one()
    grant.role = Role.READER
    grant.partner = None
    db.session.commit()
    assert client.get(f"/consortia/{consortium.slug}/export.json").status_code == 403


# --- headers and redirect targets ---------------------------------------------------------------------------


def test_pages_carry_the_security_headers(client: FlaskClient) -> None:
    response = client.get("/connexion")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_session_cookie_is_http_only_and_same_site(client: FlaskClient) -> None:
    make_user("anne@exemple.fr")
    login(client, "anne@exemple.fr")
    cookie = client.get_cookie("consortio_session")
    assert cookie is not None
    assert cookie.http_only
    assert cookie.same_site == "Lax"


@pytest.mark.parametrize(
    ("target", "safe"),
    [
        ("/consortia/cap-remob-idf", True),
        ("/?tri=titre", True),
        ("/%2F%2Fevil.example", True),  # a path of this site, however odd
        ("//evil.example", False),
        ("/\\evil.example", False),
        ("https:evil.example", False),
        ("https://evil.example", False),
        ("javascript:alert(1)", False),
        ("%2F%2Fevil.example", False),
        ("/\t/evil.example", False),
        ("/\r\n/evil.example", False),
        ("", False),
        (None, False),
    ],
)
def test_only_local_paths_are_safe_redirect_targets(target: str | None, safe: bool) -> None:
    assert is_safe_next(target) is safe


def test_public_decorator_marks_the_view() -> None:
    @public
    def view() -> str:
        return ""

    assert view.is_public is True  # type: ignore[attr-defined]


def test_reaching_for_another_consortium_is_answered_404_and_logged(client: FlaskClient) -> None:
    mine = make_consortium(3, slug="mon-consortium")
    theirs = make_consortium(3, slug="leur-consortium")
    member = make_member(mine, Role.COORDINATOR, "urtie-idf", email="moi@exemple.fr")
    login(client, member.email)

    foreign = client.get(f"/consortia/{theirs.slug}")
    missing = client.get("/consortia/nexiste-pas")

    assert foreign.status_code == missing.status_code == 404
    assert without_csrf(foreign.get_data(as_text=True)) == without_csrf(missing.get_data(as_text=True))
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "access.denied")).all()
    assert [(e.consortium_id, e.actor_id, e.data["path"]) for e in events] == [
        (theirs.id, member.id, f"/consortia/{theirs.slug}")
    ]
