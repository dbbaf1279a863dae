"""The writing pages (/consortia/<slug>/redaction…): summary, a section's texts, the plain-form save."""

from __future__ import annotations

import html
import re
from collections import Counter
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from app.auth.models import User
from app.consortia.models import Consortium, Role
from app.consortia.services import partner_by_code
from app.extensions import db
from app.sections.models import RevisionKind, Section, SectionPart, SectionRevision
from tests.factories import csrf_token, login, make_consortium, make_member

INDEX = "/consortia/cap-remob-idf/redaction"
RESUME = "/consortia/cap-remob-idf/redaction/resume"
DIAGNOSTIC = "/consortia/cap-remob-idf/redaction/diagnostic"


def text_of(response: TestResponse) -> str:
    source = re.sub(r"<(script|style|title)\b.*?</\1>", " ", response.get_data(as_text=True), flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", source)).split())


@pytest.fixture
def demo() -> Consortium:
    return make_consortium()


@pytest.fixture
def coordinator(demo: Consortium) -> User:
    return make_member(demo, Role.COORDINATOR, "urtie-idf", email="coordination@exemple.fr")


@pytest.fixture
def sevran(demo: Consortium) -> User:
    return make_member(demo, Role.DIRECTOR, "plie-sevran", email="direction@plie-sevran.fr")


def section(demo: Consortium, code: str) -> Section:
    found = db.session.scalar(select(Section).where(Section.consortium_id == demo.id, Section.code == code))
    assert found is not None
    return found


def shared_head(demo: Consortium, code: str) -> tuple[int, str]:
    part = db.session.scalar(
        select(SectionPart).where(
            SectionPart.section_id == section(demo, code).id, SectionPart.partner_id.is_(None)
        )
    )
    assert part is not None
    head = db.session.get(SectionRevision, part.head_revision_id)
    return part.version, head.content if head else ""


def test_the_summary_lists_sections_in_order_with_status_length_and_last_change(
    client: FlaskClient, coordinator: User
) -> None:
    login(client, coordinator.email)

    page = client.get(INDEX)

    assert page.status_code == 200
    text = text_of(page)
    assert "Rédaction du dossier" in text
    assert (
        text.index("Fiche d'identité du projet")
        < text.index("Résumé du projet")
        < text.index("Pièces annexes")
    )
    assert "En cours" in text
    assert "À faire" in text
    assert "/ 2 000" in text
    assert "rempli par l'application" in text
    assert "membres : 2 / 12 rédigées" in text  # partenariats: two partners wrote their part


def test_the_summary_takes_a_constant_number_of_queries(demo: Consortium, count_queries: object) -> None:
    from app.sections.summary import section_summary

    counter = count_queries
    counter.statements.clear()  # type: ignore[attr-defined]
    rows = section_summary(demo)
    assert len(rows) == 16
    assert counter.count <= 6  # type: ignore[attr-defined]


def test_a_section_page_shows_guidance_limit_count_and_one_part_per_active_partner(
    client: FlaskClient, coordinator: User
) -> None:
    login(client, coordinator.email)

    page = client.get(DIAGNOSTIC)

    assert page.status_code == 200
    text = text_of(page)
    assert "Contexte et diagnostic territorial" in text
    assert "Consignes" in text
    assert "Texte commun : 6 000 caractères au plus." in text
    assert "Texte commun" in text
    assert "PLIE de Sevran" in text
    assert page.get_data(as_text=True).count('class="card mb-4 part"') == 13
    assert 'name="base_revision"' in page.get_data(as_text=True)


def test_a_director_edits_only_the_own_part_and_reads_the_others(client: FlaskClient, sevran: User) -> None:
    login(client, sevran.email)

    source = client.get(DIAGNOSTIC).get_data(as_text=True)

    forms = re.findall(r'<form method="post" class="text-form"[^>]*data-part-key="([^"]+)"', source)
    partner = partner_by_code(sevran_consortium(), "plie-sevran")
    assert forms == [f"membre-{partner.id}"]
    assert "Lecture seule" in text_of_source(source)


def sevran_consortium() -> Consortium:
    found = db.session.scalar(select(Consortium).where(Consortium.slug == "cap-remob-idf"))
    assert found is not None
    return found


def text_of_source(source: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", source)).split())


def test_a_generated_section_says_the_application_fills_it(client: FlaskClient, coordinator: User) -> None:
    login(client, coordinator.email)

    text = text_of(client.get("/consortia/cap-remob-idf/redaction/identite"))

    assert "Cette section est remplie par l'application" in text


def test_unknown_or_archived_section_bad_partner_and_strangers_get_404(
    client: FlaskClient, coordinator: User, demo: Consortium
) -> None:
    from app.database import utcnow
    from tests.factories import make_user

    section(demo, "calendrier").archived_at = utcnow()
    db.session.commit()
    login(client, coordinator.email)
    token = csrf_token(client, RESUME)
    assert client.get("/consortia/cap-remob-idf/redaction/inconnue").status_code == 404
    assert client.get("/consortia/cap-remob-idf/redaction/calendrier").status_code == 404
    assert "Calendrier de mise en œuvre" not in text_of(client.get(INDEX))
    for bad in ("abc", "999999"):
        response = client.post(
            DIAGNOSTIC + f"/texte?partenaire={bad}",
            data={"csrf_token": token, "base_revision": "0", "content": "x"},
        )
        assert response.status_code == 404

    stranger = make_user("inconnu@exemple.fr")
    other = client.application.test_client()
    login(other, stranger.email)
    assert other.get(INDEX).status_code == 404
    assert other.get(RESUME).status_code == 404


def test_the_plain_form_saves_the_sanitised_text_and_audits_it(
    client: FlaskClient, coordinator: User, demo: Consortium
) -> None:
    login(client, coordinator.email)
    token = csrf_token(client, RESUME)
    version, _content = shared_head(demo, "resume")

    response = client.post(
        RESUME + "/texte",
        data={
            "csrf_token": token,
            "base_revision": str(version),
            "content": '<p onclick="x()">Nouveau résumé <script>alert(1)</script><strong>fort</strong></p>',
        },
    )

    assert response.status_code == 303
    assert response.headers["Location"].endswith("/redaction/resume#commun")
    new_version, content = shared_head(demo, "resume")
    assert new_version == version + 1
    assert content == "<p>Nouveau résumé <strong>fort</strong></p>"
    assert "Texte enregistré." in text_of(client.get(RESUME))


def test_a_stale_plain_save_shows_both_versions_and_keeps_mine_as_a_conflict_copy(
    client: FlaskClient, coordinator: User, demo: Consortium
) -> None:
    from app.sections.saving import save_part

    login(client, coordinator.email)
    token = csrf_token(client, RESUME)
    version, _content = shared_head(demo, "resume")
    save_part(
        section(demo, "resume"),
        None,
        "<p>Leur version entièrement réécrite.</p>",
        base_revision=version,
        by=coordinator,
    )
    db.session.commit()

    response = client.post(
        RESUME + "/texte",
        data={
            "csrf_token": token,
            "base_revision": str(version),
            "content": "<p>Ma version à moi, différente.</p>",
        },
    )

    assert response.status_code == 409
    text = text_of(response)
    assert "Quelqu'un a enregistré ce texte pendant que vous écriviez" in text
    assert "Leur version entièrement réécrite." in text
    assert "Ma version à moi, différente." in text
    assert "Garder leur version" in text
    assert "Garder ma version" in text
    assert "Fusionner à la main" in text
    assert "[ajouté :" in text
    assert "[retiré :" in text
    copies = db.session.scalars(
        select(SectionRevision).where(SectionRevision.kind == RevisionKind.CONFLICT_COPY)
    ).all()
    assert [c.content for c in copies] == ["<p>Ma version à moi, différente.</p>"]
    # The merge by hand starts from the three-way merge: each version once, between marks.
    found = re.search(
        r'<textarea[^>]*id="fusion"[^>]*>(.*?)</textarea>', response.get_data(as_text=True), re.S
    )
    assert found is not None
    draft = html.unescape(found.group(1))
    assert draft.count("Leur version entièrement réécrite.") == 1
    assert draft.count("Ma version à moi, différente.") == 1
    assert "⟦ Conflit 1 : votre version ⟧" in draft
    assert "supprimez les marques" in text

    # Sent back with its marks, it is refused next to the text, which stays as typed.
    refused = client.post(
        RESUME + "/texte",
        data={"csrf_token": token, "base_revision": str(version + 2), "content": draft},
    )
    assert refused.status_code == 422
    assert "marque(s) de conflit" in text_of(refused)
    assert "⟦ Conflit 1 : votre version ⟧" in html.unescape(refused.get_data(as_text=True))
    assert shared_head(demo, "resume")[1] == "<p>Leur version entièrement réécrite.</p>"


def test_an_expired_csrf_token_keeps_the_typed_text_on_the_page(
    client: FlaskClient, coordinator: User, demo: Consortium
) -> None:
    login(client, coordinator.email)
    version, content = shared_head(demo, "resume")

    response = client.post(
        RESUME + "/texte",
        data={
            "csrf_token": "périmé",
            "base_revision": str(version),
            "content": "<p>Deux heures de travail</p>",
        },
    )

    assert response.status_code == 400
    source = response.get_data(as_text=True)
    assert "Votre session a expiré. Votre texte est conservé ci-dessous" in text_of(response)
    assert "&lt;p&gt;Deux heures de travail&lt;/p&gt;" in source
    assert shared_head(demo, "resume") == (version, content)


def test_a_contributor_cannot_save_another_partners_part(
    client: FlaskClient, sevran: User, demo: Consortium
) -> None:
    login(client, sevran.email)
    token = csrf_token(client, DIAGNOSTIC)
    other = partner_by_code(demo, "urtie-idf")

    response = client.post(
        DIAGNOSTIC + f"/texte?partenaire={other.id}",
        data={"csrf_token": token, "base_revision": "0", "content": "<p>Intrus</p>"},
    )

    assert response.status_code == 403
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(SectionRevision)
            .where(SectionRevision.content == "<p>Intrus</p>")
        )
        == 0
    )


def test_the_presence_heartbeat_shows_who_else_edits(
    client: FlaskClient, coordinator: User, sevran: User, demo: Consortium, app: object
) -> None:
    partner = partner_by_code(demo, "plie-sevran")
    login(client, sevran.email)
    token = csrf_token(client, DIAGNOSTIC)
    answer = client.post(
        DIAGNOSTIC + "/presence", data={"partenaire": str(partner.id)}, headers={"X-CSRFToken": token}
    )
    assert answer.status_code == 200

    other = client.application.test_client()  # type: ignore[attr-defined]
    login(other, coordinator.email)
    token = csrf_token(other, DIAGNOSTIC)
    answer = other.post(DIAGNOSTIC + "/presence", headers={"X-CSRFToken": token})

    lines = answer.get_json()["editors"][f"membre-{partner.id}"]
    assert len(lines) == 1
    assert (
        lines[0].startswith("directeur test (PLIE de Sevran) modifie ce texte depuis ")
        or "modifie ce texte depuis" in lines[0]
    )
    assert "modifie ce texte depuis" in text_of(other.get(DIAGNOSTIC))


def test_hostile_text_from_the_plain_form_is_cleaned_or_refused_without_losing_it(
    client: FlaskClient, coordinator: User, demo: Consortium
) -> None:
    login(client, coordinator.email)
    token = csrf_token(client, RESUME)
    version, content = shared_head(demo, "resume")

    huge = "<p>" + "é" * 1_000_000 + "</p>"
    response = client.post(
        RESUME + "/texte", data={"csrf_token": token, "base_revision": str(version), "content": huge}
    )
    assert response.status_code == 422
    assert "Le texte dépasse 200 000 caractères." in text_of(response)
    assert "é" * 1000 in response.get_data(as_text=True)  # what was typed is still on the page
    assert shared_head(demo, "resume") == (version, content)

    response = client.post(
        RESUME + "/texte",
        data={
            "csrf_token": token,
            "base_revision": str(version),
            "content": '<p dir="rtl">שלום 👩‍👩‍👧 <a href="javascript:alert(1)">lien</a>'
            '<img src="file:///etc/passwd"><img src="https://exemple.fr/x.png"></p>',
        },
    )
    assert response.status_code == 303
    assert shared_head(demo, "resume")[1] == '<p>שלום 👩‍👩‍👧 <a rel="noopener noreferrer">lien</a></p>'


def test_a_missing_or_bad_base_revision_is_refused_in_french(
    client: FlaskClient, coordinator: User, demo: Consortium
) -> None:
    login(client, coordinator.email)
    token = csrf_token(client, RESUME)
    before = shared_head(demo, "resume")

    for base in ("", "abc", "-1"):
        response = client.post(
            RESUME + "/texte", data={"csrf_token": token, "base_revision": base, "content": "<p>x</p>"}
        )
        assert response.status_code == 422
        assert "version de départ" in text_of(response)
    assert shared_head(demo, "resume") == before


def test_after_a_conflict_keeping_mine_saves_it_on_top_of_theirs(
    client: FlaskClient, coordinator: User, demo: Consortium
) -> None:
    from app.sections.saving import save_part

    login(client, coordinator.email)
    token = csrf_token(client, RESUME)
    version, _content = shared_head(demo, "resume")
    save_part(section(demo, "resume"), None, "<p>Leur texte.</p>", base_revision=version, by=coordinator)
    db.session.commit()
    conflict = client.post(
        RESUME + "/texte",
        data={"csrf_token": token, "base_revision": str(version), "content": "<p>Mon texte.</p>"},
    )
    assert conflict.status_code == 409
    current = re.search(r'name="base_revision" value="(\d+)"', conflict.get_data(as_text=True))
    assert current is not None

    response = client.post(
        RESUME + "/texte",
        data={"csrf_token": token, "base_revision": current.group(1), "content": "<p>Mon texte.</p>"},
    )

    assert response.status_code == 303
    assert shared_head(demo, "resume")[1] == "<p>Mon texte.</p>"


def test_edits_to_different_paragraphs_are_merged_and_the_user_is_told(
    client: FlaskClient, coordinator: User, demo: Consortium
) -> None:
    from app.sections.saving import save_part

    login(client, coordinator.email)
    token = csrf_token(client, RESUME)
    resume = section(demo, "resume")
    version, _content = shared_head(demo, "resume")
    base = save_part(
        resume, None, "<p>Un.</p><p>Deux.</p><p>Trois.</p>", base_revision=version, by=coordinator
    )
    save_part(
        resume,
        None,
        "<p>Un, modifié.</p><p>Deux.</p><p>Trois.</p>",
        base_revision=base.revision,
        by=coordinator,
    )
    db.session.commit()

    response = client.post(
        RESUME + "/texte",
        data={
            "csrf_token": token,
            "base_revision": str(base.revision),
            "content": "<p>Un.</p><p>Deux.</p><p>Trois, modifié.</p>",
        },
    )

    assert response.status_code == 303
    assert shared_head(demo, "resume")[1] == "<p>Un, modifié.</p><p>Deux.</p><p>Trois, modifié.</p>"
    assert "Vos modifications ont été fusionnées" in text_of(client.get(RESUME))


@pytest.mark.parametrize("who", ["coordinator", "director"])
def test_the_section_page_runs_as_many_queries_for_60_partners_as_for_3(
    client: FlaskClient, count_queries: Any, who: str
) -> None:
    statements: dict[int, list[str]] = {}
    for partners in (3, 60):
        consortium = make_consortium(partners, slug=f"{partners}-membres")
        role = Role.COORDINATOR if who == "coordinator" else Role.DIRECTOR
        code = consortium.partners[0 if who == "coordinator" else 1].code
        user = make_member(consortium, role, code, email=f"{who}-{partners}@exemple.fr")
        member_client = client.application.test_client()
        login(member_client, user.email)
        count_queries.statements.clear()
        response = member_client.get(f"/consortia/{consortium.slug}/redaction/diagnostic")
        statements[partners] = list(count_queries.statements)
        source = response.get_data(as_text=True)
        assert response.status_code == 200
        assert source.count('class="card mb-4 part"') == partners + 1
        # Each person sees the status buttons their role allows, on every part they may move.
        buttons = source.count(">Proposer à la relecture</button>")
        assert buttons == (partners + 1 if who == "coordinator" else 1)

    assert len(statements[60]) == len(statements[3]), _query_summary(statements)


def _query_summary(statements: dict[int, list[str]]) -> str:
    """The statements most repeated in each run, to spot the one run once per partner."""
    lines = []
    for partners, run in statements.items():
        shapes = Counter(" ".join(statement.split())[:90] for statement in run)
        lines.append(f"{len(run)} requêtes pour {partners} membres : {shapes.most_common(3)}")
    return "\n".join(lines)


def test_the_page_rendered_for_one_person_is_never_shown_with_the_rights_of_another(
    client: FlaskClient, coordinator: User, sevran: User
) -> None:
    # The coordination's page is kept for everyone who coordinates; a director gets the page of
    # a director of that partner, and both carry their own session's CSRF token.
    login(client, coordinator.email)
    first = client.get(DIAGNOSTIC).get_data(as_text=True)
    assert first.count('class="text-form"') == 13

    other = client.application.test_client()  # type: ignore[attr-defined]
    login(other, sevran.email)
    source = other.get(DIAGNOSTIC).get_data(as_text=True)
    assert source.count('class="text-form"') == 1
    tokens = set(re.findall(r'name="csrf_token" value="([^"]+)"', source))
    assert len(tokens) == 1
    assert not tokens & set(re.findall(r'name="csrf_token" value="([^"]+)"', first))
    partner = partner_by_code(sevran_consortium(), "plie-sevran")
    answer = other.post(
        DIAGNOSTIC + f"/commentaires?partenaire={partner.id}",
        data={"csrf_token": tokens.pop(), "body": "Le token de cette page est le mien."},
    )
    assert answer.status_code == 303


def test_comments_and_presence_show_at_once_on_a_page_whose_texts_have_not_changed(
    client: FlaskClient, coordinator: User, sevran: User, demo: Consortium
) -> None:
    login(client, coordinator.email)
    assert "Une remarque toute fraîche" not in text_of(client.get(DIAGNOSTIC))
    version = demo.content_version

    other = client.application.test_client()  # type: ignore[attr-defined]
    login(other, sevran.email)
    partner = partner_by_code(demo, "plie-sevran")
    token = csrf_token(other, DIAGNOSTIC)
    other.post(
        DIAGNOSTIC + f"/commentaires?partenaire={partner.id}",
        data={"csrf_token": token, "body": "Une remarque toute fraîche"},
    )
    other.post(DIAGNOSTIC + "/presence", data={"partenaire": str(partner.id)}, headers={"X-CSRFToken": token})
    db.session.expire_all()
    assert demo.content_version == version  # nothing the dossier shows has changed

    page = text_of(client.get(DIAGNOSTIC))
    assert "Une remarque toute fraîche" in page
    assert "Commentaires (1 ouvert)" in page
    assert "modifie ce texte depuis" in page


def test_the_summary_counts_a_new_and_a_resolved_comment_at_once(
    client: FlaskClient, coordinator: User, demo: Consortium
) -> None:
    from app.sections import comments

    def open_threads() -> list[str]:
        return re.findall(
            r'<span class="badge text-bg-warning">(\d+)</span>', client.get(INDEX).get_data(as_text=True)
        )

    login(client, coordinator.email)
    before = open_threads()
    version = demo.content_version
    thread = comments.add_comment(
        section(demo, "diagnostic"), None, "Une question ouverte", mentions=[], by=coordinator
    )
    db.session.commit()
    assert sorted(open_threads()) != sorted(before)
    assert sum(map(int, open_threads())) == sum(map(int, before)) + 1

    comments.set_resolved(thread, True, by=coordinator)
    db.session.commit()
    assert sum(map(int, open_threads())) == sum(map(int, before))
    db.session.expire_all()
    assert demo.content_version == version  # the dossier shows no comment: its caches are kept
