"""Issue 5's whole journey in one browser test, on the demo consortium: a director fills the budget grid
with French numbers, balances it and signs off; a contributor's staff cost voids the sign-off; the director
goes through the Excel round trip; the coordinator reads the consolidated plan and its charts, whose totals
equal a reference computed here, to the cent, from the database's amounts."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.budget.models import AmountKind, BudgetAmount
from app.commitments import services as entry
from app.consortia.models import Consortium, Partner, PartnerStatus, Role
from app.consortia.services import partner_by_code
from app.extensions import db
from app.money import format_eur, format_number
from tests.e2e.test_consolidation_journey import reference_totals
from tests.e2e.test_members_journey import log_in, log_out
from tests.factories import make_consortium, make_member

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
OWN = "plie-sevran"
CENT = Decimal("0.01")
PERSONNEL_2019 = Decimal("23456.78")
PRESTATIONS_2021 = Decimal("33333.33")
AUTOFINANCEMENT_2021 = Decimal("4444.44")


@dataclass(frozen=True)
class Journey:
    """The demo consortium, three people, and the French amounts the director types to balance 2019."""

    slug: str
    coordinator: str
    director: str
    contributor: str
    fse_2019: str
    autofinancement_2019: str
    indirect_2019: str


def typed(amount: Decimal) -> str:
    """An amount as a French person types it: « 1 234,56 »."""
    return format_number(amount).replace("\u202f", " ").replace("\u00a0", " ")


@pytest.fixture
def journey() -> Journey:
    consortium = make_consortium()
    coordinator = make_member(consortium, Role.COORDINATOR, "urtie-idf", email="coordination@exemple.fr")
    director = make_member(consortium, Role.DIRECTOR, OWN, email="direction@sevran.example")
    contributor = make_member(consortium, Role.CONTRIBUTOR, OWN, email="equipe@sevran.example")
    partner = partner_by_code(consortium, OWN)
    assert partner is not None
    grid = entry.budget_grid(partner)
    amounts = dict(grid.amounts)
    amounts[(2019, "expense", "personnel")] = PERSONNEL_2019
    fse = amounts.get((2019, "resource", "fse"), Decimal(0)) + Decimal("1000")
    amounts[(2019, "resource", "fse")] = fse
    totals = grid.totals(amounts)
    autofinancement = amounts.get((2019, "resource", "autofinancement"), Decimal(0)) + totals.balance(2019)
    assert autofinancement > 0
    journey = Journey(
        slug=consortium.slug,
        coordinator=coordinator.email,
        director=director.email,
        contributor=contributor.email,
        fse_2019=typed(fse),
        autofinancement_2019=typed(autofinancement),
        indirect_2019=format_eur(totals.expenses[2019]["indirects"]),
    )
    db.session.commit()  # end the read transaction before the browser's requests
    return journey


@dataclass(frozen=True)
class Reference:
    total_cost: Decimal
    total_resources: Decimal
    expenses_by_year: dict[int, Decimal]
    partner_expenses: dict[str, Decimal]


def reference_from_database(slug: str) -> Reference:
    """The totals recomputed here with Decimal from the stored amounts: active partners only, indirect
    costs at their flat rate of the base categories per partner and year, half-up to the cent."""
    consortium = db.session.scalars(select(Consortium).where(Consortium.slug == slug)).one()
    years = [int(year) for year in consortium.years]
    indirect, rate, base = consortium.indirect_category, consortium.indirect_rate, consortium.indirect_base
    assert indirect is not None, "the demo has an indirect-cost category"
    assert rate is not None, "the demo's indirect costs are a flat rate"
    assert base, "the demo's flat rate has base categories"
    rows = db.session.execute(
        select(Partner.code, BudgetAmount.year, BudgetAmount.kind, BudgetAmount.code, BudgetAmount.amount)
        .join(Partner, BudgetAmount.partner_id == Partner.id)
        .where(Partner.consortium_id == consortium.id, Partner.status == PartnerStatus.ACTIVE)
    ).all()
    db.session.commit()  # release the database for the server's threads
    expenses: dict[tuple[str, int], dict[str, Decimal]] = {}
    resources = Decimal(0)
    for partner, year, kind, code, amount in rows:
        if year not in years:
            continue
        if kind == AmountKind.RESOURCE:
            resources += Decimal(amount)
        elif code != indirect:
            cell = expenses.setdefault((partner, year), {})
            cell[code] = cell.get(code, Decimal(0)) + Decimal(amount)
    by_year = dict.fromkeys(years, Decimal(0))
    by_partner: dict[str, Decimal] = {}
    for (partner, year), typed_in in expenses.items():
        flat = (Decimal(rate) * sum((typed_in.get(code, Decimal(0)) for code in base), Decimal(0))).quantize(
            CENT, ROUND_HALF_UP
        )
        spent = sum(typed_in.values(), Decimal(0)) + flat
        by_year[year] += spent
        by_partner[partner] = by_partner.get(partner, Decimal(0)) + spent
    return Reference(sum(by_year.values(), Decimal(0)), resources, by_year, by_partner)


def stored(slug: str, year: int, kind: AmountKind, code: str) -> Decimal:
    """One of Sevran's stored amounts."""
    amount = db.session.scalar(
        select(BudgetAmount.amount)
        .join(Partner, BudgetAmount.partner_id == Partner.id)
        .join(Consortium, Partner.consortium_id == Consortium.id)
        .where(
            Consortium.slug == slug,
            Partner.code == OWN,
            BudgetAmount.year == year,
            BudgetAmount.kind == kind,
            BudgetAmount.code == code,
        )
    )
    db.session.commit()
    return Decimal(amount if amount is not None else 0)


def test_figures_are_entered_signed_voided_imported_and_consolidated_to_the_cent(
    page: Page, journey: Journey, tmp_path: Path
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    base = f"/consortia/{journey.slug}/membres/{OWN}"

    # 1. The director fills the grid with French numbers; the balance turns green; she signs off.
    log_in(page, journey.director)
    page.goto(base + "/budget")
    balance = page.locator('td[data-balance="2019"]')
    page.locator("#m-2019-expense-personnel").fill("23 456,78")
    expect(page.locator('output[data-computed="indirects"][data-year="2019"]')).to_have_text(
        journey.indirect_2019
    )
    expect(balance).to_have_class(re.compile("balance-ko"))
    expect(balance).to_contain_text("Il manque des ressources")
    page.locator("#m-2019-resource-fse").fill(journey.fse_2019)
    page.locator("#m-2019-resource-autofinancement").fill(journey.autofinancement_2019)
    expect(balance).to_have_class(re.compile("balance-ok"))
    expect(balance).to_contain_text("Équilibré")
    page.get_by_role("button", name="Enregistrer le budget").click()
    expect(page.get_by_text("Enregistré : 3 case(s) modifiée(s).")).to_be_visible()
    expect(page.locator('td[data-balance="2019"]')).to_have_class(re.compile("balance-ok"))
    expect(page.locator("#m-2019-expense-personnel")).to_have_value("23\u202f456,78")
    page.screenshot(path=ARTIFACTS / "parcours-grille-budget.png", full_page=True)
    page.get_by_label("Je certifie l'exactitude de ces engagements").check()
    page.get_by_role("button", name="Signer les engagements").click()
    expect(page.get_by_text("Engagements signés.")).to_be_visible()
    expect(page.locator("#signature")).to_contain_text("Signé le")
    log_out(page)

    # 2. A contributor sets a staff cost and carries it into 2020: the sign-off becomes void, visibly.
    log_in(page, journey.contributor)
    page.goto(base + "/personnel")
    expect(page.locator("#signature")).to_contain_text("Signé le")
    page.locator("#m-cout-referents_parcours").fill("42 000")
    page.get_by_role("button", name="Enregistrer le personnel").click()
    page.get_by_role("button", name="Appliquer à 2020").click()
    expect(page.get_by_text("Coût de personnel reporté dans le budget pour 1 année(s).")).to_be_visible()
    expect(page.locator("#signature")).to_contain_text("Signature caduque")
    log_out(page)

    # 3. The director sees the void sign-off, downloads the xlsx, changes two amounts and uploads it back.
    log_in(page, journey.director)
    page.goto(base + "/budget")
    expect(page.locator("#signature")).to_contain_text("Signature caduque")
    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger le modèle Excel prérempli").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    workbook = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    sheet = workbook["Budget"]
    rows = {sheet.cell(row, 1).value: row for row in range(1, sheet.max_row + 1)}
    columns = {sheet.cell(rows["code"], column).value: column for column in range(1, sheet.max_column + 1)}
    personnel = sheet.cell(rows["expense:personnel"], columns[2019]).value
    assert Decimal(str(personnel)) == PERSONNEL_2019  # prefilled with the saved figures
    sheet.cell(rows["expense:prestations"], columns[2021]).value = float(PRESTATIONS_2021)
    sheet.cell(rows["resource:autofinancement"], columns[2021]).value = "4 444,44"
    filled = tmp_path / "budget Sevran.xlsx"
    workbook.save(filled)
    page.get_by_role("link", name="Importer un fichier Excel").click()
    page.get_by_label("Fichier Excel (.xlsx) rempli").set_input_files(filled)
    page.get_by_role("button", name="Lire le fichier et voir les changements").click()
    expect(page.get_by_text("2 montants à modifier")).to_be_visible()
    changes = page.locator("#changements tbody tr")
    expect(changes).to_have_count(2)
    expect(changes.filter(has_text="Prestations")).to_contain_text(format_eur(PRESTATIONS_2021))
    expect(changes.filter(has_text="Autofinancement")).to_contain_text(format_eur(AUTOFINANCEMENT_2021))
    page.get_by_role("button", name="Appliquer ces 2 changements").click()
    expect(page.get_by_text("2 montant(s) mis à jour depuis le fichier.")).to_be_visible()
    assert stored(journey.slug, 2021, AmountKind.EXPENSE, "prestations") == PRESTATIONS_2021
    assert stored(journey.slug, 2021, AmountKind.RESOURCE, "autofinancement") == AUTOFINANCEMENT_2021
    assert stored(journey.slug, 2019, AmountKind.EXPENSE, "personnel") == PERSONNEL_2019
    log_out(page)

    # 4. The coordinator reads the consolidated plan and its charts: equal to the reference, to the cent.
    reference = reference_from_database(journey.slug)
    demo_cost, demo_resources, _ = reference_totals()
    assert (reference.total_cost, reference.total_resources) != (
        demo_cost,
        demo_resources,
    )  # our changes count
    log_in(page, journey.coordinator)
    page.goto(f"/consortia/{journey.slug}/plan-de-financement")
    expect(page.get_by_role("heading", name="Plan de financement consolidé")).to_be_visible()
    key_figures = page.locator("#chiffres-cles + div table")
    expect(key_figures.locator("tr", has_text="Coût total")).to_contain_text(format_eur(reference.total_cost))
    expect(key_figures.locator("tr", has_text="Total des ressources")).to_contain_text(
        format_eur(reference.total_resources)
    )
    footer = page.locator("#tableau-membres tfoot")
    expect(footer).to_contain_text(format_eur(reference.total_cost))
    for amount in reference.expenses_by_year.values():
        expect(footer).to_contain_text(format_eur(amount))
    expect(page.locator(f'#tableau-membres tr[data-partner="{OWN}"]')).to_contain_text(
        format_eur(reference.partner_expenses[OWN])
    )
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
    expect(charts.nth(0)).to_contain_text("PLIE de Sevran")
    page.screenshot(path=ARTIFACTS / "parcours-plan-de-financement.png", full_page=True)
