"""In a real browser: the coordinator sets a milestone, reads the board, previews and sends reminders;
a director uploads the commitment letter and the board cell turns done; the activity feed shows it all."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.consortia.models import Role
from app.coordination.services import paris_today
from app.extensions import db
from app.mail.models import OutboxMessage
from tests.factories import PASSWORD, make_consortium, make_member

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LEAD = "urtie-idf"
OWN = "mde-plaine-commune"
PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


@dataclass(frozen=True)
class Journey:
    """A four-partner demo consortium, its coordinator and one partner's director."""

    slug: str
    coordinator: str
    director: str
    own_name: str
    lead_contacts: tuple[str, ...]
    due: str  # ISO date of the milestone


@pytest.fixture
def journey() -> Journey:
    consortium = make_consortium(4)
    consortium.call.submission_deadline = paris_today() + timedelta(days=30)
    coordinator = make_member(consortium, Role.COORDINATOR, LEAD, email="coordination@exemple.fr")
    director = make_member(consortium, Role.DIRECTOR, OWN, email="direction@plaine-commune.example")
    own = next(p for p in consortium.partners if p.code == OWN)
    lead = next(p for p in consortium.partners if p.code == LEAD)
    journey = Journey(
        slug=consortium.slug,
        coordinator=coordinator.email,
        director=director.email,
        own_name=own.name,
        lead_contacts=tuple(sorted(c["email"] for c in lead.contacts)),
        due=(paris_today() + timedelta(days=12)).isoformat(),
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


def annex_cell(page: Page, slug: str, code: str) -> str | None:
    page.goto(f"/consortia/{slug}/suivi")
    cell = page.locator(f'tr[data-partner="{code}"] td[data-column="annex:commitment_letter"]')
    expect(cell).to_be_visible()
    return cell.get_attribute("data-state")


def test_coordinator_reminds_partners_and_a_director_catches_up(page: Page, journey: Journey) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    log_in(page, journey.coordinator)

    # A milestone: signatures and annexes due in twelve days.
    page.goto(f"/consortia/{journey.slug}/echeances")
    page.get_by_label("Titre").fill("Budgets signés et pièces")
    page.get_by_label("Date d'échéance").fill(journey.due)
    page.get_by_label("Signature des engagements").check()
    page.get_by_label("Pièces annexes").check()
    page.get_by_label("Rappel automatique (jours avant l'échéance)").fill("3")
    page.get_by_role("button", name="Ajouter l'échéance").click()
    expect(page.get_by_text("Échéance « Budgets signés et pièces » ajoutée.")).to_be_visible()
    milestone = page.locator("[data-milestone]").filter(has_text="Budgets signés et pièces")
    expect(milestone).to_contain_text("J-12")

    # The commitment letter becomes required of every partner.
    page.goto(f"/consortia/{journey.slug}/annexes/exigences")
    page.get_by_label("Lettre d'engagement", exact=True).check()
    page.get_by_role("button", name="Enregistrer les pièces exigées").click()

    # The board: one row per partner, the letter missing everywhere, the countdown.
    assert annex_cell(page, journey.slug, OWN) == "missing"
    expect(page.locator("#compte-a-rebours")).to_contain_text("J-30")
    own_row = page.locator(f'tr[data-partner="{OWN}"]')
    expect(own_row.locator('td[data-column="annex:commitment_letter"]')).to_contain_text("À faire")
    expect(page.locator('[data-column-total="annex:commitment_letter"]')).to_have_text("4")
    page.screenshot(path=ARTIFACTS / "coordination-tableau-de-suivi.png", full_page=True)

    # Filter: only the partners of Seine-Saint-Denis (the regional union is not one).
    page.get_by_label("Département").select_option("93")
    page.get_by_role("button", name="Filtrer").click()
    expect(page.locator(f'tr[data-partner="{LEAD}"]')).to_have_count(0)
    expect(page.locator(f'tr[data-partner="{OWN}"]')).to_have_count(1)
    page.get_by_role("link", name="Tout afficher").click()
    expect(page.locator(f'tr[data-partner="{LEAD}"]')).to_have_count(1)

    # Remind everyone for the milestone: preview first, nothing sent yet.
    page.goto(f"/consortia/{journey.slug}/echeances")
    page.get_by_role("link", name="Relancer pour cette échéance…").click()
    expect(page.get_by_role("heading", name=re.compile("Relancer 4 membres"))).to_be_visible()
    own_preview = page.locator(f'.reminder-preview[data-partner="{OWN}"]')
    expect(own_preview).to_contain_text(journey.director)
    own_preview.locator("summary").click()
    expect(own_preview.locator(".reminder-body")).to_contain_text("Lettre d'engagement")
    page.screenshot(path=ARTIFACTS / "coordination-apercu-relance.png", full_page=True)
    assert db.session.scalar(select(OutboxMessage.id).limit(1)) is None
    db.session.rollback()  # end the read transaction before the browser writes
    page.get_by_role("button", name="Envoyer 4 relances").click()
    expect(page.get_by_text(re.compile(r"pour 4 membre\(s\)"))).to_be_visible()
    expect(page.locator("tr[data-reminder]")).to_have_count(4)
    page.screenshot(path=ARTIFACTS / "coordination-echeances-et-journal.png", full_page=True)

    # The outbox: each partner gets its own list.
    db.session.expire_all()
    messages = list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "reminder")))
    director_mail = next(m for m in messages if m.to == journey.director)
    assert journey.own_name in director_mail.subject
    assert "Lettre d'engagement" in director_mail.text_body
    assert "Engagements signés" not in director_mail.text_body  # its figures are signed
    lead_mails = [m for m in messages if m.to in journey.lead_contacts]
    assert len(lead_mails) == len(journey.lead_contacts)
    assert "Engagements signés par la direction" in lead_mails[0].text_body
    html = director_mail.html_body
    assert f"/consortia/{journey.slug}/annexes/membres/{OWN}" in html
    db.session.rollback()  # nothing of the test may hold the database while the browser writes

    # Look at the e-mail as its recipient would.
    page.goto("about:blank")  # outside the application: its CSP would block the e-mail's inline styles
    page.set_content(html)
    expect(page.get_by_role("link", name="Pièce « Lettre d'engagement »")).to_be_visible()
    page.screenshot(path=ARTIFACTS / "coordination-courriel-de-relance.png", full_page=True)
    log_out_page = f"/consortia/{journey.slug}"
    page.goto(log_out_page)
    log_out(page)

    # The director sees what is left on the consortium's home, then uploads the letter.
    log_in(page, journey.director)
    page.goto(f"/consortia/{journey.slug}")
    todo = page.locator("#a-faire")
    expect(todo).to_contain_text("Il vous reste")
    expect(todo).to_contain_text("Lettre d'engagement")
    todo.screenshot(path=ARTIFACTS / "coordination-il-vous-reste.png")
    todo.get_by_role("link", name="Pièce « Lettre d'engagement »").click()
    page.get_by_label("Type de pièce").select_option(label="Lettre d'engagement")
    page.get_by_label("Fichier").set_input_files(
        files=[{"name": "lettre-engagement.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    page.get_by_role("button", name="Déposer la pièce").click()
    expect(page.get_by_text(re.compile("Pièce déposée pour"))).to_be_visible()
    log_out(page)

    # The board cell turns done; the activity feed tells the story.
    log_in(page, journey.coordinator)
    assert annex_cell(page, journey.slug, OWN) == "done"
    expect(
        page.locator(f'tr[data-partner="{OWN}"] td[data-column="annex:commitment_letter"]')
    ).to_contain_text("Fait")
    page.goto(f"/consortia/{journey.slug}/activite")
    expect(page.get_by_text("Échéance ajoutée").first).to_be_visible()
    expect(page.get_by_text("Relance envoyée").first).to_be_visible()
    expect(page.get_by_text("Annexe déposée").first).to_be_visible()
