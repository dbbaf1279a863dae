"""Staff: FTE by function with an optional annual cost that suggests the budget's staff line."""

from __future__ import annotations

import re
from decimal import Decimal
from html import unescape

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from app.audit import AuditEvent
from app.budget.models import AmountKind, BudgetAmount, SignOff, StaffLine
from app.commitments import cells, staff
from app.commitments import services as entry
from app.consortia.models import Consortium, Partner, Role
from app.consortia.services import partner_by_code
from app.extensions import db
from tests.factories import csrf_token, login, make_consortium, make_member

OWN = "plie-sevran"
URL = f"/consortia/cap-remob-idf/membres/{OWN}/personnel"


@pytest.fixture
def consortium() -> Consortium:
    return make_consortium()


def partner(consortium: Consortium) -> Partner:
    found = partner_by_code(consortium, OWN)
    assert found is not None
    return found


def text_of(html: str) -> str:
    html = re.sub(r"<(script|style|title)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"[ \t\r\n]+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def form_of(html: str, form_id: str = "staff-form") -> dict[str, str]:
    start = html.index(f'id="{form_id}"')
    form = html[start : html.index("</form>", start)]
    fields = {}
    for tag in re.findall(r"<input\b[^>]*>", form, flags=re.S):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name:
            fields[name.group(1)] = unescape(value.group(1)) if value else ""
    return fields


def lines(p: Partner) -> dict[str, StaffLine]:
    db.session.expire_all()
    return {
        line.function: line
        for line in db.session.scalars(select(StaffLine).where(StaffLine.partner_id == p.id))
    }


@pytest.fixture
def contributor(client: FlaskClient, consortium: Consortium) -> None:
    make_member(consortium, Role.CONTRIBUTOR, OWN, email="contrib@exemple.fr")
    login(client, "contrib@exemple.fr")


def test_page_keeps_existing_functions_and_offers_the_standard_ones(
    client: FlaskClient, consortium: Consortium, contributor: None
) -> None:
    page = text_of(client.get(URL).get_data(as_text=True))
    assert "Référents de parcours" in page
    assert "Chargé(e) de relations entreprises à ajouter" in page
    assert "Coordination du projet à ajouter" in page


def test_fte_and_annual_cost_are_saved_with_an_audit_event(
    client: FlaskClient, consortium: Consortium, contributor: None
) -> None:
    fields = form_of(client.get(URL).get_data(as_text=True))
    fields["m-fte-referents_parcours"] = "2"
    fields["m-cout-referents_parcours"] = "45 000"
    fields["m-fte-charge_relations_entreprises"] = "0,5"
    assert client.post(URL, data=fields).status_code == 303
    saved = lines(partner(consortium))
    assert saved["referents_parcours"].fte == Decimal("2.00")
    assert saved["referents_parcours"].annual_cost == Decimal("45000.00")
    assert saved["charge_relations_entreprises"].fte == Decimal("0.50")
    assert "coordination_projet" not in saved  # left empty: not added
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "budget.staff_changed")).all()
    first = next(e for e in events if e.data["function"] == "referents_parcours")
    assert first.data["old"] == {"fte": "1.50", "annual_cost": None}
    assert first.data["new"] == {"fte": "2.00", "annual_cost": "45000.00"}


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("m-fte-referents_parcours", "-1", "négatifs"),
        ("m-fte-referents_parcours", "NaN", "Nombre invalide"),
        ("m-cout-referents_parcours", "1e309", "Montant invalide"),
        ("m-cout-referents_parcours", "1.005", "Montant ambigu"),
    ],
)
def test_refused_staff_value_is_explained_and_nothing_changes(
    client: FlaskClient, consortium: Consortium, contributor: None, field: str, typed: str, message: str
) -> None:
    fields = form_of(client.get(URL).get_data(as_text=True))
    fields[field] = typed
    fields["m-fte-coordination_projet"] = "0,2"
    response = client.post(URL, data=fields)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    name = field.removeprefix("m-")
    note = re.search(rf'id="e-{name}">([^<]*)<', html)
    assert note is not None
    assert message in unescape(note.group(1))
    kept = form_of(html)
    assert kept[field] == typed
    assert kept["m-fte-coordination_projet"] == "0,2"
    assert lines(partner(consortium))["referents_parcours"].fte == Decimal("1.50")
    assert "coordination_projet" not in lines(partner(consortium))


def test_suggestion_is_prorated_to_the_project_months_of_each_year(consortium: Consortium) -> None:
    own = partner(consortium)
    editor = make_member(consortium, Role.CONTRIBUTOR, OWN, email="contrib@exemple.fr")
    line = lines(own)["referents_parcours"]
    staff.save_staff(
        own,
        [cells.CellEdit(("referents_parcours",), (Decimal("2.00"), Decimal("45000.00")), line.version)],
        by=editor,
    )
    suggestions = staff.staff_suggestions(own, staff.staff_rows(own), entry.budget_grid(own))
    assert [(s.year, s.months, s.amount) for s in suggestions] == [
        (2019, 4, Decimal("30000.00")),
        (2020, 12, Decimal("90000.00")),
        (2021, 12, Decimal("90000.00")),
        (2022, 8, Decimal("60000.00")),
    ]


def test_applying_the_suggestion_updates_the_staff_line_of_the_budget(
    client: FlaskClient, consortium: Consortium, contributor: None
) -> None:
    fields = form_of(client.get(URL).get_data(as_text=True))
    fields["m-cout-referents_parcours"] = "40 000"
    client.post(URL, data=fields)
    page = text_of(client.get(URL).get_data(as_text=True))
    assert "60\u202f000,00\u00a0€ × 4/12 mois" in page
    html = client.get(URL).get_data(as_text=True)
    version = re.search(r'name="v-2019" value="(\d+)"', html)
    assert version is not None
    response = client.post(
        URL + "/appliquer",
        data={"csrf_token": csrf_token(client, URL), "year": "2019", "v-2019": version.group(1)},
    )
    assert response.status_code == 303
    db.session.expire_all()
    stored = db.session.scalar(
        select(BudgetAmount).where(
            BudgetAmount.partner_id == partner(consortium).id,
            BudgetAmount.year == 2019,
            BudgetAmount.kind == AmountKind.EXPENSE,
            BudgetAmount.code == "personnel",
        )
    )
    assert stored is not None
    assert stored.amount == Decimal("20000.00")
    assert "Coût de personnel reporté dans le budget pour 1 année(s)." in text_of(
        client.get(URL).get_data(as_text=True)
    )


def test_applying_a_stale_suggestion_is_refused(
    client: FlaskClient, consortium: Consortium, contributor: None
) -> None:
    fields = form_of(client.get(URL).get_data(as_text=True))
    fields["m-cout-referents_parcours"] = "40 000"
    client.post(URL, data=fields)
    response = client.post(
        URL + "/appliquer", data={"csrf_token": csrf_token(client, URL), "year": "2019", "v-2019": "999"}
    )
    assert response.status_code == 303
    assert "Rien n'a été reporté" in text_of(client.get(URL).get_data(as_text=True))


def test_staff_change_by_a_contributor_voids_the_directors_sign_off(
    client: FlaskClient, consortium: Consortium
) -> None:
    make_member(consortium, Role.DIRECTOR, OWN, email="dir@exemple.fr")
    make_member(consortium, Role.CONTRIBUTOR, OWN, email="contrib@exemple.fr")
    login(client, "dir@exemple.fr")
    client.post(
        f"/consortia/cap-remob-idf/membres/{OWN}/signature",
        data={"csrf_token": csrf_token(client, URL), "certify": "y"},
    )
    assert "Signé le" in text_of(client.get(URL).get_data(as_text=True))
    other = client.application.test_client()
    login(other, "contrib@exemple.fr")
    fields = form_of(other.get(URL).get_data(as_text=True))
    fields["m-fte-referents_parcours"] = "1,75"
    assert other.post(URL, data=fields).status_code == 303
    assert "Signature caduque" in text_of(client.get(URL).get_data(as_text=True))
    db.session.expire_all()
    assert db.session.scalars(select(SignOff).order_by(SignOff.id.desc())).first().voided_at is not None  # type: ignore[union-attr]


def test_reader_cannot_change_staff(client: FlaskClient, consortium: Consortium) -> None:
    make_member(consortium, Role.READER, email="lecteur@exemple.fr")
    login(client, "lecteur@exemple.fr")
    fields = form_of(client.get(URL).get_data(as_text=True))
    fields["m-fte-referents_parcours"] = "9"
    fields["csrf_token"] = csrf_token(client, URL)
    assert client.post(URL, data=fields).status_code == 403
    assert (
        client.post(URL + "/appliquer", data={"csrf_token": fields["csrf_token"], "year": "2019"}).status_code
        == 403
    )
    assert lines(partner(consortium))["referents_parcours"].fte == Decimal("1.50")
