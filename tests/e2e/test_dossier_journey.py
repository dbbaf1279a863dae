"""In a real browser: the coordinator exports the dossier's PDF (rendered in the background, with its
progress), freezes the submitted version, edits a section, and sees the difference against it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.consortia.models import Role
from app.dossier.models import DossierSnapshot
from app.extensions import db
from app.sections.models import Section, SectionPart
from tests.factories import PASSWORD, make_consortium, make_member

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ADDED = "Nouveauté après le dépôt : un atelier numérique chaque semaine."


def log_in(page: Page, email: str) -> None:
    page.goto("/connexion")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(re.compile(r"/$"))


def shared_section_code(consortium_id: int) -> tuple[str, str]:
    for section in db.session.scalars(
        select(Section).where(Section.consortium_id == consortium_id).order_by(Section.position)
    ):
        part = db.session.scalar(
            select(SectionPart).where(SectionPart.section_id == section.id, SectionPart.partner_id.is_(None))
        )
        if part is not None and part.head_revision_id is not None and not section.generated:
            return section.code, section.title
    raise AssertionError("no shared text in the demo")


def test_coordinator_exports_freezes_edits_and_sees_the_difference(
    page: Page, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The live server runs jobs as production does without Redis: in a background thread.
    monkeypatch.setitem(app.config, "JOBS_SYNCHRONOUS", False)
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    consortium = make_consortium(3)
    email = make_member(consortium, Role.COORDINATOR, "urtie-idf", email="coordination@exemple.fr").email
    slug = consortium.slug
    code, title = shared_section_code(consortium.id)
    db.session.commit()
    db.session.rollback()
    ARTIFACTS.mkdir(exist_ok=True)

    log_in(page, email)
    page.goto(f"/consortia/{slug}")
    page.get_by_role("navigation", name="Pages du consortium").get_by_role("link", name="Dossier").click()
    expect(page.get_by_role("heading", name="Le dossier à déposer")).to_be_visible()
    expect(page.get_by_text("Aucune erreur : le dossier peut être exporté")).to_be_visible()

    # The draft PDF: the page shows the progress, then the download link, without reloading.
    page.get_by_role("button", name="PDF brouillon").click()
    expect(page.get_by_text("PDF brouillon prêt")).to_be_visible(timeout=60_000)
    page.screenshot(path=ARTIFACTS / "dossier-export.png", full_page=True)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Télécharger le PDF brouillon").click()
    download = download_info.value
    assert download.suggested_filename == f"dossier-{slug}-brouillon.pdf"
    assert Path(download.path()).read_bytes().startswith(b"%PDF")

    # Freezing the submitted version.
    page.get_by_label("Note (facultative)").fill("Déposé sur la plateforme de la Région")
    page.get_by_role("button", name="Figer la version déposée").click()
    # Frozen in the background too: the page follows it, then links to the version.
    expect(page.get_by_text("Version déposée n° 1 figée")).to_be_visible(timeout=60_000)
    to_version = page.get_by_role("link", name="Voir la version déposée n° 1")
    if to_version.count():  # not when the job was done before the page came back
        to_version.click()
    expect(page.get_by_role("heading", name="Version déposée n° 1")).to_be_visible()
    expect(page.get_by_text("Aucune modification depuis cette version")).to_be_visible()
    expect(page.get_by_text("Déposé", exact=False).first).to_be_visible()
    db.session.rollback()
    snapshot = db.session.scalars(select(DossierSnapshot)).one()
    assert snapshot.number == 1
    db.session.rollback()

    # An edit after the deposit.
    page.goto(f"/consortia/{slug}/redaction/{code}")
    surface = page.locator("#commun .editor-surface")
    surface.click()
    page.keyboard.press("Control+End")
    page.keyboard.press("Enter")
    page.keyboard.type(ADDED)
    expect(page.locator("#commun .save-state")).to_contain_text("Enregistré à", timeout=10_000)

    # The export page says so, and the version page shows the difference.
    page.goto(f"/consortia/{slug}/dossier")
    expect(page.get_by_text("Le dossier a été modifié depuis la version déposée n° 1")).to_be_visible()
    page.get_by_role("link", name="Comparer avec l'état actuel").click()
    expect(page.get_by_text("Textes modifiés (1)")).to_be_visible()
    change = page.locator(".text-change")
    expect(change).to_contain_text(title)
    expect(change).to_contain_text("texte commun")
    expect(change.locator("ins")).to_contain_text("atelier numérique")
    page.screenshot(path=ARTIFACTS / "dossier-difference.png", full_page=True)

    # The frozen PDF is still downloadable as it was.
    with page.expect_download() as frozen_info:
        page.get_by_role("link", name="PDF déposé").click()
    assert Path(frozen_info.value.path()).read_bytes()[:4] == b"%PDF"
