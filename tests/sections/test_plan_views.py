"""The section plan page (/consortia/<slug>/chapitres) and its actions."""

from __future__ import annotations

import html
import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from app.consortia.models import Consortium, Role
from app.extensions import db
from app.sections.models import Section, SectionScope
from app.sections.services import active_sections
from tests.factories import csrf_token, login, make_consortium, make_member

PAGE = "/consortia/cap-remob-idf/chapitres"


def text_of(response: TestResponse) -> str:
    source = re.sub(r"<(script|style|title)\b.*?</\1>", " ", response.get_data(as_text=True), flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", source)).split())


def row_codes(response: TestResponse) -> list[str]:
    """The codes of the chapters listed in the plan table, in order."""
    return re.findall(r'<tr id="chapitre-[^"]+" data-code="([^"]+)"', response.get_data(as_text=True))


def codes(consortium: Consortium) -> list[str]:
    return [section.code for section in active_sections(consortium)]


@pytest.fixture
def demo() -> Consortium:
    return make_consortium()


@pytest.fixture
def token(demo: Consortium, client: FlaskClient) -> str:
    """The coordinator logged in; the page's CSRF token."""
    user = make_member(demo, Role.COORDINATOR, "urtie-idf", email="coordination@exemple.fr")
    login(client, user.email)
    return csrf_token(client, PAGE)


def test_the_plan_lists_chapters_in_order_with_scope_limits_and_the_right_removal(
    client: FlaskClient, token: str
) -> None:
    page = client.get(PAGE)

    assert page.status_code == 200
    assert row_codes(page)[:3] == ["identite", "resume", "diagnostic"]
    text = text_of(page)
    assert "Plan des chapitres du dossier" in text
    assert "Texte commun et une partie par membre" in text
    assert "Commun : 6\u202f000 car." in page.get_data(as_text=True)
    source = page.get_data(as_text=True)
    assert 'aria-label="Archiver « Résumé du projet »"' in source  # holds text
    assert 'aria-label="Supprimer « Caractère innovant et expérimental »"' in source  # holds none


def test_the_plan_is_for_the_coordination(client: FlaskClient, demo: Consortium) -> None:
    director = make_member(demo, Role.DIRECTOR, "plie-sevran")
    login(client, director.email)
    token = csrf_token(client, "/")

    assert client.get(PAGE).status_code == 403
    response = client.post(f"{PAGE}/innovation/retirer", data={"csrf_token": token})
    assert response.status_code == 403
    assert "innovation" in codes(demo)


def test_another_consortium_and_unknown_chapters_are_not_found(client: FlaskClient, demo: Consortium) -> None:
    other = make_consortium(slug="autre")
    user = make_member(other, Role.COORDINATOR, "urtie-idf")
    login(client, user.email)
    token = csrf_token(client, "/consortia/autre/chapitres")

    assert client.get(PAGE).status_code == 404
    assert client.post(f"{PAGE}/innovation/retirer", data={"csrf_token": token}).status_code == 404
    assert client.get("/consortia/autre/chapitres/inexistant/parametres").status_code == 404
    assert "innovation" in codes(demo)


def test_adding_a_chapter_puts_it_last_and_says_so(client: FlaskClient, token: str, demo: Consortium) -> None:
    response = client.post(
        PAGE,
        data={
            "csrf_token": token,
            "title": "Égalité femmes-hommes",
            "code": "",
            "scope": "shared_and_per_partner",
            "max_chars": "3000",
            "max_chars_per_partner": "",
            "guidance": "Décrivez vos actions.",
        },
    )

    assert response.status_code == 303
    assert response.headers["Location"].endswith("/chapitres#chapitre-egalite_femmes_hommes")
    page = client.get(PAGE)
    assert "Chapitre « Égalité femmes-hommes » ajouté en fin de plan." in text_of(page)
    assert row_codes(page)[-1] == "egalite_femmes_hommes"


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("title", "", "Donnez un titre au chapitre."),
        ("title", "x" * 301, "300 caractères"),
        ("code", "resume", "Ce code est déjà celui du chapitre « Résumé du projet »."),
        ("code", "Mon Code", "Lettres minuscules"),
        ("max_chars", "0", "entre 1 et 1 000 000"),
        ("max_chars", "-5", "chiffres 0 à 9"),
        ("max_chars_per_partner", "1 000", "chiffres 0 à 9"),
        ("scope", "tous", "Choisissez qui rédige ce chapitre."),
    ],
)
def test_a_bad_chapter_is_refused_next_to_the_field_keeping_what_was_typed(
    client: FlaskClient, token: str, demo: Consortium, field: str, typed: str, message: str
) -> None:
    data = {
        "csrf_token": token,
        "title": "Nouveau 🚀 <b>",
        "scope": "shared",
        "guidance": "Consignes {{7*7}}",
    }
    data[field] = typed

    response = client.post(PAGE, data=data)

    assert response.status_code == 422
    assert message in text_of(response)
    assert "Le chapitre n'a pas été ajouté" in text_of(response)
    source = response.get_data(as_text=True)
    assert "Consignes {{7*7}}" in source
    assert (
        db.session.scalar(select(func.count()).select_from(Section).where(Section.consortium_id == demo.id))
        == 16
    )


def test_editing_a_chapter_changes_title_scope_limits_and_guidance(
    client: FlaskClient, token: str, demo: Consortium
) -> None:
    form = client.get(f"{PAGE}/calendrier/parametres")
    assert 'value="Calendrier de mise en œuvre"' in form.get_data(as_text=True)

    response = client.post(
        f"{PAGE}/calendrier/parametres",
        data={
            "csrf_token": token,
            "title": "Calendrier",
            "scope": "shared",
            "max_chars": "",
            "max_chars_per_partner": "",
            "guidance": "Un tableau suffit.",
        },
    )

    assert response.status_code == 303
    section = db.session.scalar(
        select(Section).where(Section.consortium_id == demo.id, Section.code == "calendrier")
    )
    assert section is not None
    assert (section.title, section.max_chars, section.guidance) == ("Calendrier", None, "Un tableau suffit.")


def test_a_scope_hiding_written_text_is_refused_on_the_edit_page(
    client: FlaskClient, token: str, demo: Consortium
) -> None:
    response = client.post(
        f"{PAGE}/diagnostic/parametres",
        data={"csrf_token": token, "title": "Diagnostic", "scope": "per_partner", "guidance": ""},
    )

    assert response.status_code == 422
    assert "Le texte commun de ce chapitre est déjà rédigé" in text_of(response)
    assert 'value="Diagnostic"' in response.get_data(as_text=True)
    section = db.session.scalar(
        select(Section).where(Section.consortium_id == demo.id, Section.code == "diagnostic")
    )
    assert section is not None
    assert section.scope == SectionScope.SHARED_AND_PER_PARTNER


def test_moving_a_chapter_returns_to_its_button(client: FlaskClient, token: str, demo: Consortium) -> None:
    response = client.post(f"{PAGE}/resume/deplacer", data={"csrf_token": token, "direction": "up"})

    assert response.status_code == 303
    assert response.headers["Location"].endswith("/chapitres#chapitre-resume-up")
    assert codes(demo)[:2] == ["resume", "identite"]
    assert (
        client.post(f"{PAGE}/resume/deplacer", data={"csrf_token": token, "direction": "nulle"}).status_code
        == 400
    )


def test_removing_deletes_an_empty_chapter_and_archives_a_written_one(
    client: FlaskClient, token: str, demo: Consortium
) -> None:
    deleted = client.post(f"{PAGE}/innovation/retirer", data={"csrf_token": token})
    archived = client.post(f"{PAGE}/resume/retirer", data={"csrf_token": token})

    assert deleted.status_code == archived.status_code == 303
    page = client.get(PAGE)
    text = text_of(page)
    assert "Chapitre « Caractère innovant et expérimental » supprimé (il ne contenait aucun texte)." in text
    assert "Chapitre « Résumé du projet » archivé : ses textes sont conservés" in text
    assert "resume" not in row_codes(page)
    assert "Chapitres archivés" in text
    assert (
        db.session.scalar(select(func.count()).select_from(Section).where(Section.code == "innovation")) == 0
    )

    restored = client.post(f"{PAGE}/resume/retablir", data={"csrf_token": token})
    assert restored.status_code == 303
    assert row_codes(client.get(PAGE))[-1] == "resume"


def test_a_button_without_token_changes_nothing(client: FlaskClient, token: str, demo: Consortium) -> None:
    response = client.post(f"{PAGE}/innovation/retirer")
    assert response.status_code == 400
    assert "innovation" in codes(demo)


def test_a_title_with_markup_shows_literally(client: FlaskClient, token: str) -> None:
    client.post(PAGE, data={"csrf_token": token, "title": '"><script>alert(1)</script>', "scope": "shared"})

    source = client.get(PAGE).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in source
    assert "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in source
