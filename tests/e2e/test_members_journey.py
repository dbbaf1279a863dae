"""In a real browser: a director withdraws its partner, the totals drop, the coordinator reinstates it;
the members map shows the partners per département."""

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
OWN = "plie-sevran"


@dataclass(frozen=True)
class Journey:
    """The demo consortium, its coordinator and Sevran's director, and the totals to expect."""

    slug: str
    coordinator: str
    director: str
    total_cost: str  # with every partner
    total_without_sevran: str


@pytest.fixture
def journey() -> Journey:
    consortium = make_consortium()
    coordinator = make_member(consortium, Role.COORDINATOR, "urtie-idf", email="coordination@exemple.fr")
    director = make_member(consortium, Role.DIRECTOR, OWN, email="direction@sevran.example")
    totals = consolidation_of(consortium).consolidation
    sevran = next(row for row in totals.partners if row.id == OWN)
    journey = Journey(
        slug=consortium.slug,
        coordinator=coordinator.email,
        director=director.email,
        total_cost=format_eur(totals.total_cost),
        total_without_sevran=format_eur(totals.total_cost - sevran.total_expenses),
    )
    db.session.commit()  # end the read transaction before the browser's requests
    return journey


def log_in(page: Page, email: str) -> None:
    page.goto("/connexion")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", name="Mes consortiums")).to_be_visible()


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page).to_have_url(re.compile(r"/connexion$"))


def overview_total(page: Page, slug: str) -> str | None:
    page.goto(f"/consortia/{slug}")
    total = page.locator(".key-figures .card").filter(has_text="Coût total").locator("strong")
    expect(total).to_be_visible()
    return total.text_content()


def test_director_withdraws_its_partner_and_the_coordinator_reinstates_it(
    page: Page, journey: Journey
) -> None:
    log_in(page, journey.director)
    assert overview_total(page, journey.slug) == journey.total_cost

    # The partners page and its map: Sevran is listed in Seine-Saint-Denis.
    page.goto(f"/consortia/{journey.slug}/membres")
    expect(page.get_by_role("heading", name="Membres du consortium")).to_be_visible()
    expect(page.locator("tr[data-partner]")).to_have_count(12)
    members_map = page.locator("svg.members-map")
    expect(members_map).to_be_visible()
    expect(members_map.locator("path")).to_have_count(8)
    seine_saint_denis = page.locator("#carte-membres-93")
    expect(seine_saint_denis).to_contain_text("PLIE de Sevran")
    expect(seine_saint_denis).to_contain_text("600")
    expect(page.locator("#carte-membres-91")).to_contain_text("Atout PLIE")
    members_map.locator('a[href="#carte-membres-93"]').click()
    expect(page).to_have_url(re.compile(r"#carte-membres-93$"))
    ARTIFACTS.mkdir(exist_ok=True)
    members_map.screenshot(path=ARTIFACTS / "carte-des-membres.png")

    # Withdraw: the reason is mandatory, then the partner leaves every total.
    page.locator(f'tr[data-partner="{OWN}"]').get_by_role("link", name="PLIE de Sevran").click()
    page.get_by_role("link", name="Retirer ce membre du consortium…").click()
    expect(page.get_by_role("heading", name="Retirer PLIE de Sevran du consortium")).to_be_visible()
    page.get_by_role("button", name="Confirmer le retrait de PLIE de Sevran").click()
    expect(
        page.get_by_text("Indiquez la raison du retrait : elle est communiquée aux autres membres.")
    ).to_be_visible()
    page.get_by_label("Raison du retrait").fill("Fusion avec le PLIE voisin au 1er janvier")
    page.get_by_role("button", name="Confirmer le retrait de PLIE de Sevran").click()

    expect(page).to_have_url(re.compile(rf"/consortia/{journey.slug}/membres$"))
    expect(page.get_by_text("PLIE de Sevran est retiré du consortium.")).to_be_visible()
    sevran_row = page.locator(f'tr[data-partner="{OWN}"]')
    expect(sevran_row).to_contain_text("Retiré")
    expect(sevran_row).to_contain_text("Fusion avec le PLIE voisin")
    expect(page.locator("#carte-membres-93")).not_to_contain_text("PLIE de Sevran")
    page.screenshot(path=ARTIFACTS / "membres-apres-retrait.png", full_page=True)
    assert overview_total(page, journey.slug) == journey.total_without_sevran
    log_out(page)

    # The coordinator reinstates it: the totals are back.
    log_in(page, journey.coordinator)
    page.goto(f"/consortia/{journey.slug}/membres/{OWN}")
    expect(page.get_by_text("Raison : « Fusion avec le PLIE voisin au 1er janvier »")).to_be_visible()
    page.get_by_role("button", name="Réintégrer PLIE de Sevran").click()
    expect(page.get_by_text("PLIE de Sevran réintègre le consortium")).to_be_visible()
    expect(page.locator(f'tr[data-partner="{OWN}"]')).to_contain_text("Actif")
    assert overview_total(page, journey.slug) == journey.total_cost
