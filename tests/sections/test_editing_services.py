"""Writing services (app.sections.editing): summary, writing page, presence, word differences."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.auth.models import User
from app.consortia.models import Consortium, Role
from app.consortia.services import partner_by_code
from app.database import utcnow
from app.errors import NotAllowed
from app.extensions import db
from app.sections import editing, parts, summary
from app.sections import presence as presences
from app.sections.models import EditingPresence, RevisionKind, Section, SectionPart
from app.sections.services import append_revision
from tests.factories import make_consortium, make_member


@pytest.fixture
def demo() -> Consortium:
    return make_consortium()


@pytest.fixture
def coordinator(demo: Consortium) -> User:
    return make_member(demo, Role.COORDINATOR, "urtie-idf", email="coordination@exemple.fr")


@pytest.fixture
def director(demo: Consortium) -> User:
    return make_member(demo, Role.DIRECTOR, "plie-sevran", email="direction@plie-sevran.fr")


def section(demo: Consortium, code: str) -> Section:
    found = db.session.scalar(select(Section).where(Section.consortium_id == demo.id, Section.code == code))
    assert found is not None
    return found


def test_the_summary_shows_the_last_change_and_partner_parts_over_their_limit(
    demo: Consortium, director: User
) -> None:
    diagnostic = section(demo, "diagnostic")
    sevran = partner_by_code(demo, "plie-sevran")
    append_revision(
        diagnostic,
        sevran.id,
        "<p>" + "trop long " * 250 + "</p>",
        kind=RevisionKind.EDIT,
        author_id=director.id,
        part=parts.find_part(diagnostic, sevran.id),
    )
    db.session.commit()

    row = next(r for r in summary.section_summary(demo) if r.code == "diagnostic")

    assert row.last_change_by == director.name
    assert row.partner_parts_over == 1
    assert row.partner_parts_total == 12
    assert not row.over_limit


def test_the_writing_page_has_the_shared_text_and_one_part_per_active_partner(
    demo: Consortium, director: User
) -> None:
    parts = editing.writing_page(section(demo, "diagnostic"), director)

    assert next(p.key for p in parts) == "commun"
    assert len(parts) == 13
    editable = [p.label for p in parts if p.can_edit]
    assert editable == ["PLIE de Sevran"]
    assert parts[0].limit == 6000
    assert parts[1].limit == 2000


def test_a_withdrawn_partner_has_no_part_on_the_page(demo: Consortium, coordinator: User) -> None:
    from app.consortia.models import PartnerStatus

    partner_by_code(demo, "plie-sevran").status = PartnerStatus.WITHDRAWN
    db.session.commit()

    labels = [p.label for p in editing.writing_page(section(demo, "diagnostic"), coordinator)]

    assert "PLIE de Sevran" not in labels
    assert len(labels) == 12


def test_an_unwritten_part_is_checked_without_being_stored(demo: Consortium, director: User) -> None:
    innovation = section(demo, "innovation")
    part = parts.part_for(innovation, None)

    assert part.section is innovation
    assert part not in db.session
    db.session.flush()
    assert db.session.scalars(select(SectionPart).where(SectionPart.section_id == innovation.id)).all() == []


def test_presence_shows_others_with_their_partner_and_expires(
    demo: Consortium, director: User, coordinator: User
) -> None:
    diagnostic = section(demo, "diagnostic")
    sevran = partner_by_code(demo, "plie-sevran")
    presences.heartbeat(diagnostic, sevran.id, by=director)
    db.session.commit()

    key = f"membre-{sevran.id}"
    [line] = presences.others_editing(diagnostic, coordinator)[key]
    assert line.startswith(f"{director.name} (PLIE de Sevran) modifie ce texte depuis ")
    assert presences.others_editing(diagnostic, director) == {}  # one does not see oneself

    presence = db.session.scalar(select(EditingPresence))
    assert presence is not None
    presence.seen_at = utcnow() - timedelta(minutes=3)
    presence.started_at = utcnow() - timedelta(minutes=10)
    db.session.commit()
    assert presences.others_editing(diagnostic, coordinator) == {}

    presences.heartbeat(diagnostic, sevran.id, by=director)
    restarted = db.session.scalar(select(EditingPresence.started_at))
    assert restarted is not None
    assert restarted > utcnow() - timedelta(minutes=1)  # a new editing session starts now

    presences.leave(diagnostic, sevran.id, by=director)
    assert presences.others_editing(diagnostic, coordinator) == {}


def test_presence_is_refused_on_a_text_one_cannot_edit(demo: Consortium, director: User) -> None:
    other = partner_by_code(demo, "urtie-idf")
    with pytest.raises(NotAllowed):
        presences.heartbeat(section(demo, "diagnostic"), other.id, by=director)


def test_word_diff_marks_removed_and_added_words_with_text_cues() -> None:
    theirs, mine = editing.word_diff("<p>Le chat <script>x</script>dort.</p>", "<p>Le chien dort.</p>")

    assert "<del>" in theirs
    assert "chat" in theirs
    assert "[retiré : " in theirs
    assert "<ins>" in mine
    assert "chien" in mine
    assert "[ajouté : " in mine
    assert "<script>" not in theirs


def test_word_diff_escapes_text() -> None:
    _theirs, mine = editing.word_diff("<p>a</p>", "<p>&lt;img src=x onerror=alert(1)&gt;</p>")
    assert "<img" not in mine
    assert "&lt;img" in mine
