"""In a real browser: a director asks for a daily digest of mentions; the coordinator filters the
consortium's activity by partner and by kind."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.consortia.models import Role, RoleGrant
from app.consortia.services import partner_by_code
from app.extensions import db
from app.members import services as members
from app.members import withdrawal
from app.notifications.models import Delivery, NotificationKind
from app.notifications.services import preferences_of
from tests.factories import PASSWORD, make_consortium, make_member

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def log_in(page: Page, email: str) -> None:
    page.goto("/connexion")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", name="Mes consortiums")).to_be_visible()


def test_digest_of_mentions_and_the_coordinators_filtered_feed(page: Page) -> None:
    consortium = make_consortium()
    coordinator = make_member(consortium, Role.COORDINATOR, "urtie-idf", email="coordination@exemple.fr")
    director = make_member(consortium, Role.DIRECTOR, "plie-sevran", email="direction@sevran.example")
    contributor = make_member(consortium, Role.CONTRIBUTOR, "plie-sevran", email="redaction@sevran.example")
    grant = db.session.scalar(select(RoleGrant).where(RoleGrant.user_id == contributor.id))
    assert grant is not None
    members.change_role(grant, Role.DIRECTOR, by=director)
    aulnay = partner_by_code(consortium, "mde-aulnay")
    assert aulnay is not None
    withdrawal.withdraw_partner(aulnay, by=coordinator, reason="Fusion avec le PLIE de Sevran")
    slug, director_email, director_name = consortium.slug, director.email, director.name
    coordinator_email = coordinator.email
    db.session.commit()  # end the transaction before the browser's requests

    # The director chooses a daily digest for mentions, from the name in the top bar.
    log_in(page, director_email)
    page.get_by_role("link", name=director_name).click()
    expect(page.get_by_role("heading", name="Mes notifications")).to_be_visible()
    mentions = page.get_by_role("group", name="Mentions")
    mentions.get_by_label("Résumé quotidien").check()
    page.get_by_role("button", name="Enregistrer mes préférences").click()
    expect(page.get_by_text("Vos préférences de notification sont enregistrées.")).to_be_visible()
    expect(mentions.get_by_label("Résumé quotidien")).to_be_checked()
    expect(page.get_by_role("group", name="Signature annulée").get_by_label("Immédiatement")).to_be_checked()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "preferences-de-notification.png", full_page=True)
    db.session.expire_all()
    assert preferences_of(director)[NotificationKind.MENTION] is Delivery.DIGEST
    db.session.commit()
    page.get_by_role("button", name="Se déconnecter").click()

    # The coordinator opens the activity tab and narrows it to Aulnay's membership events.
    log_in(page, coordinator_email)
    page.goto(f"/consortia/{slug}")
    page.get_by_role("link", name="Activité").click()
    feed = page.locator("table.activity-feed")
    expect(feed).to_contain_text("Rôle changé")
    expect(feed).to_contain_text("Membre retiré du consortium")
    aulnay_option = "Maison de l'emploi d'Aulnay-sous-Bois (retiré)"
    page.get_by_label("Membre", exact=True).select_option(label=aulnay_option)
    page.get_by_label("Type d'action").select_option(label="Membres")
    page.get_by_role("button", name="Filtrer").click()
    expect(feed).to_contain_text("Membre retiré du consortium")
    expect(feed).to_contain_text("Raison : « Fusion avec le PLIE de Sevran »")
    expect(feed).not_to_contain_text("Rôle changé")
    expect(page.get_by_text("1 action correspondant aux filtres")).to_be_visible()
    page.screenshot(path=ARTIFACTS / "journal-activite-filtre.png", full_page=True)
    page.get_by_role("link", name="Tout afficher").click()
    expect(feed).to_contain_text("Rôle changé")
    page.screenshot(path=ARTIFACTS / "journal-activite.png", full_page=True)
