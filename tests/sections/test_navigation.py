"""The sections' pages (writing, history, plan) are one blueprint; the tabs still say where one is."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from app.consortia.models import Role
from tests.factories import login, make_consortium, make_member

SLUG = "cap-remob-idf"


def active_tabs(client: FlaskClient, path: str) -> list[str]:
    page = client.get(path)
    assert page.status_code == 200, path
    html = page.get_data(as_text=True)
    start = html.index('<nav aria-label="Pages du consortium"')
    nav = html[start : html.index("</nav>", start)]
    links = re.findall(
        r'<a class="(?:nav-link|dropdown-item|nav-link dropdown-toggle)[^"]*\bactive"[^>]*>([^<]+)<',
        nav,
    )
    return [link.strip() for link in links]


@pytest.mark.parametrize(
    ("path", "active"),
    [
        (f"/consortia/{SLUG}/redaction", ["Rédaction"]),
        (f"/consortia/{SLUG}/redaction/diagnostic", ["Rédaction"]),
        (f"/consortia/{SLUG}/chapitres/diagnostic/historique", ["Rédaction"]),
        (f"/consortia/{SLUG}/chapitres", ["Coordination", "Plan du dossier"]),
    ],
)
def test_the_writing_tab_is_active_on_writing_and_history_not_on_the_plan(
    client: FlaskClient, path: str, active: list[str]
) -> None:
    consortium = make_consortium()
    make_member(consortium, Role.COORDINATOR, "urtie-idf", email="coord@urtie.example")
    login(client, "coord@urtie.example")

    assert active_tabs(client, path) == active
