"""In a real browser: the coordinator opens a consortium with the wizard, then edits its chapters."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Dialog, Page, expect
from sqlalchemy import select

from app.consortia.models import Consortium, Role
from app.extensions import db
from app.sections.models import RevisionKind
from app.sections.plan import section_of
from app.sections.services import append_revision
from tests.factories import PASSWORD, make_consortium, make_member

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TITLE = "Passerelles Emploi Val-de-Marne"
SLUG = "passerelles-emploi-val-de-marne"


@pytest.fixture
def coordinator_email() -> str:
    """The imported demo and a person coordinating it, committed."""
    demo = make_consortium()
    make_member(demo, Role.COORDINATOR, "urtie-idf", email="coordination@exemple.fr")
    # No transaction may stay open: outside requests SQLite takes the write lock the browser needs.
    db.session.commit()
    return "coordination@exemple.fr"


def log_in(page: Page, email: str) -> None:
    page.goto("/connexion")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", name="Mes consortiums")).to_be_visible()


def plan_codes(page: Page) -> list[str]:
    return page.locator("table.section-plan tbody tr[data-code]").evaluate_all(
        "rows => rows.map(row => row.dataset.code)"
    )


def test_coordinator_opens_a_consortium_then_edits_its_chapters(page: Page, coordinator_email: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    log_in(page, coordinator_email)
    page.get_by_role("link", name="Nouveau consortium").click()
    expect(page.get_by_role("heading", name="Ouvrir un consortium")).to_be_visible()

    # 1. The known call is offered first; its "new call" fields stay hidden.
    expect(page.get_by_label("Appel à projets", exact=True)).to_have_value(re.compile(r"^\d+$"))
    expect(page.get_by_label("Nom de l'appel à projets")).to_be_hidden()
    # 2. The address follows the title until the person types one.
    page.get_by_label("Intitulé du projet").fill(TITLE)
    expect(page.get_by_label("Adresse du consortium")).to_have_value(SLUG)
    page.get_by_label("Acronyme").fill("PASSERELLES")
    page.get_by_label("Date limite de dépôt").fill("2035-06-30")
    page.get_by_label("Début du projet").fill("2035-09-01")
    page.get_by_label("Fin du projet").fill("2038-08-31")
    # 3. A new lead organisation, described in the fields that appear.
    page.get_by_label("Chef de file", exact=True).select_option(
        label="Une autre organisation (à décrire ci-dessous)"
    )
    expect(page.get_by_label("Nom de l'organisation")).to_be_visible()
    page.get_by_label("Nom de l'organisation").fill("PLIE du Val-de-Marne")
    page.get_by_label("Type de structure").fill("PLIE")
    page.get_by_label("Département(s)").fill("94")
    page.get_by_label("SIRET").fill("732 829 320 00075")  # one digit wrong
    # 4. The indirect-cost rule.
    page.get_by_label(re.compile("^Forfait de 20 %")).check()
    page.get_by_role("button", name="Ouvrir le consortium").click()

    expect(page.locator("#organisation_siret-erreur")).to_contain_text("Ce SIRET n'est pas valide")
    expect(page.get_by_label("Intitulé du projet")).to_have_value(TITLE)
    expect(page.get_by_label(re.compile("^Forfait de 20 %"))).to_be_checked()
    page.screenshot(path=ARTIFACTS / "ouverture-erreur.png", full_page=True)
    page.get_by_label("SIRET").fill("732 829 320 00074")
    page.get_by_role("button", name="Ouvrir le consortium").click()

    expect(page).to_have_url(re.compile(rf"/consortia/{SLUG}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(TITLE)
    expect(page.get_by_text(f"Le consortium « {TITLE} » est ouvert")).to_be_visible()
    lead = page.locator('tr[data-partner="plie-du-val-de-marne"]')
    expect(lead).to_contain_text("PLIE du Val-de-Marne")
    expect(lead).to_contain_text("Chef de file")
    page.screenshot(path=ARTIFACTS / "ouverture-vue-d-ensemble.png", full_page=True)

    # The chapters: sixteen by default; add one, move it up with the keyboard, archive a written one.
    page.goto(f"/consortia/{SLUG}/chapitres")
    expect(page.locator("table.section-plan tbody tr[data-code]")).to_have_count(16)
    page.get_by_label("Titre du chapitre").fill("Égalité femmes-hommes")
    page.get_by_label("Texte commun et une partie par membre").check()
    page.get_by_label("Limite du texte commun (caractères)").fill("3000")
    page.get_by_role("button", name="Ajouter le chapitre").click()
    expect(page.get_by_text("Chapitre « Égalité femmes-hommes » ajouté en fin de plan.")).to_be_visible()
    assert plan_codes(page)[-1] == "egalite_femmes_hommes"

    page.get_by_role("button", name="Monter « Égalité femmes-hommes »").click()
    up = page.get_by_role("button", name="Monter « Égalité femmes-hommes »")
    expect(up).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Monter « Égalité femmes-hommes »")).to_be_focused()
    assert plan_codes(page)[-3:] == ["egalite_femmes_hommes", "budget", "annexes"]

    consortium = db.session.scalar(select(Consortium).where(Consortium.slug == SLUG))
    assert consortium is not None
    append_revision(
        section_of(consortium, "resume"), None, "<p>Premier jet.</p>", kind=RevisionKind.EDIT, author_id=None
    )
    db.session.commit()
    page.reload()
    page.get_by_role("button", name="Archiver « Résumé du projet »").click()
    expect(page.get_by_text("Chapitre « Résumé du projet » archivé")).to_be_visible()
    assert "resume" not in plan_codes(page)
    archives = page.get_by_role("region", name="Chapitres archivés")
    expect(archives).to_contain_text("Résumé du projet")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Supprimer « Caractère innovant et expérimental »").click()
    expect(page.get_by_text("Chapitre « Caractère innovant et expérimental » supprimé")).to_be_visible()
    assert "innovation" not in plan_codes(page)
    page.screenshot(path=ARTIFACTS / "plan-des-chapitres.png", full_page=True)

    archives.get_by_role("button", name="Rétablir « Résumé du projet »").click()
    expect(page.get_by_text("Chapitre « Résumé du projet » rétabli en fin de plan.")).to_be_visible()
    assert plan_codes(page)[-1] == "resume"


def test_cancelling_the_confirmation_deletes_nothing(page: Page, coordinator_email: str) -> None:
    log_in(page, coordinator_email)
    page.goto("/consortia/cap-remob-idf/chapitres")

    def dismiss(dialog: Dialog) -> None:
        assert "Il ne contient aucun texte" in dialog.message
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.get_by_role("button", name="Supprimer « Caractère innovant et expérimental »").click()

    expect(page.locator('tr[data-code="innovation"]')).to_be_visible()
    assert "innovation" in plan_codes(page)
