"""Issue 3's whole journey in one browser test: the coordinator opens a consortium and its call for
volunteers; a PLIE volunteers, is accepted, sets a password and brings a colleague; the partner shows on
the partners page and the map; it withdraws, the totals drop; the coordinator reinstates it."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from app.money import format_eur
from tests.e2e.test_joining_journey import coordinator_email, invitation_path, log_in, open_browser

__all__ = ["coordinator_email"]  # the fixture, shared with the joining journey

pytestmark = pytest.mark.e2e

TITLE = "Tremplin Emploi Est francilien"
SLUG = "tremplin-emploi-est-francilien"
LEAD = "Maison de l'emploi de Paris Est"
ORGANISATION = "PLIE des Boucles de la Marne"
CODE = "plie-des-boucles-de-la-marne"
DIRECTOR_EMAIL = "nadia.benali@plie-boucles.example"
COLLEAGUE_EMAIL = "yanis.cherif@plie-boucles.example"
PERSONNEL = Decimal("12345.60")
INDIRECT = Decimal("1851.84")  # 15 % of the staff costs, the wizard's default rule
COST = PERSONNEL + INDIRECT


def total_cost(page: Page) -> str | None:
    """The consortium's total cost, as the overview shows it."""
    page.goto(f"/consortia/{SLUG}")
    total = page.locator(".key-figures .card").filter(has_text="Coût total").locator("strong")
    expect(total).to_be_visible()
    return total.text_content()


def test_a_consortium_is_formed_a_plie_joins_withdraws_and_is_reinstated(
    page: Page, new_context: Callable[..., BrowserContext], coordinator_email: str
) -> None:
    # 1. The coordinator opens a consortium with the wizard (default call, new lead, 15 % indirect costs).
    log_in(page, coordinator_email)
    page.get_by_role("link", name="Nouveau consortium").click()
    expect(page.get_by_role("heading", name="Ouvrir un consortium")).to_be_visible()
    page.get_by_label("Intitulé du projet").fill(TITLE)
    expect(page.get_by_label("Adresse du consortium")).to_have_value(SLUG)
    page.get_by_label("Acronyme").fill("TREMPLIN")
    page.get_by_label("Date limite de dépôt").fill("2035-11-30")
    page.get_by_label("Début du projet").fill("2036-01-01")
    page.get_by_label("Fin du projet").fill("2037-12-31")
    page.get_by_label("Chef de file", exact=True).select_option(
        label="Une autre organisation (à décrire ci-dessous)"
    )
    page.get_by_label("Nom de l'organisation").fill(LEAD)
    page.get_by_label("Type de structure").fill("MDE")
    page.get_by_label("Département(s)").fill("75")
    page.get_by_role("button", name="Ouvrir le consortium").click()
    expect(page).to_have_url(re.compile(rf"/consortia/{SLUG}$"))
    expect(page.get_by_text(f"Le consortium « {TITLE} » est ouvert")).to_be_visible()
    assert total_cost(page) == format_eur(Decimal(0))

    # ... and its call for volunteers.
    page.goto(f"/consortia/{SLUG}/candidatures")
    page.get_by_role("button", name="Ouvrir l'appel à candidatures").click()
    expect(page.get_by_text("L'appel à candidatures est ouvert")).to_be_visible()
    expect(page.locator("#lien-public")).to_have_value(re.compile(rf"/candidature/{SLUG}$"))

    # 2. A new PLIE director volunteers from the public page, in a browser with no session.
    director = open_browser(new_context)
    director.goto(f"/candidature/{SLUG}")
    expect(director.get_by_role("heading", level=1)).to_contain_text("Rejoindre le consortium")
    director.get_by_label("Nom de l'organisation").fill(ORGANISATION)
    director.get_by_label("Type de structure").fill("PLIE (association)")
    director.get_by_label("Département(s)").fill("94")
    director.get_by_label("SIRET (facultatif)").fill("732 829 320 00074")
    director.get_by_label("Vos prénom et nom").fill("Nadia Benali")
    director.get_by_label("Votre fonction").fill("Directrice du PLIE")
    director.get_by_label("Votre adresse e-mail").fill(DIRECTOR_EMAIL)
    director.get_by_label("Nombre de participants envisagés par an").fill("150")
    director.get_by_label("Votre motivation").fill("Nous accompagnons 400 personnes vers l'emploi.")
    director.get_by_role("button", name="Envoyer ma candidature").click()
    expect(
        director.get_by_role("heading", name="Merci, votre candidature a bien été transmise")
    ).to_be_visible()

    # 3. The coordinator accepts it.
    page.reload()
    request = page.locator("article[data-request]").filter(has_text=ORGANISATION)
    expect(request).to_contain_text("Nadia Benali")
    request.get_by_role("button", name="Accepter").click()
    expect(
        page.get_by_text(f"Candidature acceptée : « {ORGANISATION} » est membre du consortium.")
    ).to_be_visible()

    # 4. The director opens the e-mailed link, sets a password and is logged in.
    director.goto(invitation_path(DIRECTOR_EMAIL))
    expect(director.get_by_role("heading", name="Créez votre accès")).to_be_visible()
    director.get_by_label("Choisissez un mot de passe").fill("des boucles et des rivières")
    director.get_by_label("Retapez le mot de passe").fill("des boucles et des rivières")
    director.get_by_role("button", name="Créer mon accès et rejoindre le consortium").click()
    expect(director).to_have_url(re.compile(rf"/consortia/{SLUG}$"))
    expect(director.get_by_text(f"Bienvenue dans le consortium « {TITLE} » !")).to_be_visible()
    expect(director.get_by_role("button", name="Se déconnecter")).to_be_visible()

    # 5. She invites a contributor, who joins from a third browser.
    director.goto(f"/consortia/{SLUG}/invitations")
    director.get_by_label("Nom de la personne invitée").fill("Yanis Chérif")
    director.get_by_label("Son adresse e-mail").fill(COLLEAGUE_EMAIL)
    director.get_by_role("combobox", name=re.compile("^Rôle")).select_option("contributor")
    director.get_by_role("button", name="Envoyer l'invitation").click()
    expect(director.get_by_text(f"Invitation envoyée à {COLLEAGUE_EMAIL}.")).to_be_visible()
    colleague = open_browser(new_context)
    colleague.goto(invitation_path(COLLEAGUE_EMAIL))
    colleague.get_by_label("Choisissez un mot de passe").fill("un mot de passe assez long")
    colleague.get_by_label("Retapez le mot de passe").fill("un mot de passe assez long")
    colleague.get_by_role("button", name="Créer mon accès et rejoindre le consortium").click()
    expect(colleague).to_have_url(re.compile(rf"/consortia/{SLUG}$"))
    colleague.goto("/")
    expect(colleague.get_by_text(f"Votre rôle : Contribution — {ORGANISATION}")).to_be_visible()

    # 6. The director enters a balanced budget (staff costs; indirect costs follow; the FSE pays it all).
    director.goto(f"/consortia/{SLUG}/membres/{CODE}/budget")
    director.locator("#m-2036-expense-personnel").fill("12 345,60")
    expect(director.locator('output[data-computed="indirects"][data-year="2036"]')).to_have_text(
        format_eur(INDIRECT)
    )
    balance = director.locator('td[data-balance="2036"]')
    expect(balance).to_contain_text("Il manque des ressources")
    director.locator("#m-2036-resource-fse").fill("14 197,44")
    expect(balance).to_have_class(re.compile("balance-ok"))
    director.get_by_role("button", name="Enregistrer le budget").click()
    expect(director.get_by_text("Enregistré : 2 case(s) modifiée(s).")).to_be_visible()
    assert total_cost(director) == format_eur(COST)

    # 7. The partner is on the partners page, with its people, and on the map in the Val-de-Marne.
    director.goto(f"/consortia/{SLUG}/membres")
    expect(director.get_by_role("heading", name="Membres du consortium")).to_be_visible()
    row = director.locator(f'tr[data-partner="{CODE}"]')
    expect(row).to_contain_text(ORGANISATION)
    expect(row).to_contain_text("Actif")
    expect(row).to_contain_text(format_eur(COST))
    expect(director.locator("svg.members-map")).to_be_visible()
    expect(director.locator("#carte-membres-94")).to_contain_text(ORGANISATION)
    director.get_by_role("link", name=ORGANISATION).first.click()
    expect(director.get_by_text("Nadia Benali").first).to_be_visible()
    expect(director.get_by_text("Yanis Chérif").first).to_be_visible()

    # 8. The director withdraws the partner, with a reason: the totals drop.
    director.get_by_role("link", name="Retirer ce membre du consortium…").click()
    director.get_by_label("Raison du retrait").fill("Le conseil d'administration a renoncé")
    director.get_by_role("button", name=f"Confirmer le retrait de {ORGANISATION}").click()
    expect(director.get_by_text(f"{ORGANISATION} est retiré du consortium.")).to_be_visible()
    expect(director.locator(f'tr[data-partner="{CODE}"]')).to_contain_text("Retiré")
    expect(director.locator("#carte-membres-94")).not_to_contain_text(ORGANISATION)
    assert total_cost(director) == format_eur(Decimal(0))

    # 9. The coordinator reinstates it: the totals are back.
    page.goto(f"/consortia/{SLUG}/membres/{CODE}")
    expect(page.get_by_text("Raison : « Le conseil d'administration a renoncé »")).to_be_visible()
    page.get_by_role("button", name=f"Réintégrer {ORGANISATION}").click()
    expect(page.get_by_text(f"{ORGANISATION} réintègre le consortium")).to_be_visible()
    expect(page.locator(f'tr[data-partner="{CODE}"]')).to_contain_text("Actif")
    expect(page.locator("#carte-membres-94")).to_contain_text(ORGANISATION)
    assert total_cost(page) == format_eur(COST)
