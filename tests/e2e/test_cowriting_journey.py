"""In a real browser: two people write the same text; the stale save shows the conflict view with both
texts, the merge is saved, the history lists every revision and restores one, a comment is posted and
resolved, and the coordinator validates the section."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from app.consortia.models import Role
from app.consortia.services import partner_by_code
from app.extensions import db
from app.sections.models import RevisionKind, Section, SectionPart, SectionRevision, SectionStatus
from tests.factories import PASSWORD, make_consortium, make_member

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CODE = "role_membre"


@dataclass(frozen=True)
class Journey:
    slug: str
    coordinator: str
    director: str
    part_key: str
    partner_id: int


@pytest.fixture
def journey() -> Journey:
    consortium = make_consortium()
    coordinator = make_member(consortium, Role.COORDINATOR, "urtie-idf", email="coordination@exemple.fr")
    director = make_member(consortium, Role.DIRECTOR, "plie-sevran", email="direction@sevran.example")
    partner = partner_by_code(consortium, "plie-sevran")
    journey = Journey(consortium.slug, coordinator.email, director.email, f"membre-{partner.id}", partner.id)
    db.session.commit()
    return journey


def log_in(page: Page, email: str) -> None:
    page.goto("/connexion")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", name="Mes consortiums")).to_be_visible()


def without_cues(text: str) -> str:
    """The text of a side of the conflict view without the words read to screen readers."""
    return " ".join(re.sub(r"\[(retiré|ajouté)\s*:\s*|\]", " ", text).split())


def part_revisions(journey: Journey) -> list[tuple[int, RevisionKind, str]]:
    db.session.rollback()
    part = db.session.scalar(
        select(SectionPart)
        .join(Section)
        .where(Section.code == CODE, SectionPart.partner_id == journey.partner_id)
    )
    assert part is not None
    rows = db.session.scalars(
        select(SectionRevision).where(SectionRevision.part_id == part.id).order_by(SectionRevision.number)
    )
    result = [(row.number, row.kind, row.content) for row in rows]
    db.session.rollback()  # no read transaction left open while the browser writes (SQLite locks)
    return result


def test_two_writers_a_conflict_a_merge_history_restore_comment_and_validation(
    page: Page, browser: Browser, base_url: str, journey: Journey
) -> None:
    url = f"/consortia/{journey.slug}/redaction/{CODE}"
    part = f"#{journey.part_key}"

    # The director of Sevran and the coordinator open the same text (nobody has written it yet).
    log_in(page, journey.director)
    page.goto(url)
    other_context = browser.new_context(base_url=base_url)
    coordinator = other_context.new_page()
    coordinator.set_default_timeout(10_000)
    log_in(coordinator, journey.coordinator)
    coordinator.goto(url)

    # The director writes; the coordinator, already on the page, is told within 5 seconds.
    page.locator(f"{part} .editor-surface").click()
    presence = coordinator.locator(f"{part} [data-presence-for]")
    expect(presence).to_contain_text("modifie ce texte depuis", timeout=5_000)
    page.keyboard.press("Control+End")
    page.keyboard.press("Enter")
    page.keyboard.type("Le PLIE de Sevran accueille les participants de Sevran et de Livry-Gargan.")
    expect(page.locator(f"{part} .save-state")).to_contain_text("Enregistré à", timeout=10_000)
    expect(page.locator(f"{part} .counter")).to_contain_text("/ 1 500 caractères")
    page.screenshot(path=ARTIFACTS / "cowriting-editor.png", full_page=False)
    imported = part_revisions(journey)[0][2]
    opening = re.sub(r"<[^>]+>", "", imported)[:60]

    # The coordinator, still on revision 0, writes something else at the same place: conflict view.
    coordinator.locator(f"{part} .editor-surface").click()
    coordinator.keyboard.press("Control+End")
    coordinator.keyboard.press("Enter")
    coordinator.keyboard.type("La coordination précise le rôle de Sevran dans le repérage.")
    conflict = coordinator.locator(f"{part} .conflict-panel")
    expect(conflict).to_be_visible(timeout=10_000)
    expect(conflict).to_contain_text("Version enregistrée (la leur)")
    theirs, mine = (
        without_cues(conflict.locator(".conflict-view > div").nth(n).inner_text()) for n in (0, 1)
    )
    assert "Le PLIE de Sevran accueille les participants" in theirs
    assert "La coordination précise le rôle de Sevran" not in theirs
    assert "La coordination précise le rôle de Sevran" in mine
    expect(conflict.locator("ins").first).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    conflict.screenshot(path=ARTIFACTS / "cowriting-conflict.png")

    # Merging by hand starts from the three-way merge: the common text once, both new paragraphs
    # between marks; nothing is saved while marks remain, whatever the person types meanwhile.
    conflict.get_by_role("button", name="Fusionner à la main").click()
    surface = coordinator.locator(f"{part} .editor-surface")
    expect(surface).to_contain_text("⟦ Conflit 1 : version enregistrée par les autres ⟧")
    assert surface.inner_text().count("Le PLIE de Sevran accueille") == 1
    assert surface.inner_text().count("La coordination précise") == 1
    assert surface.inner_text().count(opening) == 1
    marks = surface.locator("p.clash-mark")
    expect(marks).to_have_count(3)
    coordinator.screenshot(path=ARTIFACTS / "cowriting-merge.png", full_page=False)
    conflict.get_by_role("button", name="Enregistrer la fusion").click()
    expect(conflict.get_by_role("alert").last).to_contain_text("il reste 3 marques")
    coordinator.wait_for_timeout(3_000)  # longer than the autosave delay
    assert len(part_revisions(journey)) == 3
    for _mark in range(3):
        marks.first.click()
        coordinator.keyboard.press("End")
        coordinator.keyboard.press("Shift+Home")
        coordinator.keyboard.press("Backspace")
    expect(marks).to_have_count(0)
    expect(conflict).to_contain_text("Plus aucune marque de conflit")
    conflict.get_by_role("button", name="Enregistrer la fusion").click()
    expect(coordinator.locator(f"{part} .save-state")).to_contain_text("Enregistré à", timeout=10_000)
    revisions = part_revisions(journey)
    # The demo's imported text, the director's edit, the coordinator's conflict copy, the merge.
    assert [kind for _n, kind, _c in revisions] == [
        RevisionKind.IMPORT,
        RevisionKind.EDIT,
        RevisionKind.CONFLICT_COPY,
        RevisionKind.EDIT,
    ]
    merged = revisions[-1][2]
    assert merged.count("Le PLIE de Sevran accueille") == 1
    assert merged.count("La coordination précise") == 1
    assert re.sub(r"<[^>]+>", "", merged).count(opening) == 1
    assert "⟦" not in merged

    # The history lists every revision; restoring the first one appends a fifth.
    coordinator.goto(url)
    coordinator.locator(part).get_by_role("link", name="Historique des versions").click()
    rows = coordinator.locator("tbody tr")
    expect(rows).to_have_count(4)
    coordinator.screenshot(path=ARTIFACTS / "cowriting-history.png", full_page=True)
    rows.last.get_by_role("button", name="Restaurer cette version").click()
    expect(coordinator.locator(".alert").first).to_contain_text("restaurée")
    revisions = part_revisions(journey)
    assert revisions[-1][1] == RevisionKind.RESTORE
    assert revisions[-1][2] == revisions[0][2]

    # A comment on the part, then resolved.
    coordinator.goto(url)
    box = coordinator.locator(part)
    box.locator("summary", has_text="Commentaires").click()
    box.get_by_label("Nouveau commentaire").fill("Pouvez-vous ajouter le nombre de participants attendus ?")
    box.get_by_label("Mentionner").select_option(label="Membre : PLIE de Sevran")
    box.get_by_role("button", name="Publier le commentaire").click()
    expect(coordinator.get_by_text("Commentaire publié.")).to_be_visible()
    thread = coordinator.locator(f"{part} .comment-thread").first
    expect(thread).to_contain_text("Pouvez-vous ajouter le nombre de participants attendus ?")
    thread.get_by_role("button", name="Marquer comme résolu").click()
    expect(coordinator.get_by_text("Fil de discussion résolu.")).to_be_visible()

    # The director proposes the part for review; only the coordinator may validate it.
    page.goto(url)
    expect(page.locator(part).get_by_role("button", name="Valider")).to_have_count(0)
    page.locator(part).get_by_role("button", name="Proposer à la relecture").click()
    expect(page.get_by_text("Statut : « À relire ».")).to_be_visible()
    coordinator.goto(url)
    coordinator.locator(part).get_by_role("button", name="Valider").click()
    expect(coordinator.get_by_text("Statut : « Validé ».")).to_be_visible()
    db.session.rollback()
    stored = db.session.scalar(
        select(SectionPart)
        .where(SectionPart.partner_id == journey.partner_id)
        .join(Section)
        .where(Section.code == CODE)
    )
    assert stored is not None
    assert stored.status == SectionStatus.VALIDATED
    other_context.close()


SAMPLES = [
    "<p>Bonjour  le\u00a0monde</p><p>Deuxième paragraphe.</p>",
    "<h3>Titre</h3><ul><li>un</li><li>deux<ul><li>imbriqué</li></ul></li></ul><p>fin</p>",
    "<table><tbody><tr><td>a</td><td>b</td></tr><tr><td>c</td><td>d</td></tr></tbody></table>",
    '<p>e\u0301t\u00e9 👩‍👩‍👧 שלום <a href="https://exemple.fr">lien</a><br>ligne</p><blockquote>cité</blockquote>',
    "<p>&lt;pas une balise&gt; &amp; caf&eacute;</p>",
]

WORD_PASTE = (
    "<html><head><style>p.MsoNormal{margin:0}</style></head><body>"
    '<p class="MsoNormal" style="margin:0cm;font-family:Calibri"><b>Objectif</b> : <span style="color:red">'
    "remobiliser</span> 120 personnes<o:p></o:p></p>"
    '<p class="MsoListParagraphCxSpFirst" style="mso-list:l0 level1 lfo1"><span style="mso-list:Ignore">·'
    "<span>&nbsp;&nbsp;</span></span>premier point</p>"
    '<p class="MsoListParagraphCxSpLast" style="mso-list:l0 level1 lfo1"><span style="mso-list:Ignore">·'
    "<span>&nbsp;&nbsp;</span></span>second point</p>"
    '<table class="MsoTableGrid" border="1"><tr><td width="100" style="border:solid">'
    '<p class="MsoNormal">A1</p></td>'
    '<td><p class="MsoNormal">B1</p></td></tr></table>'
    '<p class="MsoNormal"><img src="file:///C:/image.png"><span style="font-size:20pt">Fin</span></p>'
    "</body></html>"
)


def test_the_editor_counts_like_the_server_and_cleans_a_word_paste(page: Page, journey: Journey) -> None:
    from app.richtext import sanitize_html, visible_length

    log_in(page, journey.coordinator)
    page.goto(f"/consortia/{journey.slug}/redaction/{CODE}")
    for sample in SAMPLES:
        assert page.evaluate("html => window.consortioEditor.visibleLength(html)", sample) == visible_length(
            sample
        ), sample

    surface = page.locator(f"#{journey.part_key} .editor-surface")
    surface.click()
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    surface.evaluate(
        """(element, html) => {
            const data = new DataTransfer();
            data.setData("text/html", html);
            data.setData("text/plain", "texte");
            const options = {clipboardData: data, bubbles: true, cancelable: true};
            element.dispatchEvent(new ClipboardEvent("paste", options));
        }""",
        WORD_PASTE,
    )
    expect(page.locator(f"#{journey.part_key} .save-state")).to_contain_text("Enregistré à", timeout=10_000)
    saved = part_revisions(journey)[-1][2]
    assert saved == sanitize_html(saved)
    assert "<strong>Objectif</strong>" in saved
    assert "<ul><li>premier point</li><li>second point</li></ul>" in saved
    assert "<table>" in saved
    assert "<td>" in saved
    assert "A1" in saved
    assert "B1" in saved
    assert "Fin" in saved
    for dropped in ("style", "class", "Mso", "img", "span", "o:p", "·"):
        assert dropped not in saved, dropped


def test_autosave_survives_being_offline_a_server_error_and_an_expired_csrf_token(
    page: Page, journey: Journey
) -> None:
    log_in(page, journey.director)
    page.goto(f"/consortia/{journey.slug}/redaction/{CODE}")
    part = f"#{journey.part_key}"
    state = page.locator(f"{part} .save-state")
    stored = (
        "() => Object.keys(localStorage).filter(k => k.startsWith('consortio:'))"
        ".map(k => localStorage.getItem(k))"
    )

    # Offline: the text stays in the browser and is sent once the network is back.
    page.context.set_offline(True)
    page.locator(f"{part} .editor-surface").click()
    page.keyboard.press("Control+End")
    page.keyboard.press("Enter")
    page.keyboard.type("Écrit dans le train.")
    offline = "Hors ligne : vos modifications sont conservées dans ce navigateur"
    expect(state).to_contain_text(offline, timeout=10_000)
    assert any("Écrit dans le train." in value for value in page.evaluate(stored))
    page.context.set_offline(False)
    expect(state).to_contain_text("Enregistré à", timeout=15_000)
    assert page.evaluate(stored) == []
    assert "Écrit dans le train." in part_revisions(journey)[-1][2]

    # A server error, then an expired CSRF token: retried, the second time with the fresh token.
    answers = iter(["error", "csrf"])

    def flaky(route: Any) -> None:
        answer = next(answers, None)
        if answer == "error":
            route.fulfill(status=502, body="Bad gateway")
        elif answer == "csrf":
            token = page.evaluate("() => document.querySelector('meta[name=csrf-token]').content")
            body = json.dumps({"error": "csrf", "message": "Jeton expiré", "csrf_token": token})
            route.fulfill(status=400, content_type="application/json", body=body)
        else:
            route.continue_()

    page.route("**/api/v1/consortia/**", flaky)
    page.keyboard.type(" Et encore une phrase.")
    expect(state).to_contain_text("Enregistré à", timeout=20_000)
    assert "Et encore une phrase." in part_revisions(journey)[-1][2]
    assert next(answers, None) is None
