"""History pages: every revision listed, two compared word by word, one restored by a writer."""

from __future__ import annotations

import html

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.auth.models import User
from app.consortia.models import Consortium, Role
from app.consortia.services import partner_by_code
from app.extensions import db
from app.sections import history
from app.sections.models import RevisionKind, Section, SectionRevision
from app.sections.saving import find_part, save_part
from tests.factories import csrf_token, login, make_consortium, make_member, make_user

PAGE = "/consortia/cap-remob-idf/chapitres/innovation/historique"


@pytest.fixture
def consortium() -> Consortium:
    return make_consortium()


@pytest.fixture
def coordinator(consortium: Consortium) -> User:
    return make_member(consortium, Role.COORDINATOR, email="coordination@exemple.fr")


def section(consortium: Consortium, code: str = "innovation") -> Section:
    found = db.session.scalar(
        select(Section).where(Section.consortium_id == consortium.id, Section.code == code)
    )
    assert found is not None
    return found


@pytest.fixture
def written(consortium: Consortium, coordinator: User) -> Section:
    """Four revisions: an edit, another edit, a conflict copy, a merge."""
    found = section(consortium)
    save_part(found, None, "<p>Le public visé.</p><p>Deux.</p>", base_revision=0, by=coordinator)
    save_part(found, None, "<p>Le public prioritaire visé.</p><p>Deux.</p>", base_revision=1, by=coordinator)
    save_part(found, None, "<p>Le public éloigné.</p><p>Deux.</p>", base_revision=1, by=coordinator)
    save_part(found, None, "<p>Le public visé.</p><p>Deux, trois.</p>", base_revision=1, by=coordinator)
    db.session.commit()
    return found


def test_revisions_are_listed_newest_first_with_their_kind(written: Section) -> None:
    rows = history.revisions_of(written, None)
    assert [(row.number, row.kind) for row in rows] == [
        (4, RevisionKind.MERGE),
        (3, RevisionKind.CONFLICT_COPY),
        (2, RevisionKind.EDIT),
        (1, RevisionKind.EDIT),
    ]
    assert [row.current for row in rows] == [True, False, False, False]
    # Each revision is compared with the text it replaced: a conflict copy with the text it lost against.
    assert [row.replaced for row in rows] == [2, 2, 1, None]
    assert rows[0].kind_label == "fusion"
    assert rows[1].kind_label == "copie en conflit"


def test_the_history_page_lists_every_revision_in_french(client: FlaskClient, written: Section) -> None:
    make_member(written.consortium, Role.READER, "plie-sevran", email="lecteur@exemple.fr")
    login(client, "lecteur@exemple.fr")
    page = html.unescape(client.get(PAGE).get_data(as_text=True))
    for label in (
        "Fusion",
        "Copie en conflit",
        "Modification",
        "texte actuel",
        "n°4",
        "n°1",
        "coordinator test",
    ):
        assert label in page
    assert "Voir les changements" in page
    assert "Restaurer cette version" not in page  # readers read, writers restore


def test_times_are_shown_in_paris_time(client: FlaskClient, written: Section, coordinator: User) -> None:
    first = db.session.scalar(select(SectionRevision).where(SectionRevision.number == 1))
    assert first is not None
    from app.templating import french_datetime

    login(client, "coordination@exemple.fr")
    assert html.unescape(french_datetime(first.created_at)) in html.unescape(
        client.get(PAGE).get_data(as_text=True)
    )


def test_an_unwritten_text_says_so(client: FlaskClient, coordinator: User) -> None:
    login(client, "coordination@exemple.fr")
    page = html.unescape(client.get(PAGE).get_data(as_text=True))
    assert "Personne n'a encore écrit ce texte" in page


def test_comparing_two_revisions_shows_words_added_and_removed(client: FlaskClient, written: Section) -> None:
    login(client, "coordination@exemple.fr")
    response = client.get(f"{PAGE}/comparer?a=1&b=2")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<ins>" in page
    assert "prioritaire" in page
    assert "Légende" in page
    assert "souligné" in page
    assert "barré" in page
    page = client.get(f"{PAGE}/comparer?a=2&b=3").get_data(as_text=True)
    assert "<del>" in page
    assert "éloigné" in page


def test_comparing_identical_texts_says_so(client: FlaskClient, written: Section) -> None:
    login(client, "coordination@exemple.fr")
    page = html.unescape(client.get(f"{PAGE}/comparer?a=1&b=1").get_data(as_text=True))
    assert "identique" in page


def test_comparing_an_unknown_revision_is_404(client: FlaskClient, written: Section) -> None:
    login(client, "coordination@exemple.fr")
    assert client.get(f"{PAGE}/comparer?a=1&b=99").status_code == 404


def test_a_stranger_cannot_see_the_history(client: FlaskClient, written: Section) -> None:
    make_user("inconnu@exemple.fr")
    login(client, "inconnu@exemple.fr")
    assert client.get(PAGE).status_code == 404


def test_a_writer_restores_a_revision_which_appends_one(client: FlaskClient, written: Section) -> None:
    login(client, "coordination@exemple.fr")
    response = client.post(f"{PAGE}/2/restaurer", data={"csrf_token": csrf_token(client, PAGE)})
    assert response.status_code == 303
    page = html.unescape(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "Version n°2 restaurée : elle est devenue la version n°5." in page
    part = find_part(written, None)
    assert part is not None
    db.session.refresh(part)
    assert part.head_revision is not None
    assert (part.head_revision.number, part.head_revision.kind) == (5, RevisionKind.RESTORE)
    assert part.head_revision.content == "<p>Le public prioritaire visé.</p><p>Deux.</p>"
    assert (
        db.session.scalar(select(func.count(SectionRevision.id)).where(SectionRevision.part_id == part.id))
        == 5
    )


def test_a_reader_cannot_restore(client: FlaskClient, written: Section) -> None:
    make_member(written.consortium, Role.READER, "plie-sevran", email="lecteur@exemple.fr")
    login(client, "lecteur@exemple.fr")
    response = client.post(f"{PAGE}/1/restaurer", data={"csrf_token": csrf_token(client, PAGE)})
    assert response.status_code == 403
    assert db.session.scalar(select(func.count(SectionRevision.id)).where(SectionRevision.number == 5)) == 0


def test_restore_without_csrf_token_changes_nothing(client: FlaskClient, written: Section) -> None:
    login(client, "coordination@exemple.fr")
    assert client.post(f"{PAGE}/1/restaurer").status_code == 400
    assert db.session.scalar(select(func.count(SectionRevision.id)).where(SectionRevision.number == 5)) == 0


def test_partner_parts_have_their_own_history(client: FlaskClient, consortium: Consortium) -> None:
    make_member(consortium, Role.DIRECTOR, "plie-sevran", email="direction@exemple.fr")
    sevran = partner_by_code(consortium, "plie-sevran")
    assert sevran is not None
    login(client, "direction@exemple.fr")
    url = f"/consortia/cap-remob-idf/chapitres/role_membre/historique?partenaire={sevran.id}"
    page = html.unescape(client.get(url).get_data(as_text=True))
    assert "Partie de" in page
    assert sevran.name in page
    assert "Import" in page  # the demo document's text
    assert "document importé" in page
    assert "Restaurer cette version" not in page  # only one revision, the current one
    assert (
        client.get("/consortia/cap-remob-idf/chapitres/role_membre/historique?partenaire=999999").status_code
        == 404
    )


def test_a_director_cannot_restore_another_partners_part(client: FlaskClient, consortium: Consortium) -> None:
    make_member(consortium, Role.DIRECTOR, "plie-sevran", email="direction@exemple.fr")
    other = partner_by_code(consortium, "urtie-idf")
    assert other is not None
    login(client, "direction@exemple.fr")
    url = f"/consortia/cap-remob-idf/chapitres/role_membre/historique/1/restaurer?partenaire={other.id}"
    token = csrf_token(client, PAGE)
    assert client.post(url, data={"csrf_token": token}).status_code == 403
