"""Section statuses and lead writers (app.sections.editing): who moves what, limits, audit."""

from __future__ import annotations

import re
from datetime import date

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from app.audit import AuditEvent
from app.auth.models import User
from app.consortia.models import Consortium, Role
from app.consortia.services import partner_by_code
from app.errors import Invalid, NotAllowed
from app.extensions import db
from app.sections import editing, parts, summary
from app.sections.models import RevisionKind, Section, SectionStatus
from app.sections.services import append_revision
from tests.factories import csrf_token, login, make_consortium, make_member

PAGE = "/consortia/cap-remob-idf/redaction/resume"


@pytest.fixture
def demo() -> Consortium:
    return make_consortium()


@pytest.fixture
def coordinator(demo: Consortium) -> User:
    return make_member(demo, Role.COORDINATOR, "urtie-idf", email="coordination@exemple.fr")


@pytest.fixture
def director(demo: Consortium) -> User:
    return make_member(demo, Role.DIRECTOR, "plie-sevran", email="direction@plie-sevran.fr")


@pytest.fixture
def reader(demo: Consortium) -> User:
    return make_member(demo, Role.READER, None, email="lecture@exemple.fr")


def section(demo: Consortium, code: str) -> Section:
    found = db.session.scalar(select(Section).where(Section.consortium_id == demo.id, Section.code == code))
    assert found is not None
    return found


def events(kind: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.kind == kind).order_by(AuditEvent.id)))


def test_the_coordinator_moves_the_shared_text_through_every_status_and_each_move_is_audited(
    demo: Consortium, coordinator: User
) -> None:
    resume = section(demo, "resume")
    for status in (SectionStatus.IN_REVIEW, SectionStatus.VALIDATED, SectionStatus.IN_PROGRESS):
        assert editing.set_status(resume, None, status, by=coordinator)
    assert resume.status == SectionStatus.IN_PROGRESS
    moves = [(e.data["old"], e.data["new"]) for e in events("section.status_changed")]
    assert moves == [("in_progress", "in_review"), ("in_review", "validated"), ("validated", "in_progress")]
    assert not editing.set_status(resume, None, SectionStatus.IN_PROGRESS, by=coordinator)


def test_only_the_coordinator_validates_a_partner_part(
    demo: Consortium, director: User, coordinator: User
) -> None:
    diagnostic = section(demo, "diagnostic")
    sevran = partner_by_code(demo, "plie-sevran")

    assert editing.set_status(diagnostic, sevran.id, SectionStatus.IN_REVIEW, by=director)
    with pytest.raises(NotAllowed, match="Seule la coordination valide"):
        editing.set_status(diagnostic, sevran.id, SectionStatus.VALIDATED, by=director)
    assert editing.set_status(diagnostic, sevran.id, SectionStatus.VALIDATED, by=coordinator)
    # Once validated, the director can no longer take it back by changing the status.
    with pytest.raises(NotAllowed):
        editing.set_status(diagnostic, sevran.id, SectionStatus.IN_PROGRESS, by=director)
    assert diagnostic.status == SectionStatus.IN_PROGRESS  # the shared text keeps its own status


def test_a_director_cannot_change_the_status_of_the_shared_text_or_another_partner(
    demo: Consortium, director: User
) -> None:
    diagnostic = section(demo, "diagnostic")
    other = partner_by_code(demo, "urtie-idf")
    with pytest.raises(NotAllowed):
        editing.set_status(diagnostic, None, SectionStatus.IN_REVIEW, by=director)
    with pytest.raises(NotAllowed):
        editing.set_status(diagnostic, other.id, SectionStatus.IN_REVIEW, by=director)
    assert events("section.status_changed") == []


def test_a_text_over_its_limit_cannot_be_proposed_for_review(demo: Consortium, coordinator: User) -> None:
    resume = section(demo, "resume")
    append_revision(
        resume,
        None,
        "<p>" + "mot " * 600 + "</p>",
        kind=RevisionKind.EDIT,
        author_id=coordinator.id,
        part=parts.find_part(resume, None),
    )
    db.session.flush()

    with pytest.raises(Invalid, match="Le texte fait 2\u202f399 caractères pour 2\u202f000 autorisés"):
        editing.set_status(resume, None, SectionStatus.IN_REVIEW, by=coordinator)
    assert resume.status == SectionStatus.IN_PROGRESS
    # Drafting over the limit stays allowed.
    assert editing.set_status(resume, None, SectionStatus.TODO, by=coordinator)


def test_the_status_buttons_follow_the_rights_and_refusals_are_shown(
    client: FlaskClient, demo: Consortium, director: User, coordinator: User
) -> None:
    login(client, director.email)
    token = csrf_token(client, PAGE)
    page = client.get(PAGE).get_data(as_text=True)
    assert "Proposer à la relecture" not in page  # the shared summary is the coordination's text
    response = client.post(PAGE + "/statut", data={"csrf_token": token, "status": "validated"})
    assert response.status_code == 403
    assert section(demo, "resume").status == SectionStatus.IN_PROGRESS

    other = client.application.test_client()
    login(other, coordinator.email)
    token = csrf_token(other, PAGE)
    response = other.post(PAGE + "/statut", data={"csrf_token": token, "status": "validated"})
    assert response.status_code == 303
    assert "Statut : « Validé »." in other.get(response.headers["Location"]).get_data(as_text=True)
    response = other.post(PAGE + "/statut", data={"csrf_token": token, "status": "n'importe quoi"})
    assert "Choisissez un statut de la liste." in other.get(response.headers["Location"]).get_data(
        as_text=True
    )


def test_the_coordinator_assigns_a_lead_writer_and_a_due_date(
    demo: Consortium, coordinator: User, director: User
) -> None:
    resume = section(demo, "resume")
    sevran = partner_by_code(demo, "plie-sevran")

    assert editing.assign_writer(
        resume, partner_id=sevran.id, user_id=director.id, due_date=date(2019, 8, 20), by=coordinator
    )

    assert (resume.writer_partner_id, resume.writer_user_id, resume.due_date) == (
        sevran.id,
        director.id,
        date(2019, 8, 20),
    )
    [event] = events("section.writer_assigned")
    assert event.data["new"] == {
        "writer_partner_id": sevran.id,
        "writer_user_id": director.id,
        "due_date": "2019-08-20",
    }
    row = next(r for r in summary.section_summary(demo) if r.code == "resume")
    assert row.writer == f"{director.name} · PLIE de Sevran"
    assert row.due_date == date(2019, 8, 20)


def test_only_the_coordinator_assigns_writers_and_only_people_of_the_consortium(
    demo: Consortium, coordinator: User, director: User
) -> None:
    from tests.factories import make_user

    resume = section(demo, "resume")
    with pytest.raises(NotAllowed):
        editing.assign_writer(resume, partner_id=None, user_id=director.id, due_date=None, by=director)
    outsider = make_user("dehors@exemple.fr")
    with pytest.raises(Invalid, match="Choisissez une personne du consortium"):
        editing.assign_writer(resume, partner_id=None, user_id=outsider.id, due_date=None, by=coordinator)
    with pytest.raises(Invalid, match="Choisissez un membre actif"):
        editing.assign_writer(resume, partner_id=987654, user_id=None, due_date=None, by=coordinator)
    assert resume.writer_user_id is None


def test_the_writer_form_rejects_a_bad_date_in_french_and_keeps_the_choice(
    client: FlaskClient, demo: Consortium, coordinator: User
) -> None:
    login(client, coordinator.email)
    token = csrf_token(client, PAGE)
    sevran = partner_by_code(demo, "plie-sevran")

    response = client.post(
        PAGE + "/redacteur",
        data={"csrf_token": token, "partner": str(sevran.id), "user": "", "due_date": "32/13"},
    )

    assert response.status_code == 422
    source = response.get_data(as_text=True)
    assert "Indiquez une date au format jj/mm/aaaa." in source
    assert f'<option selected value="{sevran.id}">' in source
    assert section(demo, "resume").writer_partner_id is None

    response = client.post(
        PAGE + "/redacteur",
        data={"csrf_token": token, "partner": str(sevran.id), "user": "", "due_date": "2019-08-25"},
    )
    assert response.status_code == 303
    assert section(demo, "resume").writer_partner_id == sevran.id


def test_a_reader_sees_the_texts_but_no_editor_nor_status_button(
    client: FlaskClient, demo: Consortium, reader: User
) -> None:
    login(client, reader.email)
    source = client.get("/consortia/cap-remob-idf/redaction/diagnostic").get_data(as_text=True)
    assert 'class="text-form"' not in source
    assert "Proposer à la relecture" not in source
    assert ">Valider<" not in source
    assert "Lecture seule" in source


def test_the_status_buttons_only_offer_moves_that_change_where_the_text_stands(
    client: FlaskClient, demo: Consortium, coordinator: User
) -> None:
    resume = section(demo, "resume")
    login(client, coordinator.email)

    def shared_buttons() -> list[str]:
        source = client.get(PAGE).get_data(as_text=True)
        card = source.split('id="commun"', 1)[1]
        actions = card.split('class="d-flex flex-wrap align-items-center gap-2 status-actions">', 1)[1]
        return re.findall(r"<button [^>]*>([^<]+)</button>", actions.split("<details", 1)[0])

    # Written (whatever « à rédiger » or « en cours » says): propose it for review, or validate it.
    for status in (SectionStatus.TODO, SectionStatus.IN_PROGRESS):
        resume.status = status
        db.session.commit()
        assert shared_buttons() == ["Proposer à la relecture", "Valider"]
    resume.status = SectionStatus.IN_REVIEW
    db.session.commit()
    assert shared_buttons() == ["Reprendre la rédaction", "Valider"]
    resume.status = SectionStatus.VALIDATED
    db.session.commit()
    assert shared_buttons() == ["Reprendre la rédaction", "Remettre « à relire »"]
