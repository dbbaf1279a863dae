"""Accounts services: creation rules, passwords, epochs, deactivation, API tokens."""

from __future__ import annotations

import re
import unicodedata

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.auth import services as accounts
from app.auth.models import ApiToken, LoginFailure, User
from app.consortia.models import Role
from app.errors import Invalid
from app.extensions import db
from tests.factories import PASSWORD, make_consortium, make_member, make_user

GENERIC_REFUSAL = "Adresse e-mail ou mot de passe incorrect."


def users() -> int:
    return db.session.scalar(select(func.count()).select_from(User)) or 0


# --- create_user ----------------------------------------------------------------------------------------


def test_new_account_stores_the_address_trimmed_and_in_lower_case() -> None:
    user = accounts.create_user("  Anne.Martin@Exemple.FR ", name="  Anne Martin ", password=PASSWORD)
    assert user.email == "anne.martin@exemple.fr"
    assert user.name == "Anne Martin"
    assert (user.active, user.is_admin, user.session_epoch) == (True, False, 0)


def test_address_already_taken_in_another_case_is_refused() -> None:
    accounts.create_user("anne@exemple.fr", name="Anne", password=PASSWORD)
    with pytest.raises(Invalid, match=re.escape("Un compte existe déjà avec l'adresse anne@exemple.fr.")):
        accounts.create_user("ANNE@Exemple.fr", name="Autre Anne", password=PASSWORD)
    assert users() == 1


def test_address_in_decomposed_unicode_is_the_same_as_composed() -> None:
    """NFC: `é` typed as e + combining accent is the same address as the precomposed `é`."""
    composed = unicodedata.normalize("NFC", "hélène@exemple.fr")
    decomposed = unicodedata.normalize("NFD", "hélène@exemple.fr")
    assert composed != decomposed
    user = accounts.create_user(decomposed, name="Hélène", password=PASSWORD)
    assert user.email == composed
    with pytest.raises(Invalid, match="Un compte existe déjà"):
        accounts.create_user(composed.upper(), name="Hélène bis", password=PASSWORD)
    assert accounts.find_user(decomposed) is user


@pytest.mark.parametrize("address", ["", "anne", "anne@", "@exemple.fr", "anne@exemple", "an ne@exemple.fr"])
def test_malformed_address_is_refused(address: str) -> None:
    with pytest.raises(Invalid, match="Adresse e-mail invalide"):
        accounts.create_user(address, name="Anne", password=PASSWORD)
    assert users() == 0


def test_overlong_address_is_refused() -> None:
    with pytest.raises(Invalid, match="Adresse e-mail invalide"):
        accounts.create_user("a" * 250 + "@exemple.fr", name="Anne", password=PASSWORD)


def test_blank_name_is_refused() -> None:
    with pytest.raises(Invalid, match=re.escape("Le nom est obligatoire.")):
        accounts.create_user("anne@exemple.fr", name="   ", password=PASSWORD)
    assert users() == 0


def test_password_shorter_than_ten_characters_is_refused() -> None:
    with pytest.raises(Invalid, match=re.escape("Le mot de passe doit compter au moins 10 caractères.")):
        accounts.create_user("anne@exemple.fr", name="Anne", password="123456789")
    assert users() == 0
    assert accounts.create_user("anne@exemple.fr", name="Anne", password="1234567890").password_hash


def test_password_longer_than_the_login_form_accepts_is_refused() -> None:
    """A password the login form (1024 characters at most) could never send is refused up front."""
    with pytest.raises(Invalid, match="au plus 1024 caractères"):
        accounts.create_user("anne@exemple.fr", name="Anne", password="x" * 1025)
    assert accounts.create_user("anne@exemple.fr", name="Anne", password="x" * 1024).password_hash


def test_password_is_stored_salted_and_hashed() -> None:
    first = accounts.create_user("anne@exemple.fr", name="Anne", password=PASSWORD)
    second = accounts.create_user("bob@exemple.fr", name="Bob", password=PASSWORD)
    assert first.password_hash
    assert second.password_hash
    assert PASSWORD not in first.password_hash
    assert first.password_hash.startswith("scrypt:")
    assert first.password_hash != second.password_hash


def test_account_without_password_cannot_log_in() -> None:
    invited = accounts.create_user("invite@exemple.fr", name="Invité", password=None)
    assert invited.password_hash is None
    for attempt in ["", PASSWORD, "None"]:
        with pytest.raises(accounts.LoginRefused, match=re.escape(GENERIC_REFUSAL)):
            accounts.authenticate("invite@exemple.fr", attempt, ip="192.0.2.1")


# --- authenticate -----------------------------------------------------------------------------------


def test_authenticate_returns_the_user_and_clears_its_failures() -> None:
    user = make_user("anne@exemple.fr")
    with pytest.raises(accounts.LoginRefused):
        accounts.authenticate("anne@exemple.fr", "mauvais-mot-de-passe", ip="192.0.2.1")
    assert accounts.authenticate("Anne@Exemple.fr", PASSWORD, ip="192.0.2.1") is user
    assert db.session.scalar(select(func.count()).select_from(LoginFailure)) == 0


def test_failed_authentication_is_recorded_with_address_and_ip() -> None:
    with pytest.raises(accounts.LoginRefused, match=re.escape(GENERIC_REFUSAL)):
        accounts.authenticate(" Inconnu@Exemple.fr", "peu importe", ip="192.0.2.1")
    failure = db.session.scalars(select(LoginFailure)).one()
    assert (failure.email, failure.ip) == ("inconnu@exemple.fr", "192.0.2.1")
    assert failure.at.tzinfo is not None


# --- set_password, logout, deactivate -----------------------------------------------------------------------


def test_set_password_replaces_the_password_and_bumps_the_epoch() -> None:
    user = make_user("anne@exemple.fr")
    old_id = user.get_id()
    accounts.set_password(user, "un-tout-nouveau-mot-de-passe")
    assert user.session_epoch == 1
    assert user.get_id() != old_id
    with pytest.raises(accounts.LoginRefused):
        accounts.authenticate("anne@exemple.fr", PASSWORD, ip="192.0.2.1")
    assert accounts.authenticate("anne@exemple.fr", "un-tout-nouveau-mot-de-passe", ip="192.0.2.1") is user


def test_refused_new_password_changes_nothing() -> None:
    user = make_user("anne@exemple.fr")
    old_hash = user.password_hash
    with pytest.raises(Invalid, match="au moins 10 caractères"):
        accounts.set_password(user, "court")
    assert (user.password_hash, user.session_epoch) == (old_hash, 0)


def test_logout_bumps_the_epoch() -> None:
    user = make_user("anne@exemple.fr")
    accounts.logout(user)
    accounts.logout(user)
    assert user.session_epoch == 2
    assert user.get_id() == f"{user.id}:2"


def test_deactivate_locks_the_account_and_bumps_the_epoch() -> None:
    user = make_user("anne@exemple.fr")
    accounts.deactivate(user)
    assert (user.active, user.is_active, user.session_epoch) == (False, False, 1)
    with pytest.raises(accounts.LoginRefused, match=re.escape(GENERIC_REFUSAL)):
        accounts.authenticate("anne@exemple.fr", PASSWORD, ip="192.0.2.1")


# --- API tokens ------------------------------------------------------------------------------------------


def test_token_is_shown_once_and_stored_only_as_its_hash() -> None:
    user = make_user("anne@exemple.fr")
    token = accounts.create_token(user, "script de suivi")
    assert token.startswith("cst_")
    assert len(token) > 40
    row = db.session.scalars(select(ApiToken)).one()
    assert row.token_hash == ApiToken.hash(token)
    assert token not in (row.token_hash, row.label)
    assert (row.user, row.label, row.revoked_at) == (user, "script de suivi", None)
    assert accounts.create_token(user) != token


def api(client: FlaskClient, slug: str, token: str) -> tuple[int, dict[str, object]]:
    response = client.get(f"/api/v1/consortia/{slug}", headers={"Authorization": f"Bearer {token}"})
    return response.status_code, response.get_json()


def test_token_opens_the_api_until_it_is_revoked(client: FlaskClient) -> None:
    consortium = make_consortium()
    user = make_member(consortium, Role.READER)
    token = accounts.create_token(user)
    db.session.commit()
    status, body = api(client, consortium.slug, token)
    assert (status, body["slug"]) == (200, consortium.slug)

    accounts.revoke_token(db.session.scalars(select(ApiToken)).one())
    db.session.commit()
    status, body = api(client, consortium.slug, token)
    assert status == 401
    assert body["message"] == "Authentification requise."


def test_token_of_a_deactivated_account_is_refused(client: FlaskClient) -> None:
    consortium = make_consortium()
    user = make_member(consortium, Role.READER)
    token = accounts.create_token(user)
    accounts.deactivate(user)
    db.session.commit()
    assert api(client, consortium.slug, token)[0] == 401


def test_unknown_or_malformed_token_is_refused(client: FlaskClient) -> None:
    consortium = make_consortium()
    for token in ["cst_inconnu", "", "cst_" + "a" * 43]:
        assert api(client, consortium.slug, token)[0] == 401


def test_token_does_not_open_the_pages(client: FlaskClient) -> None:
    """A token is for scripts calling the API; the pages want a session (and its CSRF protection)."""
    user = make_user("anne@exemple.fr")
    token = accounts.create_token(user)
    db.session.commit()
    response = client.get("/", headers={"Authorization": f"Bearer {token}"})
    # Refused as a script is (a JSON 401), not served, and no session is opened.
    assert response.status_code == 401
    assert "Mes consortiums" not in response.get_data(as_text=True)
    assert client.get_cookie("consortio_session") is None


def test_revoking_twice_keeps_the_first_date() -> None:
    user = make_user("anne@exemple.fr")
    accounts.create_token(user)
    row = db.session.scalars(select(ApiToken)).one()
    accounts.revoke_token(row)
    first = row.revoked_at
    accounts.revoke_token(row)
    assert first is not None
    assert row.revoked_at == first
