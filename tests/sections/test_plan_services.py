"""The section plan (app.sections.plan): add, rename, reorder, limit, delete empty, archive written."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.audit import AuditEvent
from app.auth.models import User
from app.consortia.models import Consortium, Role
from app.consortia.validation import InvalidFields
from app.errors import NotAllowed, NotFound
from app.extensions import db
from app.opening import services as opening_services
from app.sections import plan
from app.sections.models import (
    RevisionKind,
    Section,
    SectionComment,
    SectionPart,
    SectionRevision,
    SectionScope,
)
from app.sections.plan import SectionDraft
from app.sections.services import active_sections, append_revision
from tests.factories import make_consortium, make_member, make_user
from tests.opening.test_services import opening


@pytest.fixture
def admin() -> User:
    return make_user("admin@exemple.fr", name="Admin", admin=True)


@pytest.fixture
def fresh(admin: User) -> Consortium:
    """A consortium just opened: the sixteen default chapters, no text."""
    consortium = opening_services.open_consortium(opening(), by=admin)
    db.session.commit()
    return consortium


def codes(consortium: Consortium) -> list[str]:
    return [section.code for section in active_sections(consortium)]


def kinds() -> list[str]:
    return [e.kind for e in db.session.scalars(select(AuditEvent).where(AuditEvent.kind.like("section.%")))]


def write(consortium: Consortium, code: str, partner_id: int | None = None) -> None:
    append_revision(
        plan.section_of(consortium, code), partner_id, "<p>Texte</p>", kind=RevisionKind.EDIT, author_id=None
    )
    db.session.commit()


def test_the_plan_lists_the_sixteen_chapters_without_text(fresh: Consortium) -> None:
    current = plan.plan_of(fresh)
    assert len(current.active) == 16
    assert current.archived == []
    assert not any(entry.has_text for entry in current.active)


def test_the_demo_plan_knows_which_chapters_hold_text() -> None:
    demo = make_consortium()
    written = {entry.section.code for entry in plan.plan_of(demo).active if entry.has_text}
    assert "resume" in written
    assert "innovation" not in written


def test_a_chapter_is_added_at_the_end_with_a_code_from_its_title(fresh: Consortium, admin: User) -> None:
    section = plan.add_section(
        fresh,
        SectionDraft("Égalité femmes-hommes", "Décrivez…", SectionScope.SHARED_AND_PER_PARTNER, 3000, 800),
        by=admin,
    )
    db.session.commit()

    assert section.code == "egalite_femmes_hommes"
    assert section.position == 17
    assert codes(fresh)[-1] == "egalite_femmes_hommes"
    assert (section.max_chars, section.max_chars_per_partner) == (3000, 800)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.kind == "section.added"))
    assert event is not None
    assert event.data == {"code": "egalite_femmes_hommes", "title": "Égalité femmes-hommes", "position": 17}


def test_a_code_must_be_a_free_slug(fresh: Consortium, admin: User) -> None:
    with pytest.raises(InvalidFields) as raised:
        plan.add_section(fresh, SectionDraft("Autre résumé"), "resume", by=admin)
    assert raised.value.errors == {"code": ["Ce code est déjà celui du chapitre « Résumé du projet »."]}
    with pytest.raises(InvalidFields) as raised:
        plan.add_section(fresh, SectionDraft("Autre"), "pas un code !", by=admin)
    assert "Lettres minuscules" in raised.value.errors["code"][0]


def test_an_archived_chapter_keeps_its_code(fresh: Consortium, admin: User) -> None:
    write(fresh, "innovation")
    plan.remove_section(plan.section_of(fresh, "innovation"), by=admin)

    with pytest.raises(InvalidFields) as raised:
        plan.add_section(fresh, SectionDraft("Innovation bis"), "innovation", by=admin)
    assert raised.value.errors["code"] == [
        "Ce code est déjà celui du chapitre « Caractère innovant et expérimental » (archivé)."
    ]


def test_a_title_made_code_avoids_taken_ones(fresh: Consortium, admin: User) -> None:
    section = plan.add_section(fresh, SectionDraft("Résumé"), by=admin)
    again = plan.add_section(fresh, SectionDraft("Résumé !"), by=admin)
    emoji = plan.add_section(fresh, SectionDraft("🚀"), by=admin)
    assert (section.code, again.code, emoji.code) == ("resume_2", "resume_3", "chapitre")


@pytest.mark.parametrize(
    ("draft", "field", "message"),
    [
        (SectionDraft("   "), "title", "Donnez un titre au chapitre."),
        (SectionDraft("x" * 301), "title", "300 caractères au plus."),
        (SectionDraft("Ok", max_chars=0), "max_chars", "Un nombre entier de caractères entre 1 et 1 000 000"),
        (SectionDraft("Ok", max_chars_per_partner=-3), "max_chars_per_partner", "entre 1 et 1 000 000"),
        (SectionDraft("Ok", max_chars=2_000_000), "max_chars", "entre 1 et 1 000 000"),
        (SectionDraft("Ok", guidance="x" * 5001), "guidance", "5000 caractères au plus"),
    ],
)
def test_bad_chapters_are_refused(
    fresh: Consortium, admin: User, draft: SectionDraft, field: str, message: str
) -> None:
    with pytest.raises(InvalidFields) as raised:
        plan.add_section(fresh, draft, by=admin)
    assert message in raised.value.errors[field][0]
    db.session.rollback()
    assert len(codes(fresh)) == 16


def test_a_chapter_is_renamed_limited_and_rescoped_with_old_and_new_audited(
    fresh: Consortium, admin: User
) -> None:
    section = plan.section_of(fresh, "calendrier")

    changes = plan.update_section(
        section,
        SectionDraft("Calendrier", "Un tableau suffit.", SectionScope.SHARED_AND_PER_PARTNER, None, 500),
        by=admin,
    )

    assert set(changes) == {"title", "guidance", "scope", "max_chars", "max_chars_per_partner"}
    assert changes["scope"] == {"old": "shared", "new": "shared_and_per_partner"}
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.kind == "section.updated"))
    assert event is not None
    assert event.data["changes"]["title"] == {"old": "Calendrier de mise en œuvre", "new": "Calendrier"}
    assert event.data["changes"]["max_chars"] == {"old": 2000, "new": None}


def test_a_scope_that_would_hide_written_text_is_refused(fresh: Consortium, admin: User) -> None:
    assert fresh.lead_partner is not None
    write(fresh, "diagnostic", fresh.lead_partner.id)
    write(fresh, "resume")

    with pytest.raises(InvalidFields) as raised:
        plan.update_section(
            plan.section_of(fresh, "diagnostic"),
            SectionDraft("Diagnostic", scope=SectionScope.SHARED),
            by=admin,
        )
    assert "Des membres ont déjà rédigé leur partie" in raised.value.errors["scope"][0]
    with pytest.raises(InvalidFields) as raised:
        plan.update_section(
            plan.section_of(fresh, "resume"), SectionDraft("Résumé", scope=SectionScope.PER_PARTNER), by=admin
        )
    assert "Le texte commun de ce chapitre est déjà rédigé" in raised.value.errors["scope"][0]
    # Adding a side is harmless.
    plan.update_section(
        plan.section_of(fresh, "resume"),
        SectionDraft("Résumé", scope=SectionScope.SHARED_AND_PER_PARTNER),
        by=admin,
    )


def test_chapters_move_up_and_down_and_stop_at_the_ends(fresh: Consortium, admin: User) -> None:
    assert plan.move_section(plan.section_of(fresh, "resume"), -1, by=admin)
    assert plan.move_section(plan.section_of(fresh, "innovation"), 1, by=admin)
    assert not plan.move_section(plan.section_of(fresh, "resume"), -1, by=admin)
    assert not plan.move_section(plan.section_of(fresh, "annexes"), 1, by=admin)
    db.session.commit()

    order = codes(fresh)
    assert order[:2] == ["resume", "identite"]
    assert order[5:7] == ["participation", "innovation"]
    assert [s.position for s in active_sections(fresh)] == list(range(1, 17))
    assert kinds() == ["section.moved", "section.moved"]


def test_a_chapter_without_text_is_deleted(fresh: Consortium, admin: User) -> None:
    section = plan.section_of(fresh, "innovation")
    assert plan.remove_section(section, by=admin) is True
    db.session.commit()

    assert "innovation" not in codes(fresh)
    assert (
        db.session.scalar(select(func.count()).select_from(Section).where(Section.code == "innovation")) == 0
    )
    assert [s.position for s in active_sections(fresh)] == list(range(1, 16))
    assert kinds() == ["section.deleted"]


def test_a_chapter_with_text_is_archived_never_destroyed_and_can_be_restored(
    fresh: Consortium, admin: User
) -> None:
    write(fresh, "innovation")
    revisions = db.session.scalar(select(func.count()).select_from(SectionRevision))

    assert plan.remove_section(plan.section_of(fresh, "innovation"), by=admin) is False
    db.session.commit()
    assert "innovation" not in codes(fresh)
    archived = plan.plan_of(fresh).archived
    assert [entry.section.code for entry in archived] == ["innovation"]
    assert archived[0].has_text
    assert db.session.scalar(select(func.count()).select_from(SectionRevision)) == revisions

    plan.restore_section(plan.section_of(fresh, "innovation"), by=admin)
    db.session.commit()
    assert codes(fresh)[-1] == "innovation"
    assert [s.position for s in active_sections(fresh)] == list(range(1, 17))
    assert kinds() == ["section.archived", "section.restored"]


def test_an_archived_chapter_cannot_be_moved(fresh: Consortium, admin: User) -> None:
    write(fresh, "innovation")
    section = plan.section_of(fresh, "innovation")
    plan.remove_section(section, by=admin)
    with pytest.raises(NotFound):
        plan.move_section(section, -1, by=admin)


def test_only_the_coordination_edits_the_plan(fresh: Consortium) -> None:
    demo = make_consortium()
    director = make_member(demo, Role.DIRECTOR, "plie-sevran")
    outsider = make_member(demo, Role.COORDINATOR, "urtie-idf")
    section = plan.section_of(demo, "resume")

    for user in (director,):
        with pytest.raises(NotAllowed):
            plan.update_section(section, SectionDraft("Piraté"), by=user)
        with pytest.raises(NotAllowed):
            plan.remove_section(section, by=user)
    with pytest.raises(NotAllowed):
        plan.add_section(fresh, SectionDraft("Piraté"), by=outsider)


def test_section_of_another_consortium_is_not_found(fresh: Consortium) -> None:
    demo = make_consortium()
    plan.remove_section(plan.section_of(fresh, "innovation"), by=make_user("a@exemple.fr", admin=True))
    with pytest.raises(NotFound):
        plan.section_of(fresh, "inexistant")
    assert plan.section_of(demo, "innovation").consortium_id == demo.id


def test_a_chapter_with_comments_but_no_text_is_archived_not_deleted(fresh: Consortium, admin: User) -> None:
    section = plan.section_of(fresh, "innovation")
    part = SectionPart(section=section, partner_id=None)
    db.session.add(part)
    db.session.flush()
    db.session.add(SectionComment(part_id=part.id, body="Qui s'en charge ?"))
    db.session.commit()
    entry = next(e for e in plan.plan_of(fresh).active if e.section.code == "innovation")
    assert (entry.has_text, entry.has_comments, entry.deletable) == (False, True, False)

    assert plan.remove_section(section, by=admin) is False
    assert db.session.scalar(select(func.count()).select_from(SectionComment)) == 1
