"""The budget grid as people use it: what it shows, what it saves, conflicts, who may edit."""

from __future__ import annotations

import re
from decimal import Decimal
from html import unescape

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from app.audit import AuditEvent
from app.budget.models import AmountKind, BudgetAmount, SignOff
from app.consortia.models import Consortium, Partner, PartnerStatus, Role
from app.consortia.services import partner_by_code
from app.extensions import db
from tests.factories import csrf_token, login, make_consortium, make_member

OWN = "plie-sevran"
OTHER = "mde-aulnay"
URL = f"/consortia/cap-remob-idf/membres/{OWN}/budget"


@pytest.fixture
def consortium() -> Consortium:
    return make_consortium()


def partner(consortium: Consortium, code: str = OWN) -> Partner:
    found = partner_by_code(consortium, code)
    assert found is not None
    return found


def text_of(html: str) -> str:
    """What a reader sees: tags removed, entities decoded, spaces folded."""
    html = re.sub(r"<(script|style|title)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"[ \t\r\n]+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def grid_form(html: str) -> dict[str, str]:
    """Every field of the budget form as the browser would post it."""
    form = html[html.index('id="budget-form"') : html.index("</form>", html.index('id="budget-form"'))]
    fields = {}
    for tag in re.findall(r"<input\b[^>]*>", form, flags=re.S):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name:
            fields[name.group(1)] = unescape(value.group(1)) if value else ""
    return fields


def amount(p: Partner, year: int, code: str, kind: AmountKind = AmountKind.EXPENSE) -> Decimal | None:
    db.session.expire_all()
    row = db.session.scalar(
        select(BudgetAmount).where(
            BudgetAmount.partner_id == p.id,
            BudgetAmount.year == year,
            BudgetAmount.kind == kind,
            BudgetAmount.code == code,
        )
    )
    return row.amount if row else None


def test_director_sees_the_grid_with_totals_and_balance(client: FlaskClient, consortium: Consortium) -> None:
    make_member(consortium, Role.DIRECTOR, OWN, email="dir@exemple.fr")
    login(client, "dir@exemple.fr")
    response = client.get(URL)
    assert response.status_code == 200
    page = text_of(response.get_data(as_text=True))
    assert "Dépenses directes de personnel" in page
    assert "Total des dépenses" in page
    assert "Total des ressources" in page
    assert "Solde (dépenses − ressources)" in page
    assert "Enregistrer le budget" in page


def post_grid(client: FlaskClient, fields: dict[str, str], url: str = URL) -> tuple[int, str]:
    response = client.post(url, data=fields)
    return response.status_code, response.get_data(as_text=True)


def director(client: FlaskClient, consortium: Consortium, email: str = "dir@exemple.fr") -> None:
    make_member(consortium, Role.DIRECTOR, OWN, email=email)
    login(client, email)


def test_french_amount_is_saved_with_one_audit_event_holding_old_and_new(
    client: FlaskClient, consortium: Consortium
) -> None:
    director(client, consortium)
    fields = grid_form(client.get(URL).get_data(as_text=True))
    before = amount(partner(consortium), 2020, "personnel")
    fields["m-2020-expense-personnel"] = "1 234,56"
    fields["m-2021-resource-region_idf"] = "1234.5"
    response = client.post(URL, data=fields)
    assert response.status_code == 303
    assert amount(partner(consortium), 2020, "personnel") == Decimal("1234.56")
    assert amount(partner(consortium), 2021, "region_idf", AmountKind.RESOURCE) == Decimal("1234.50")
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "budget.amount_changed")).all()
    assert len(events) == 2
    personnel = next(e for e in events if e.data["code"] == "personnel")
    assert personnel.data["old"] == {"amount": str(before)}
    assert personnel.data["new"] == {"amount": "1234.56"}
    assert personnel.data["year"] == 2020
    assert personnel.data["partner"] == OWN
    page = text_of(client.get(URL).get_data(as_text=True))
    assert "Enregistré : 2 case(s) modifiée(s)." in page


def test_only_changed_cells_are_written(client: FlaskClient, consortium: Consortium) -> None:
    director(client, consortium)
    fields = grid_form(client.get(URL).get_data(as_text=True))
    versions = {
        (r.year, r.kind, r.code): r.version
        for r in db.session.scalars(
            select(BudgetAmount).where(BudgetAmount.partner_id == partner(consortium).id)
        )
    }
    fields["m-2019-expense-fonctionnement"] = "999,99"
    assert client.post(URL, data=fields).status_code == 303
    db.session.expire_all()
    after = {
        (r.year, r.kind, r.code): r.version
        for r in db.session.scalars(
            select(BudgetAmount).where(BudgetAmount.partner_id == partner(consortium).id)
        )
    }
    changed = {key for key in after if after[key] != versions.get(key)}
    assert changed == {(2019, AmountKind.EXPENSE, "fonctionnement")}


def test_computed_category_cannot_be_typed(client: FlaskClient, consortium: Consortium) -> None:
    director(client, consortium)
    fields = grid_form(client.get(URL).get_data(as_text=True))
    before = amount(partner(consortium), 2020, "indirects")
    fields["m-2020-expense-indirects"] = "5,00"
    assert client.post(URL, data=fields).status_code == 303
    assert amount(partner(consortium), 2020, "indirects") == before


def test_saving_without_changes_says_so(client: FlaskClient, consortium: Consortium) -> None:
    director(client, consortium)
    fields = grid_form(client.get(URL).get_data(as_text=True))
    client.post(URL, data=fields)
    assert "Aucune modification à enregistrer." in text_of(client.get(URL).get_data(as_text=True))
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.kind == "budget.amount_changed")) is None


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("-500", "les montants négatifs ne sont pas autorisés"),
        ("1e309", "Montant invalide : saisissez un nombre"),
        ("NaN", "Montant invalide : saisissez un nombre"),
        ("1.005", "Montant ambigu"),
        ("123456789012345", "Montant trop élevé"),
        ("١٢٣", "utilisez uniquement les chiffres de 0 à 9"),
        ("1_000", "Montant invalide"),
    ],
)
def test_refused_amount_is_explained_next_to_its_cell_and_nothing_typed_is_lost(
    client: FlaskClient, consortium: Consortium, typed: str, message: str
) -> None:
    director(client, consortium)
    fields = grid_form(client.get(URL).get_data(as_text=True))
    before_personnel = amount(partner(consortium), 2020, "personnel")
    before_fse = amount(partner(consortium), 2019, "fse", AmountKind.RESOURCE)
    fields["m-2020-expense-personnel"] = typed
    fields["m-2019-resource-fse"] = "4 321,00"
    status, html = post_grid(client, fields)
    assert status == 422
    note = re.search(
        r'<div class="invalid-feedback d-block cell-note" id="e-2020-expense-personnel">([^<]*)</div>', html
    )
    assert note is not None
    assert message in unescape(note.group(1))
    assert "Rien n'a été enregistré" in text_of(html)
    kept = grid_form(html)
    assert kept["m-2020-expense-personnel"] == typed
    assert kept["m-2019-resource-fse"] == "4 321,00"
    assert amount(partner(consortium), 2020, "personnel") == before_personnel
    assert amount(partner(consortium), 2019, "fse", AmountKind.RESOURCE) == before_fse


def test_reader_cannot_edit(client: FlaskClient, consortium: Consortium) -> None:
    make_member(consortium, Role.READER, email="lecteur@exemple.fr")
    login(client, "lecteur@exemple.fr")
    html = client.get(URL).get_data(as_text=True)
    assert "Lecture seule" in text_of(html)
    assert "Enregistrer le budget" not in html
    fields = grid_form(html)
    fields["m-2020-expense-personnel"] = "1,00"
    fields["csrf_token"] = csrf_token(client, URL)
    before = amount(partner(consortium), 2020, "personnel")
    assert client.post(URL, data=fields).status_code == 403
    assert amount(partner(consortium), 2020, "personnel") == before


def test_other_partners_director_cannot_edit(client: FlaskClient, consortium: Consortium) -> None:
    make_member(consortium, Role.DIRECTOR, OTHER, email="autre@exemple.fr")
    login(client, "autre@exemple.fr")
    fields = grid_form(client.get(URL).get_data(as_text=True))
    fields["m-2020-expense-personnel"] = "1,00"
    fields["csrf_token"] = csrf_token(client, URL)
    before = amount(partner(consortium), 2020, "personnel")
    assert client.post(URL, data=fields).status_code == 403
    assert amount(partner(consortium), 2020, "personnel") == before


def test_coordinator_edits_any_partner(client: FlaskClient, consortium: Consortium) -> None:
    make_member(consortium, Role.COORDINATOR, "urtie-idf", email="coord@exemple.fr")
    login(client, "coord@exemple.fr")
    fields = grid_form(client.get(URL).get_data(as_text=True))
    fields["m-2022-expense-participants"] = "10"
    assert client.post(URL, data=fields).status_code == 303
    assert amount(partner(consortium), 2022, "participants") == Decimal("10.00")


def test_withdrawn_partner_figures_cannot_be_edited(client: FlaskClient, consortium: Consortium) -> None:
    director(client, consortium)
    fields = grid_form(client.get(URL).get_data(as_text=True))
    partner(consortium).status = PartnerStatus.WITHDRAWN
    db.session.commit()
    html = client.get(URL).get_data(as_text=True)
    assert (
        "s'est retiré du consortium : ses chiffres sont conservés mais ne peuvent plus être modifiés"
        in unescape(html)
    )
    assert "Enregistrer le budget" not in html
    fields["m-2020-expense-personnel"] = "1,00"
    before = amount(partner(consortium), 2020, "personnel")
    status, html = post_grid(client, fields)
    assert status == 422
    assert "ne peuvent plus être modifiés" in unescape(html)
    assert amount(partner(consortium), 2020, "personnel") == before


def test_missing_csrf_token_keeps_what_was_typed(client: FlaskClient, consortium: Consortium) -> None:
    director(client, consortium)
    fields = grid_form(client.get(URL).get_data(as_text=True))
    fields.pop("csrf_token")
    fields["m-2020-expense-personnel"] = "77 777,77"
    status, html = post_grid(client, fields)
    assert status == 400
    assert "Votre session a expiré" in unescape(html)
    assert grid_form(html)["m-2020-expense-personnel"] == "77 777,77"


def test_two_people_changing_different_cells_both_succeed(
    client: FlaskClient, consortium: Consortium
) -> None:
    director(client, consortium)
    mine = grid_form(client.get(URL).get_data(as_text=True))
    theirs = dict(mine)
    theirs["m-2019-expense-personnel"] = "11 111,11"
    assert client.post(URL, data=theirs).status_code == 303
    mine["m-2020-expense-personnel"] = "22 222,22"
    assert client.post(URL, data=mine).status_code == 303
    assert amount(partner(consortium), 2019, "personnel") == Decimal("11111.11")
    assert amount(partner(consortium), 2020, "personnel") == Decimal("22222.22")


def test_same_cell_changed_by_two_people_is_a_conflict_that_keeps_both_values_and_saves_nothing(
    client: FlaskClient, consortium: Consortium
) -> None:
    director(client, consortium)
    make_member(consortium, Role.CONTRIBUTOR, OWN, email="contrib@exemple.fr")
    mine = grid_form(client.get(URL).get_data(as_text=True))
    other = client.application.test_client()
    login(other, "contrib@exemple.fr")
    theirs = grid_form(other.get(URL).get_data(as_text=True))
    theirs["m-2020-expense-personnel"] = "12 000"
    assert other.post(URL, data=theirs).status_code == 303

    mine["m-2020-expense-personnel"] = "13 000"
    mine["m-2021-expense-fonctionnement"] = "1,00"
    before_fonctionnement = amount(partner(consortium), 2021, "fonctionnement")
    status, html = post_grid(client, mine)
    assert status == 409
    page = text_of(html)
    assert "Rien n'a été enregistré : 1 case(s) ont été modifiées entre-temps" in page
    assert "Modifié entre-temps par contributor test : 12\u202f000,00\u00a0€" in page
    kept = grid_form(html)
    assert kept["m-2020-expense-personnel"] == "13 000"
    assert kept["m-2021-expense-fonctionnement"] == "1,00"
    assert amount(partner(consortium), 2020, "personnel") == Decimal("12000.00")
    assert amount(partner(consortium), 2021, "fonctionnement") == before_fonctionnement

    # Saving again, having seen their value, keeps mine.
    assert client.post(URL, data=kept).status_code == 303
    assert amount(partner(consortium), 2020, "personnel") == Decimal("13000.00")
    assert amount(partner(consortium), 2021, "fonctionnement") == Decimal("1.00")


def test_change_voids_a_valid_sign_off_and_tells_director_and_coordinator(
    client: FlaskClient, consortium: Consortium
) -> None:
    from app.mail.models import OutboxMessage

    director(client, consortium)
    make_member(consortium, Role.COORDINATOR, "urtie-idf", email="coord@exemple.fr")
    token = csrf_token(client, URL)
    client.post(
        f"/consortia/cap-remob-idf/membres/{OWN}/signature", data={"csrf_token": token, "certify": "y"}
    )
    assert "Signé le" in text_of(client.get(URL).get_data(as_text=True))
    fields = grid_form(client.get(URL).get_data(as_text=True))
    fields["m-2020-expense-personnel"] = "1,00"
    assert client.post(URL, data=fields).status_code == 303
    db.session.expire_all()
    latest = db.session.scalars(select(SignOff).order_by(SignOff.id.desc())).first()
    assert latest is not None
    assert latest.voided_at is not None
    mails = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "sign_off_voided")).all()
    assert sorted(m.to for m in mails) == ["coord@exemple.fr", "dir@exemple.fr"]
    assert "caduque" in mails[0].subject
    page = text_of(client.get(URL).get_data(as_text=True))
    assert "Signature caduque : les chiffres ont changé depuis la signature" in page
    # A second change does not notify again.
    fields = grid_form(client.get(URL).get_data(as_text=True))
    fields["m-2020-expense-personnel"] = "2,00"
    client.post(URL, data=fields)
    assert (
        len(db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "sign_off_voided")).all())
        == 2
    )


def test_unknown_partner_is_404(client: FlaskClient, consortium: Consortium) -> None:
    director(client, consortium)
    assert client.get("/consortia/cap-remob-idf/membres/inconnu/budget").status_code == 404


def test_page_header_keeps_the_consortium_findings_badge(client: FlaskClient, consortium: Consortium) -> None:
    director(client, consortium)
    page = text_of(client.get(URL).get_data(as_text=True))
    assert "(36 mois)" in page
    # Among them: the deadline (3 September 2019) has passed, and the project starts before it.
    assert "16 avertissements" in page
