"""Factories: accounts, consortia built from the demo document (any number of partners), logins."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from app.auth import services as accounts
from app.auth.models import User
from app.consortia.models import Consortium, Role
from app.consortia.services import grant_role, partner_by_code
from app.exchange.importer import import_document
from app.exchange.validation import parse_document
from app.extensions import db

PASSWORD = "mot-de-passe-de-test"
# The project's own exchange document (the demo consortium `seed-demo` loads): every fixture is built from it.
DEMO_DOCUMENT = Path(__file__).resolve().parents[1] / "app" / "exchange" / "demo-consortium.json"


def demo_data(
    partners: int | None = None, *, slug: str | None = None, path: Path = DEMO_DOCUMENT
) -> dict[str, Any]:
    """The demo exchange document as a dict, cut or extended to `partners` partners."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if slug:
        data["consortium"]["slug"] = slug
    if partners is not None:
        source = data["partners"]
        result = source[:partners]
        for number in range(len(result), partners):
            twin = copy.deepcopy(source[1 + number % (len(source) - 1)])
            twin["id"] = f"{twin['id']}-{number}"
            twin["name"] = f"{twin['name']} ({number})"
            twin["siret"] = None
            twin["sign_off"] = None
            result.append(twin)
        data["partners"] = result
    return data


def make_consortium(
    partners: int | None = None, *, slug: str | None = None, path: Path = DEMO_DOCUMENT
) -> Consortium:
    """A consortium imported from the demo document, committed."""
    consortium = import_document(parse_document(demo_data(partners, slug=slug, path=path)))
    db.session.commit()
    return consortium


def make_user(
    email: str = "personne@exemple.fr", *, name: str = "Personne Test", admin: bool = False
) -> User:
    """An account with the test password, committed."""
    user = accounts.create_user(email, name=name, password=PASSWORD, is_admin=admin)
    db.session.commit()
    return user


def make_member(
    consortium: Consortium, role: Role, partner_code: str | None = None, *, email: str | None = None
) -> User:
    """An account holding `role` in the consortium (for `partner_code` when given), committed."""
    user = make_user(email or f"{role.value}-{partner_code or 'x'}@exemple.fr", name=f"{role.value} test")
    partner = partner_by_code(consortium, partner_code) if partner_code else None
    grant_role(user, consortium, role, partner)
    db.session.commit()
    return user


def login(client: FlaskClient, email: str, password: str = PASSWORD) -> None:
    """Log in through the login form, with its CSRF token."""
    page = client.get("/connexion")
    token = _csrf_from(page.get_data(as_text=True))
    response = client.post("/connexion", data={"email": email, "password": password, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)


def _csrf_from(html: str) -> str:
    marker = 'name="csrf_token" type="hidden" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def csrf_token(client: FlaskClient, path: str = "/") -> str:
    """The CSRF token of a page, for posting forms and buttons."""
    html = client.get(path).get_data(as_text=True)
    marker = 'name="csrf-token" content="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]
