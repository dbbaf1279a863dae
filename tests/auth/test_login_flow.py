"""Logging in and out: sessions, epochs, `next`, CSRF on the login form (rows A5, A7, A8, A10–A13, X6)."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from itsdangerous.timed import TimestampSigner
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from app.auth import services as accounts
from app.auth.models import LoginFailure
from app.consortia.models import Role, RoleGrant
from app.extensions import db
from tests.factories import PASSWORD, csrf_token, login, make_consortium, make_member, make_user

COOKIE = "consortio_session"
WRONG = "pas-le-bon-mot-de-passe"
GENERIC_REFUSAL = "Adresse e-mail ou mot de passe incorrect."


def form_token(page: TestResponse) -> str:
    """The CSRF token of the login form on a rendered page."""
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True))
    assert match, "the login form carries a CSRF token"
    return match.group(1)


def field_value(page: TestResponse, name: str) -> str | None:
    """The value an input of the page holds, unescaped (None if the input has no value)."""
    text = page.get_data(as_text=True)
    tag = re.search(rf'<input[^>]*\bname="{name}"[^>]*>', text)
    assert tag, f"the page has an input {name}"
    value = re.search(r'\bvalue="([^"]*)"', tag.group(0))
    return html.unescape(value.group(1)) if value else None


def alerts(page: TestResponse) -> list[str]:
    """The texts of the error alerts of a page."""
    found = re.findall(
        r'<div class="alert alert-danger" role="alert">(.*?)</div>', page.get_data(as_text=True)
    )
    return [html.unescape(text) for text in found]


def post_login(client: FlaskClient, email: str, password: str, **extra: str) -> TestResponse:
    """Send the login form as a browser would, with the token of a freshly loaded form."""
    token = form_token(client.get("/connexion"))
    return client.post(
        "/connexion", data={"email": email, "password": password, "csrf_token": token, **extra}
    )


def is_logged_in(client: FlaskClient) -> bool:
    """Whether the dashboard opens (rather than sending to the login page)."""
    response = client.get("/")
    if response.status_code == 302:
        assert response.headers["Location"].startswith("/connexion")
        return False
    assert "Mes consortiums" in response.get_data(as_text=True)
    return True


def copy_of_cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    return cookie.value


def other_browser(client: FlaskClient, cookie: str) -> FlaskClient:
    """A second client holding a copy of the session cookie (as a thief would)."""
    thief = client.application.test_client()
    thief.set_cookie(COOKIE, cookie)
    return thief


def failures() -> int:
    return db.session.scalar(select(func.count()).select_from(LoginFailure)) or 0


# --- logging in ------------------------------------------------------------------------------


def test_right_password_opens_the_dashboard(client: FlaskClient) -> None:
    user = make_user("anne@exemple.fr", name="Anne Martin")
    response = post_login(client, "anne@exemple.fr", PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "Mes consortiums" in page
    assert "Anne Martin" in page
    db.session.refresh(user)
    assert user.last_login_at is not None


def test_email_is_recognised_whatever_its_case_and_surrounding_spaces(client: FlaskClient) -> None:
    make_user("anne@exemple.fr")
    response = post_login(client, "  Anne@EXEMPLE.fr ", PASSWORD)
    assert response.headers["Location"] == "/"
    assert is_logged_in(client)


def test_login_page_sends_a_logged_in_user_to_the_dashboard(client: FlaskClient) -> None:
    make_user()
    login(client, "personne@exemple.fr")
    response = client.get("/connexion")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_unknown_user_and_wrong_password_get_the_same_answer(client: FlaskClient) -> None:
    make_user("anne@exemple.fr")
    unknown = post_login(client, "personne-inconnue@exemple.fr", WRONG)
    wrong = post_login(client, "anne@exemple.fr", WRONG)
    assert unknown.status_code == wrong.status_code == 422
    assert alerts(unknown) == alerts(wrong) == [GENERIC_REFUSAL]
    assert not is_logged_in(client)


def test_inactive_account_with_right_password_gets_the_generic_refusal(client: FlaskClient) -> None:
    user = make_user("anne@exemple.fr")
    accounts.deactivate(user)
    response = post_login(client, "anne@exemple.fr", PASSWORD)
    assert response.status_code == 422
    assert alerts(response) == [GENERIC_REFUSAL]
    assert not is_logged_in(client)


@pytest.mark.parametrize("case", ["unknown", "wrong password", "no password yet", "inactive"])
def test_every_refusal_runs_one_password_hash_check(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    """Comparable timing: an unknown address costs the same hash check as a wrong password."""
    make_user("anne@exemple.fr")
    invited = accounts.create_user("invite@exemple.fr", name="Invité", password=None)
    inactive = make_user("parti@exemple.fr")
    accounts.deactivate(inactive)
    db.session.commit()
    email, password = {
        "unknown": ("inconnu@exemple.fr", WRONG),
        "wrong password": ("anne@exemple.fr", WRONG),
        "no password yet": (invited.email, WRONG),
        "inactive": ("parti@exemple.fr", PASSWORD),
    }[case]
    checks: list[str] = []
    real_check: Callable[[str, str], bool] = accounts.check_password_hash

    def counting_check(stored: str, given: str) -> bool:
        checks.append(stored)
        return real_check(stored, given)

    monkeypatch.setattr(accounts, "check_password_hash", counting_check)
    response = post_login(client, email, password)
    assert alerts(response) == [GENERIC_REFUSAL]
    assert len(checks) == 1
    assert checks[0].startswith("scrypt:"), "a real hash of the same method, not a shortcut"


def test_refused_login_keeps_the_email_and_clears_the_password(client: FlaskClient) -> None:
    make_user("anne@exemple.fr")
    response = post_login(client, "anne@exemple.fr", WRONG)
    assert field_value(response, "email") == "anne@exemple.fr"
    assert field_value(response, "password") in (None, "")


def test_empty_fields_are_explained_in_french(client: FlaskClient) -> None:
    response = post_login(client, "", "")
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Indiquez votre adresse e-mail." in text
    assert "Indiquez votre mot de passe." in text
    assert failures() == 0


def test_extra_fields_on_the_login_form_change_nothing(client: FlaskClient) -> None:
    """A5: `is_admin`, `role`, `consortium_id`... are not fields of the form: ignored."""
    consortium = make_consortium()
    user = make_user("anne@exemple.fr")
    response = post_login(
        client,
        "anne@exemple.fr",
        PASSWORD,
        is_admin="1",
        role=Role.COORDINATOR.value,
        consortium_id=str(consortium.id),
        organisation_id="1",
        session_epoch="99",
        active="0",
    )
    assert response.headers["Location"] == "/"
    db.session.refresh(user)
    assert (user.is_admin, user.active, user.session_epoch) == (False, True, 0)
    assert db.session.scalar(select(func.count()).select_from(RoleGrant)) == 0
    assert "Vous ne participez encore à aucun consortium" in client.get("/").get_data(as_text=True)


def test_nul_byte_in_the_login_form_is_refused_before_the_database(client: FlaskClient) -> None:
    """X6: PostgreSQL would reject it and SQLite store it; both answer 400 and count nothing."""
    make_user("anne@exemple.fr")
    response = post_login(client, "anne\x00@exemple.fr", WRONG)
    assert response.status_code == 400
    assert "caractère nul" in response.get_data(as_text=True)
    assert failures() == 0


# --- session fixation and the epoch ---------------------------------------------------------------


def test_login_starts_a_fresh_session(client: FlaskClient) -> None:
    """A8: whatever the session held before the login (planted or not) is gone after it."""
    make_user("anne@exemple.fr")
    client.get("/connexion")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
        raw_token_before = session["csrf_token"]
    post_login(client, "anne@exemple.fr", PASSWORD)
    client.get("/")
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["csrf_token"] != raw_token_before
        assert session["_user_id"].endswith(":0")


def test_logout_invalidates_copied_session_cookie(client: FlaskClient) -> None:
    """A7: a copy of the cookie taken while logged in is useless after logging out."""
    make_user("anne@exemple.fr")
    login(client, "anne@exemple.fr")
    stolen = copy_of_cookie(client)
    assert is_logged_in(other_browser(client, stolen))

    response = client.post("/deconnexion", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 302
    assert response.headers["Location"] == "/connexion"
    assert "Vous êtes déconnecté." in client.get("/connexion").get_data(as_text=True)

    assert not is_logged_in(client)
    assert not is_logged_in(other_browser(client, stolen))


def test_logout_ends_the_other_sessions_of_the_same_person(client: FlaskClient) -> None:
    make_user("anne@exemple.fr")
    laptop = client
    phone = client.application.test_client()
    login(laptop, "anne@exemple.fr")
    login(phone, "anne@exemple.fr")
    laptop.post("/deconnexion", data={"csrf_token": csrf_token(laptop)})
    assert not is_logged_in(phone)


def test_password_change_invalidates_copied_session_cookie(client: FlaskClient) -> None:
    user = make_user("anne@exemple.fr")
    login(client, "anne@exemple.fr")
    stolen = copy_of_cookie(client)
    accounts.set_password(user, "un-tout-nouveau-mot-de-passe")
    db.session.commit()
    assert not is_logged_in(other_browser(client, stolen))
    assert post_login(client, "anne@exemple.fr", "un-tout-nouveau-mot-de-passe").headers["Location"] == "/"


def test_deactivation_invalidates_copied_session_cookie(client: FlaskClient) -> None:
    user = make_user("anne@exemple.fr")
    login(client, "anne@exemple.fr")
    stolen = copy_of_cookie(client)
    accounts.deactivate(user)
    db.session.commit()
    assert not is_logged_in(client)
    assert not is_logged_in(other_browser(client, stolen))


def test_reactivated_account_does_not_revive_old_cookies(client: FlaskClient) -> None:
    user = make_user("anne@exemple.fr")
    login(client, "anne@exemple.fr")
    stolen = copy_of_cookie(client)
    accounts.deactivate(user)
    user.active = True
    db.session.commit()
    assert not is_logged_in(other_browser(client, stolen))


def test_logout_is_only_by_post(client: FlaskClient) -> None:
    user = make_user("anne@exemple.fr")
    login(client, "anne@exemple.fr")
    response = client.get("/deconnexion")
    assert response.status_code == 405
    assert "Action impossible" in response.get_data(as_text=True)
    assert is_logged_in(client)
    db.session.refresh(user)
    assert user.session_epoch == 0


def test_logout_without_csrf_token_is_refused_and_keeps_the_session(client: FlaskClient) -> None:
    """A12: a forged logout (no token) changes nothing."""
    user = make_user("anne@exemple.fr")
    login(client, "anne@exemple.fr")
    response = client.post("/deconnexion")
    assert response.status_code == 400
    assert "rien n'a été enregistré" in html.unescape(response.get_data(as_text=True))
    assert is_logged_in(client)
    db.session.refresh(user)
    assert user.session_epoch == 0


# --- where to go after logging in ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "https:evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        "%2F%2Fevil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        " //evil.example",
        "",
    ],
)
def test_login_never_redirects_outside_the_site(client: FlaskClient, target: str) -> None:
    """A11: anything but a local path sends to the dashboard."""
    make_user("anne@exemple.fr")
    response = post_login(client, "anne@exemple.fr", PASSWORD, next=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_encoded_double_slash_in_the_query_string_goes_to_the_dashboard(client: FlaskClient) -> None:
    make_user("anne@exemple.fr")
    page = client.get("/connexion?next=%2F%2Fevil.example")
    carried = field_value(page, "next")
    assert carried == "//evil.example"
    response = client.post(
        "/connexion",
        data={
            "email": "anne@exemple.fr",
            "password": PASSWORD,
            "next": carried,
            "csrf_token": form_token(page),
        },
    )
    assert response.headers["Location"] == "/"


def test_visitor_sent_to_login_comes_back_to_the_page_asked_for(client: FlaskClient) -> None:
    consortium = make_consortium()
    make_member(consortium, Role.READER, email="lecteur@exemple.fr")
    asked = client.get(f"/consortia/{consortium.slug}")
    assert asked.status_code == 302
    assert asked.headers["Location"] == f"/connexion?next=/consortia/{consortium.slug}"

    page = client.get(asked.headers["Location"])
    assert "Connectez-vous pour accéder à cette page." in page.get_data(as_text=True)
    response = client.post(
        "/connexion",
        data={
            "email": "lecteur@exemple.fr",
            "password": PASSWORD,
            "next": field_value(page, "next") or "",
            "csrf_token": form_token(page),
        },
    )
    assert response.headers["Location"] == f"/consortia/{consortium.slug}"


# --- CSRF on the login form (A12, A13) -------------------------------------------------------------------


def resend_with_token(client: FlaskClient, page: TestResponse, **data: str) -> TestResponse:
    return client.post("/connexion", data={**data, "csrf_token": form_token(page)})


def test_login_without_token_keeps_the_email_and_offers_a_fresh_token(client: FlaskClient) -> None:
    make_user("anne@exemple.fr")
    client.get("/connexion")
    response = client.post("/connexion", data={"email": "anne@exemple.fr", "password": PASSWORD})
    assert response.status_code == 400
    assert alerts(response) == ["Votre session a expiré. Vos saisies sont conservées : validez à nouveau."]
    assert field_value(response, "email") == "anne@exemple.fr"
    assert not is_logged_in(client)
    assert failures() == 0

    again = resend_with_token(client, response, email="anne@exemple.fr", password=PASSWORD)
    assert again.headers["Location"] == "/"


def test_login_with_an_expired_token_is_rerendered_with_a_fresh_one(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A13: the form was opened long ago; the e-mail and `next` survive, the new token works."""
    make_user("anne@exemple.fr")
    hours_ago = int(time.time()) - client.application.config["WTF_CSRF_TIME_LIMIT"] - 3600
    with monkeypatch.context() as patch:
        patch.setattr(TimestampSigner, "get_timestamp", lambda self: hours_ago)
        old_page = client.get("/connexion?next=/consortia/x")
    response = resend_with_token(
        client, old_page, email="anne@exemple.fr", password=PASSWORD, next="/consortia/x"
    )
    assert response.status_code == 400
    assert alerts(response) == ["Votre session a expiré. Vos saisies sont conservées : validez à nouveau."]
    assert field_value(response, "email") == "anne@exemple.fr"
    assert field_value(response, "next") == "/consortia/x"
    assert form_token(response) != form_token(old_page)

    again = resend_with_token(
        client, response, email="anne@exemple.fr", password=PASSWORD, next="/consortia/x"
    )
    assert again.headers["Location"] == "/consortia/x"


def test_login_with_a_forged_token_is_refused(client: FlaskClient) -> None:
    make_user("anne@exemple.fr")
    client.get("/connexion")
    response = client.post(
        "/connexion", data={"email": "anne@exemple.fr", "password": PASSWORD, "csrf_token": "forged.token"}
    )
    assert response.status_code == 400
    assert not is_logged_in(client)


def test_login_from_a_foreign_origin_is_refused(client: FlaskClient) -> None:
    user = make_user("anne@exemple.fr")
    token = form_token(client.get("/connexion"))
    response = client.post(
        "/connexion",
        data={"email": "anne@exemple.fr", "password": PASSWORD, "csrf_token": token},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 400
    assert "Requête refusée : elle ne vient pas de Consortio." in html.unescape(
        response.get_data(as_text=True)
    )
    assert not is_logged_in(client)
    db.session.refresh(user)
    assert user.last_login_at is None
    assert failures() == 0


def test_login_from_the_site_itself_passes_the_origin_check(client: FlaskClient) -> None:
    make_user("anne@exemple.fr")
    token = form_token(client.get("/connexion"))
    response = client.post(
        "/connexion",
        data={"email": "anne@exemple.fr", "password": PASSWORD, "csrf_token": token},
        headers={"Origin": "http://localhost"},
    )
    assert response.headers["Location"] == "/"
