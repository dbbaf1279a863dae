"""A coordinator's first visit in a real browser: log in, open the consortium, read its overview."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from app.budget.services import consolidation_of
from app.consortia.models import Role
from app.extensions import db
from app.money import format_eur
from tests.factories import PASSWORD, make_consortium, make_member

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
DEMO_PARTNERS = 12


@dataclass(frozen=True)
class DemoConsortium:
    """What the coordinator should see, computed on the server side as plain values."""

    slug: str
    title: str
    coordinator_email: str
    partner_names: dict[str, str]  # exchange code → name, in table order
    total_cost: str  # French display, e.g. « 5 822 968,75 € »
    errors: int
    warnings: int


@pytest.fixture
def demo() -> DemoConsortium:
    """The imported demo consortium and its coordinator (URTIE Île-de-France), committed."""
    consortium = make_consortium()
    coordinator = make_member(consortium, Role.COORDINATOR, "urtie-idf")
    totals = consolidation_of(consortium).consolidation
    demo = DemoConsortium(
        slug=consortium.slug,
        title=consortium.title,
        coordinator_email=coordinator.email,
        partner_names={partner.id: partner.name for partner in totals.partners},
        total_cost=format_eur(totals.total_cost),
        errors=len(totals.errors),
        warnings=len(totals.warnings),
    )
    db.session.commit()  # end the read transaction before the browser's requests
    return demo


def log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.goto("/connexion")
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    page.get_by_role("button", name="Se connecter").click()


def test_coordinator_reaches_the_overview_from_her_consortia_and_reads_it(
    page: Page, demo: DemoConsortium
) -> None:
    assert len(demo.partner_names) == DEMO_PARTNERS
    assert demo.errors == 1  # the demo's Initiatives 77 budget for 2022 does not balance
    assert demo.warnings > 1
    log_in(page, demo.coordinator_email)
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", name="Mes consortiums")).to_be_visible()

    page.get_by_role("link", name=demo.title).click()

    expect(page).to_have_url(re.compile(rf"/consortia/{demo.slug}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(demo.title)
    rows = page.locator("tbody tr[data-partner]")
    expect(rows, "le tableau des membres n'affiche aucun membre").not_to_have_count(0)
    expect(rows).to_have_count(DEMO_PARTNERS)
    for code, name in demo.partner_names.items():
        expect(page.locator(f'tr[data-partner="{code}"] th')).to_contain_text(name)

    total_cost = page.locator(".key-figures .card").filter(has_text="Coût total").locator("strong")
    expect(total_cost).to_be_visible()
    # Exact characters, no-break spaces included: Playwright's text matching folds them into spaces.
    assert total_cost.text_content() == demo.total_cost
    members_total = page.get_by_role("row", name=re.compile("^Total des membres actifs"))
    expect(members_total).to_contain_text(demo.total_cost)

    badges = page.get_by_role("link", name="Contrôles du dossier")
    expect(badges.get_by_text(f"{demo.errors} erreur", exact=True)).to_be_visible()
    expect(badges.get_by_text(f"{demo.warnings} avertissements", exact=True)).to_be_visible()

    unbalanced = page.locator('li[data-code="unbalanced_year"]')
    expect(unbalanced).to_contain_text("Initiatives 77")
    expect(unbalanced).to_contain_text("2022")
    expect(page.locator('tr[data-partner="initiatives-77"]').get_by_text("Déséquilibré")).to_be_visible()

    expect(page.locator('tr[data-partner="plie-sevran"]')).to_contain_text("PLIE de Sevran")
    expect(page.locator('tr[data-partner="plie-sevran"]').get_by_text("Signature caduque")).to_be_visible()

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "vue-d-ensemble.png", full_page=True)


def test_wrong_password_shows_a_french_error_and_stays_on_the_login_page(
    page: Page, demo: DemoConsortium
) -> None:
    log_in(page, demo.coordinator_email, "pas-le-bon-mot-de-passe")

    expect(page.get_by_role("alert")).to_have_text("Adresse e-mail ou mot de passe incorrect.")
    expect(page).to_have_url(re.compile(r"/connexion$"))
    expect(page.get_by_role("button", name="Se connecter")).to_be_visible()
    expect(page.locator("#password")).to_have_value("")
    expect(page.get_by_role("button", name="Se déconnecter")).to_have_count(0)


def test_logout_returns_to_the_login_page_and_closes_the_consortium(page: Page, demo: DemoConsortium) -> None:
    log_in(page, demo.coordinator_email)
    expect(page.get_by_role("heading", name="Mes consortiums")).to_be_visible()

    page.get_by_role("button", name="Se déconnecter").click()

    expect(page).to_have_url(re.compile(r"/connexion$"))
    expect(page.get_by_text("Vous êtes déconnecté.")).to_be_visible()
    expect(page.get_by_role("button", name="Se connecter")).to_be_visible()
    page.goto(f"/consortia/{demo.slug}")
    expect(page).to_have_url(re.compile(r"/connexion\?next="))
    expect(page.locator("tr[data-partner]")).to_have_count(0)
