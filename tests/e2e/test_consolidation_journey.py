"""In a real browser: the coordinator reads the consolidated plan and its charts, whose totals equal a
reference computed here from the demo document; a director goes through the Excel round trip."""

from __future__ import annotations

import io
import json
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from app.consortia.models import Role
from app.extensions import db
from app.money import format_eur
from tests.factories import DEMO_DOCUMENT, PASSWORD, make_consortium, make_member

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CENT = Decimal("0.01")


def reference_totals(path: Path = DEMO_DOCUMENT) -> tuple[Decimal, Decimal, dict[int, Decimal]]:
    """Total cost, total resources and expenses per year, from the document alone (indirect costs at
    their flat rate of the base categories, half-up to the cent; withdrawn partners left out)."""
    document = json.loads(path.read_text(encoding="utf-8"))
    model = document["budget_model"]
    rule = model["indirect_costs"]
    rate, base = Decimal(rule["rate"]), rule["base_categories"]
    expenses: dict[int, Decimal] = {int(year): Decimal(0) for year in model["years"]}
    resources = Decimal(0)
    for partner in document["partners"]:
        if partner["status"] != "active":
            continue
        for year, figures in partner["budget"].items():
            typed = {code: Decimal(amount) for code, amount in figures["expenses"].items()}
            typed[rule["category"]] = (rate * sum(typed.get(code, Decimal(0)) for code in base)).quantize(
                CENT, ROUND_HALF_UP
            )
            expenses[int(year)] += sum(typed.values(), Decimal(0))
            resources += sum((Decimal(amount) for amount in figures["resources"].values()), Decimal(0))
    return sum(expenses.values(), Decimal(0)), resources, expenses


def log_in(page: Page, email: str) -> None:
    page.goto("/connexion")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(re.compile(r"/$"))


def test_coordinator_sees_the_consolidated_plan_and_charts_equal_to_the_reference(page: Page) -> None:
    consortium = make_consortium()
    email = make_member(consortium, Role.COORDINATOR, "urtie-idf").email
    slug = consortium.slug
    db.session.commit()  # end the read transaction before the browser's requests
    total_cost, total_resources, by_year = reference_totals()

    log_in(page, email)
    page.goto(f"/consortia/{slug}/plan-de-financement")

    expect(page.get_by_role("heading", name="Plan de financement consolidé")).to_be_visible()
    key_figures = page.locator("#chiffres-cles + div table")
    expect(key_figures.locator("tr", has_text="Coût total")).to_contain_text(format_eur(total_cost))
    expect(key_figures.locator("tr", has_text="Total des ressources")).to_contain_text(
        format_eur(total_resources)
    )
    footer = page.locator("#tableau-membres tfoot")
    expect(footer).to_contain_text(format_eur(total_cost))
    for amount in by_year.values():
        expect(footer).to_contain_text(format_eur(amount))
    charts = page.locator("svg.chart[role=img]")
    expect(charts).to_have_count(3)
    for index, title in enumerate(
        (
            "Dépenses par catégorie, pour chaque membre actif",
            "Dépenses et ressources par année",
            "Ressources par financeur",
        )
    ):
        expect(charts.nth(index)).to_be_visible()
        expect(charts.nth(index).locator("title").first).to_have_text(title)
    expect(charts.nth(0)).to_contain_text("URTIE Île-de-France")
    expect(page.get_by_text("Corriger").first).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "plan-de-financement.png", full_page=True)


def test_director_downloads_the_xlsx_changes_two_amounts_and_applies_them(page: Page, tmp_path: Path) -> None:
    consortium = make_consortium()
    email = make_member(consortium, Role.DIRECTOR, "plie-sevran").email
    slug = consortium.slug
    db.session.commit()  # end the read transaction before the browser's requests
    log_in(page, email)
    page.goto(f"/consortia/{slug}/membres/plie-sevran/budget/import")

    with page.expect_download() as info:
        page.get_by_role("link", name="Téléchargez le modèle Excel").click()
    workbook = load_workbook(io.BytesIO(Path(info.value.path()).read_bytes()))
    sheet = workbook["Budget"]
    rows = {sheet.cell(row, 1).value: row for row in range(1, sheet.max_row + 1)}
    sheet.cell(rows["expense:prestations"], 5).value = 33333.33  # 2021
    sheet.cell(rows["resource:autofinancement"], 5).value = "4 444,44"
    filled = tmp_path / "budget rempli.xlsx"
    workbook.save(filled)

    page.get_by_label("Fichier Excel (.xlsx) rempli").set_input_files(filled)
    page.get_by_role("button", name="Lire le fichier et voir les changements").click()

    expect(page.get_by_text("2 montants à modifier")).to_be_visible()
    changes = page.locator("#changements tbody tr")
    expect(changes).to_have_count(2)
    expect(changes.filter(has_text="Prestations")).to_contain_text(format_eur(Decimal("33333.33")))
    expect(changes.filter(has_text="Autofinancement")).to_contain_text(format_eur(Decimal("4444.44")))
    page.get_by_role("button", name="Appliquer ces 2 changements").click()

    expect(page.get_by_text("2 montant(s) mis à jour depuis le fichier.")).to_be_visible()
