"""In a real browser: a director fills the budget grid with French numbers, sees the year balance
(green) and signs off; a contributor changes a staff cost and the sign-off becomes void."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from app.budget.calculations import flat_rate
from app.commitments import services as entry
from app.consortia.models import Role
from app.consortia.services import partner_by_code
from app.extensions import db
from app.money import InvalidAmount, format_eur, format_number, parse_amount
from tests.factories import PASSWORD, make_consortium, make_member

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
OWN = "plie-sevran"

TYPED = [
    "1 234,56",
    "1\u00a0234,56",
    "1\u202f234,56 €",
    "1234.56",
    "1,5",
    "12",
    "-500",
    "1e309",
    "NaN",
    "Infinity",
    "1.005",
    "1,500",
    "1.234,56",
    "123456789012345",
    "١٢٣",
    "０.５",
    "1_000",
    "12 34",
    "1,",
    "",
    "€ 12",
    "000000000000012,50",
]


@dataclass(frozen=True)
class Journey:
    base: str
    director: str
    contributor: str
    personnel_2019: str
    indirect_2019: str
    balancing_autofinancement_2019: str


@pytest.fixture
def journey() -> Journey:
    consortium = make_consortium()
    director = make_member(consortium, Role.DIRECTOR, OWN, email="direction@sevran.example")
    contributor = make_member(consortium, Role.CONTRIBUTOR, OWN, email="equipe@sevran.example")
    partner = partner_by_code(consortium, OWN)
    assert partner is not None
    grid = entry.budget_grid(partner)
    amounts = dict(grid.amounts)
    amounts[(2019, "expense", "personnel")] = Decimal("23456.78")
    totals = grid.totals(amounts)
    missing = totals.balance(2019)
    autofinancement = amounts.get((2019, "resource", "autofinancement"), Decimal(0)) + missing
    journey = Journey(
        base=f"/consortia/{consortium.slug}/membres/{OWN}",
        director=director.email,
        contributor=contributor.email,
        personnel_2019="23 456,78",
        indirect_2019=format_eur(totals.expenses[2019]["indirects"]),
        balancing_autofinancement_2019=format_number(autofinancement).replace("\u202f", " "),
    )
    db.session.commit()
    return journey


def server_outcome(text: str) -> tuple[str, str | None]:
    """What the server's parser makes of a typed amount: cents, or its refusal message."""
    if not text.strip():
        return ("zero", None)
    try:
        return ("ok", str(int(parse_amount(text) * 100)))
    except InvalidAmount as error:
        return ("refused", str(error))


def log_in(page: Page, email: str) -> None:
    page.goto("/connexion")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", name="Mes consortiums")).to_be_visible()


def test_director_fills_balances_and_signs_then_a_contributor_voids_it(page: Page, journey: Journey) -> None:
    log_in(page, journey.director)
    page.goto(journey.base + "/budget")
    personnel = page.locator("#m-2019-expense-personnel")
    balance = page.locator('td[data-balance="2019"]')
    expect(balance).to_have_class(re.compile("balance-ok"))

    # Typing a staff cost updates the flat-rate indirect costs and the balance at once.
    personnel.fill(journey.personnel_2019)
    expect(page.locator('output[data-computed="indirects"][data-year="2019"]')).to_have_text(
        journey.indirect_2019
    )
    expect(balance).to_have_class(re.compile("balance-ko"))
    expect(balance).to_contain_text("Il manque des ressources")

    # A refused value is explained next to its cell while typing.
    fse = page.locator("#m-2019-resource-fse")
    fse.fill("1.005")
    expect(fse.locator("xpath=..").locator(".cell-live")).to_contain_text("Montant ambigu")
    fse.fill("1 894,00")
    expect(fse).not_to_have_class(re.compile("is-invalid"))

    # Keyboard: Enter goes down, like a spreadsheet.
    autofinancement = page.locator("#m-2019-resource-autofinancement")
    page.locator("#m-2019-resource-prives").focus()
    page.keyboard.press("Enter")
    expect(autofinancement).to_be_focused()
    page.keyboard.type(journey.balancing_autofinancement_2019)
    # Arrows leave a cell only when the caret is at its edge.
    page.keyboard.press("ArrowRight")
    expect(page.locator("#m-2020-resource-autofinancement")).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(page.locator("#m-2020-resource-prives")).to_be_focused()
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#m-2019-resource-prives")).to_be_focused()
    expect(balance).to_have_class(re.compile("balance-ok"))
    expect(balance).to_contain_text("Équilibré")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "grille-budget.png", full_page=True)

    page.get_by_role("button", name="Enregistrer le budget").click()
    expect(page.get_by_text("Enregistré : 2 case(s) modifiée(s).")).to_be_visible()
    expect(page.locator('td[data-balance="2019"]')).to_contain_text("Équilibré")
    expect(page.locator("#m-2019-expense-personnel")).to_have_value("23\u202f456,78")

    page.get_by_label("Je certifie l'exactitude de ces engagements").check()
    page.get_by_role("button", name="Signer les engagements").click()
    expect(page.get_by_text("Engagements signés.")).to_be_visible()
    expect(page.locator("#signature")).to_contain_text("Signé le")
    page.get_by_role("button", name="Se déconnecter").click()

    # A contributor sets the staff cost and carries it into the budget: the sign-off becomes void.
    log_in(page, journey.contributor)
    page.goto(journey.base + "/personnel")
    expect(page.locator("#signature")).to_contain_text("Signé le")
    page.locator("#m-cout-referents_parcours").fill("42 000")
    page.get_by_role("button", name="Enregistrer le personnel").click()
    expect(page.get_by_text("63\u202f000,00\u00a0€ × 12/12 mois").first).to_be_visible()
    page.get_by_role("button", name="Appliquer à 2020").click()
    expect(page.get_by_text("Coût de personnel reporté dans le budget pour 1 année(s).")).to_be_visible()
    expect(page.locator("#signature")).to_contain_text("Signature caduque")
    page.screenshot(path=ARTIFACTS / "personnel-signature-caduque.png", full_page=True)
    page.goto(journey.base + "/budget")
    expect(page.locator("h2")).to_contain_text("Signature caduque")


def test_browser_parser_and_flat_rate_match_the_server(page: Page, journey: Journey) -> None:
    log_in(page, journey.contributor)
    page.goto(journey.base + "/budget")
    results = page.evaluate(
        """(inputs) => inputs.map((text) => {
            if (!text.trim()) return ["zero", null];
            try { return ["ok", window.consortioGrid.parseAmount(text).toString()]; }
            catch (error) { return ["refused", error.message]; }
        })""",
        TYPED,
    )
    assert [tuple(result) for result in results] == [server_outcome(text) for text in TYPED]

    rng = random.Random(5)
    cases = [
        (rate, rng.randrange(0, 10**14))
        for rate in ("0.15", "0.07", "0.2", "0.125", "0.333")
        for _ in range(40)
    ]
    cases += [("0.15", 1005), ("0.15", 10), ("0.15", 30)]
    computed = page.evaluate(
        """(cases) => cases.map(([rate, cents]) =>
            window.consortioGrid.flatRate(window.consortioGrid.rateOf(rate), BigInt(cents)).toString())""",
        cases,
    )
    for (rate, cents), js in zip(cases, computed, strict=True):
        expected = flat_rate(Decimal(rate), [Decimal(cents) / 100])
        assert Decimal(js) / 100 == expected, (rate, cents)
