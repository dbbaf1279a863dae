"""Indicator targets: per year or for the whole project, whole numbers, sub-indicators under their parent."""

from __future__ import annotations

import re
from html import unescape

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from app.audit import AuditEvent
from app.budget.models import WHOLE_PROJECT, IndicatorValue
from app.budget.services import consolidation_of
from app.commitments.forms import InvalidCount, parse_count
from app.consortia.models import Consortium, Partner, Role
from app.consortia.services import partner_by_code
from app.extensions import db
from tests.factories import csrf_token, login, make_consortium, make_member

OWN = "plie-sevran"
URL = f"/consortia/cap-remob-idf/membres/{OWN}/indicateurs"


@pytest.fixture
def consortium() -> Consortium:
    return make_consortium()


@pytest.fixture
def director(client: FlaskClient, consortium: Consortium) -> None:
    make_member(consortium, Role.DIRECTOR, OWN, email="dir@exemple.fr")
    login(client, "dir@exemple.fr")


def partner(consortium: Consortium) -> Partner:
    found = partner_by_code(consortium, OWN)
    assert found is not None
    return found


def text_of(html: str) -> str:
    html = re.sub(r"<(script|style|title)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"[ \t\r\n]+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def form_of(html: str) -> dict[str, str]:
    start = html.index('id="indicators-form"')
    form = html[start : html.index("</form>", start)]
    fields = {}
    for tag in re.findall(r"<input\b[^>]*>", form, flags=re.S):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name:
            fields[name.group(1)] = unescape(value.group(1)) if value else ""
    return fields


def value(p: Partner, code: str, year: int) -> int | None:
    db.session.expire_all()
    row = db.session.scalar(
        select(IndicatorValue).where(
            IndicatorValue.partner_id == p.id, IndicatorValue.code == code, IndicatorValue.year == year
        )
    )
    return row.value if row else None


def test_per_year_and_whole_project_targets_are_shown_and_saved(
    client: FlaskClient, consortium: Consortium, director: None
) -> None:
    html = client.get(URL).get_data(as_text=True)
    page = text_of(html)
    assert "Par année" in page
    assert "Sur toute la durée du projet" in page
    fields = form_of(html)
    assert "m-entrees-2020" in fields
    assert "m-sorties_positives-0" in fields
    assert "m-sorties_positives-2020" not in fields
    fields["m-entrees-2020"] = "1 200"
    fields["m-sorties_positives-0"] = "60"
    assert client.post(URL, data=fields).status_code == 303
    assert value(partner(consortium), "entrees", 2020) == 1200
    assert value(partner(consortium), "sorties_positives", WHOLE_PROJECT) == 60
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "budget.indicator_changed")).all()
    assert {(e.data["code"], e.data["year"], e.data["new"]["value"]) for e in events} == {
        ("entrees", 2020, 1200),
        ("sorties_positives", 0, 60),
    }


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("12,5", "sans virgule"),
        ("-3", "négatifs"),
        ("1e3", "nombre entier"),
        ("١٢", "chiffres de 0 à 9"),
        ("9999999999", "trop élevé"),
    ],
)
def test_counts_are_non_negative_whole_numbers(
    client: FlaskClient, consortium: Consortium, director: None, typed: str, message: str
) -> None:
    fields = form_of(client.get(URL).get_data(as_text=True))
    before = value(partner(consortium), "entrees", 2020)
    fields["m-entrees-2020"] = typed
    fields["m-entrees-2021"] = "77"
    response = client.post(URL, data=fields)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    note = re.search(r'id="e-entrees-2020">([^<]*)<', html)
    assert note is not None
    assert message in unescape(note.group(1))
    kept = form_of(html)
    assert kept["m-entrees-2020"] == typed
    assert kept["m-entrees-2021"] == "77"
    assert value(partner(consortium), "entrees", 2020) == before
    assert value(partner(consortium), "entrees", 2021) != 77


def test_parse_count_reads_french_grouping() -> None:
    assert parse_count(" 1\u202f200 ") == 1200
    assert parse_count("") == 0
    with pytest.raises(InvalidCount):
        parse_count("12 34")


def test_sub_indicator_above_its_parent_is_flagged_next_to_the_cell_and_in_the_findings(
    client: FlaskClient, consortium: Consortium, director: None
) -> None:
    fields = form_of(client.get(URL).get_data(as_text=True))
    fields["m-entrees_qpv-2020"] = "999"
    fields["m-sorties_emploi_durable-0"] = "500"
    assert client.post(URL, data=fields).status_code == 303
    html = client.get(URL).get_data(as_text=True)
    warning = re.search(r'id="w-entrees_qpv-2020">([^<]*)<', html)
    assert warning is not None
    assert "Dépasse « Personnes entrées dans le parcours »" in unescape(warning.group(1))
    assert re.search(r'id="w-sorties_emploi_durable-0">', html)
    findings = [
        f for f in consolidation_of(consortium).consolidation.errors if f.code == "indicator_above_parent"
    ]
    assert any(f.partner == OWN and f.year == 2020 for f in findings)


def test_indicator_change_voids_the_sign_off(
    client: FlaskClient, consortium: Consortium, director: None
) -> None:
    client.post(
        f"/consortia/cap-remob-idf/membres/{OWN}/signature",
        data={"csrf_token": csrf_token(client, URL), "certify": "y"},
    )
    fields = form_of(client.get(URL).get_data(as_text=True))
    fields["m-entrees-2019"] = "11"
    client.post(URL, data=fields)
    assert "Signature caduque" in text_of(client.get(URL).get_data(as_text=True))


def test_other_partner_cannot_change_targets(client: FlaskClient, consortium: Consortium) -> None:
    make_member(consortium, Role.CONTRIBUTOR, "mde-aulnay", email="autre@exemple.fr")
    login(client, "autre@exemple.fr")
    fields = form_of(client.get(URL).get_data(as_text=True))
    fields["m-entrees-2020"] = "1"
    fields["csrf_token"] = csrf_token(client, URL)
    before = value(partner(consortium), "entrees", 2020)
    assert client.post(URL, data=fields).status_code == 403
    assert value(partner(consortium), "entrees", 2020) == before
