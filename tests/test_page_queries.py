"""Every main page of a consortium runs as many queries for 60 partners as for 3, its header included."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.factories import login, make_consortium, make_user

PAGES = [
    "/consortia/{slug}",
    "/consortia/{slug}/plan-de-financement",
    "/consortia/{slug}/redaction",
    "/consortia/{slug}/redaction/diagnostic",
    "/consortia/{slug}/membres",
    "/consortia/{slug}/membres/urtie-idf/budget",
    "/consortia/{slug}/membres/urtie-idf/indicateurs",
    "/consortia/{slug}/membres/urtie-idf/personnel",
    "/consortia/{slug}/suivi",
    "/consortia/{slug}/dossier",
    "/consortia/{slug}/activite",
    "/consortia/{slug}/signatures",
    "/consortia/{slug}/annexes",
]


@pytest.mark.parametrize("path", PAGES)
def test_a_page_runs_as_many_queries_for_60_partners_as_for_3(
    client: FlaskClient, count_queries: Any, path: str
) -> None:
    make_user("admin@exemple.fr", admin=True)
    login(client, "admin@exemple.fr")
    statements: dict[int, int] = {}
    for partners in (3, 60):
        url = path.format(slug=make_consortium(partners, slug=f"{partners}-membres").slug)
        client.get(url)  # warm: the first request fills the per-process caches
        count_queries.statements.clear()
        response = client.get(url)
        assert response.status_code == 200, url
        statements[partners] = len(count_queries.statements)
    assert statements[60] == statements[3], statements
