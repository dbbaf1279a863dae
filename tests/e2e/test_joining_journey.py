"""Joining in a real browser: the call for volunteers is opened, a PLIE volunteers, is accepted, sets a
password, and invites a colleague who joins too."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import select

from app.consortia.models import Partner, Role, RoleGrant
from app.extensions import db
from app.mail.models import OutboxMessage
from tests.factories import PASSWORD, make_consortium, make_member

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SLUG = "cap-remob-idf"
ORGANISATION = "PLIE des Boucles de la Marne"
DIRECTOR_EMAIL = "nadia.benali@plie-boucles.example"
COLLEAGUE_EMAIL = "yanis.cherif@plie-boucles.example"
LINK = re.compile(r"https?://[^/\s]+(/invitation/[A-Za-z0-9_-]+)")


@pytest.fixture
def coordinator_email() -> str:
    """The demo consortium (call closed) and its coordinator, committed."""
    consortium = make_consortium()
    consortium.volunteering_open = False
    coordinator = make_member(consortium, Role.COORDINATOR, "urtie-idf", email="coordination@urtie.example")
    email = coordinator.email
    db.session.commit()  # end the transaction: the browser's requests must be able to write
    return email


def open_browser(new_context: Callable[..., BrowserContext]) -> Page:
    """Another browser (a volunteer's, a colleague's) with its own cookies, closed after the test."""
    page = new_context(locale="fr-FR").new_page()
    page.set_default_timeout(10_000)
    return page


def invitation_path(email: str) -> str:
    """The link of the last invitation e-mailed to the address, read from the outbox."""
    message = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.to == email).order_by(OutboxMessage.id.desc())
    ).first()
    assert message is not None, f"aucun courriel pour {email}"
    found = LINK.search(message.text_body)
    db.session.commit()  # release the database for the server's threads
    assert found is not None, message.text_body
    return found.group(1)


def log_in(page: Page, email: str) -> None:
    page.goto("/connexion")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", name="Mes consortiums")).to_be_visible()


def test_a_plie_volunteers_is_accepted_sets_a_password_and_brings_a_colleague(
    page: Page, new_context: Callable[..., BrowserContext], coordinator_email: str
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)

    # The coordinator opens the call for volunteers and gets the link to share.
    log_in(page, coordinator_email)
    page.goto(f"/consortia/{SLUG}/candidatures")
    expect(page.get_by_role("heading", name="La page publique est fermée")).to_be_visible()
    page.get_by_role("button", name="Ouvrir l'appel à candidatures").click()
    expect(page.get_by_text("L'appel à candidatures est ouvert")).to_be_visible()
    expect(page.locator("#lien-public")).to_have_value(re.compile(rf"/candidature/{SLUG}$"))

    # A PLIE director, with no account, volunteers from the public page.
    volunteer = open_browser(new_context)
    volunteer.goto(f"/candidature/{SLUG}")
    expect(volunteer.get_by_role("heading", level=1)).to_contain_text("Rejoindre le consortium")
    volunteer.get_by_label("Nom de l'organisation").fill(ORGANISATION)
    volunteer.get_by_label("Type de structure").fill("PLIE (association)")
    volunteer.get_by_label("Département(s)").fill("94")
    volunteer.get_by_label("SIRET (facultatif)").fill("732 829 320 00075")  # a typo in the check digit
    volunteer.get_by_label("Vos prénom et nom").fill("Nadia Benali")
    volunteer.get_by_label("Votre fonction").fill("Directrice du PLIE")
    volunteer.get_by_label("Votre adresse e-mail").fill(DIRECTOR_EMAIL)
    volunteer.get_by_label("Nombre de participants envisagés par an").fill("150")
    volunteer.get_by_label("Votre motivation").fill("Nous accompagnons 400 personnes vers l'emploi.")
    volunteer.get_by_role("button", name="Envoyer ma candidature").click()
    expect(volunteer.locator("#siret-erreur")).to_contain_text("Ce numéro SIRET n'est pas valide")
    expect(volunteer.get_by_label("Votre motivation")).to_have_value(
        "Nous accompagnons 400 personnes vers l'emploi."
    )
    volunteer.get_by_label("SIRET (facultatif)").fill("732 829 320 00074")
    volunteer.get_by_role("button", name="Envoyer ma candidature").click()
    expect(
        volunteer.get_by_role("heading", name="Merci, votre candidature a bien été transmise")
    ).to_be_visible()

    # The coordinator accepts it.
    page.reload()
    request = page.locator("article[data-request]").filter(has_text=ORGANISATION)
    expect(request).to_contain_text("Nadia Benali")
    expect(request).to_contain_text("73282932000074")
    page.screenshot(path=ARTIFACTS / "candidatures.png", full_page=True)
    request.get_by_role("button", name="Accepter").click()
    expect(
        page.get_by_text(f"Candidature acceptée : « {ORGANISATION} » est membre du consortium.")
    ).to_be_visible()
    expect(page.locator("article[data-request]")).to_have_count(0)

    # The volunteer opens the link of the e-mail, chooses a password and lands in the consortium.
    volunteer.goto(invitation_path(DIRECTOR_EMAIL))
    expect(volunteer.get_by_role("heading", name="Créez votre accès")).to_be_visible()
    expect(volunteer.get_by_label("Vos prénom et nom")).to_have_value("Nadia Benali")
    volunteer.get_by_label("Choisissez un mot de passe").fill("des boucles et des rivières")
    volunteer.get_by_label("Retapez le mot de passe").fill("des boucles et des rivières")
    volunteer.get_by_role("button", name="Créer mon accès et rejoindre le consortium").click()
    expect(volunteer).to_have_url(re.compile(rf"/consortia/{SLUG}$"))
    expect(
        volunteer.get_by_text("Bienvenue dans le consortium « Cap Remobilisation Île-de-France » !")
    ).to_be_visible()
    expect(volunteer.get_by_role("button", name="Se déconnecter")).to_be_visible()

    # As the partner's director, she invites a colleague as a contributor.
    volunteer.goto(f"/consortia/{SLUG}/invitations")
    expect(volunteer.get_by_text("Invitez vos collègues de")).to_contain_text(ORGANISATION)
    volunteer.get_by_label("Nom de la personne invitée").fill("Yanis Chérif")
    volunteer.get_by_label("Son adresse e-mail").fill(COLLEAGUE_EMAIL)
    volunteer.get_by_role("combobox", name=re.compile("^Rôle")).select_option("contributor")
    volunteer.get_by_role("button", name="Envoyer l'invitation").click()
    expect(volunteer.get_by_text(f"Invitation envoyée à {COLLEAGUE_EMAIL}.")).to_be_visible()
    row = volunteer.locator("tr[data-invitation]").filter(has_text=COLLEAGUE_EMAIL)
    expect(row).to_contain_text("En attente")
    volunteer.screenshot(path=ARTIFACTS / "invitations.png", full_page=True)

    # The colleague joins from another browser.
    colleague = open_browser(new_context)
    colleague.goto(invitation_path(COLLEAGUE_EMAIL))
    expect(colleague.get_by_text("à rejoindre l'équipe de")).to_contain_text(ORGANISATION)
    colleague.get_by_label("Choisissez un mot de passe").fill("un mot de passe assez long")
    colleague.get_by_label("Retapez le mot de passe").fill("un mot de passe assez long")
    colleague.get_by_role("button", name="Créer mon accès et rejoindre le consortium").click()
    expect(colleague).to_have_url(re.compile(rf"/consortia/{SLUG}$"))
    colleague.goto("/")
    expect(colleague.get_by_text(f"Votre rôle : Contribution — {ORGANISATION}")).to_be_visible()

    volunteer.reload()
    expect(row).to_contain_text("Acceptée")

    roles = {
        grant.user.email: (grant.role, grant.partner.name if grant.partner else None)
        for grant in db.session.scalars(select(RoleGrant))
    }
    partner = db.session.scalars(select(Partner).where(Partner.code == "plie-des-boucles-de-la-marne")).one()
    assert partner.organisation.siret == "73282932000074"
    db.session.commit()
    assert roles[DIRECTOR_EMAIL] == (Role.DIRECTOR, ORGANISATION)
    assert roles[COLLEAGUE_EMAIL] == (Role.CONTRIBUTOR, ORGANISATION)
