"""save_part: the one save path of a section's text (edit, merge, conflict copy, refusals)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from app.audit import AuditEvent
from app.auth.models import User
from app.consortia.models import Consortium, Partner, PartnerStatus, Role
from app.consortia.services import partner_by_code
from app.errors import Invalid, NotAllowed, NotFound
from app.extensions import db
from app.mail.models import OutboxMessage
from app.sections.models import RevisionKind, Section, SectionPart, SectionRevision, SectionStatus
from app.sections.saving import MAX_STORED_CHARS, find_part, restore_revision, save_part
from tests.factories import make_consortium, make_member


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


def partner(consortium: Consortium, code: str) -> Partner:
    found = partner_by_code(consortium, code)
    assert found is not None
    return found


def revisions(found: Section, who: Partner | None = None) -> list[SectionRevision]:
    part = find_part(found, who)
    if part is None:
        return []
    return list(
        db.session.scalars(
            select(SectionRevision).where(SectionRevision.part_id == part.id).order_by(SectionRevision.number)
        )
    )


def head_text(found: Section, who: Partner | None = None) -> str:
    part = find_part(found, who)
    assert part is not None
    assert part.head_revision is not None
    db.session.refresh(part)
    return part.head_revision.content


def test_first_save_creates_the_part_and_revision_one(consortium: Consortium, coordinator: User) -> None:
    found = section(consortium)
    result = save_part(found, None, "<p>Première phrase.</p>", base_revision=0, by=coordinator)
    assert (result.revision, result.merged, result.conflict) == (1, False, None)
    [revision] = revisions(found)
    assert (revision.number, revision.kind, revision.author_id) == (1, RevisionKind.EDIT, coordinator.id)
    assert head_text(found) == "<p>Première phrase.</p>"


def test_save_from_the_current_revision_appends_an_edit(consortium: Consortium, coordinator: User) -> None:
    found = section(consortium)
    save_part(found, None, "<p>a</p>", base_revision=0, by=coordinator)
    result = save_part(found, None, "<p>a b</p>", base_revision=1, by=coordinator)
    assert result.revision == 2
    assert [r.kind for r in revisions(found)] == [RevisionKind.EDIT, RevisionKind.EDIT]
    assert revisions(found)[1].base_revision_id == revisions(found)[0].id


def test_double_submit_of_the_same_text_adds_nothing(consortium: Consortium, coordinator: User) -> None:
    found = section(consortium)
    first = save_part(found, None, "<p>a</p>", base_revision=0, by=coordinator)
    again = save_part(found, None, "<p>a</p>", base_revision=0, by=coordinator)
    assert again.revision == first.revision == 1
    assert len(revisions(found)) == 1


def test_stale_save_of_another_paragraph_is_merged(consortium: Consortium, coordinator: User) -> None:
    found = section(consortium)
    save_part(found, None, "<p>un</p><p>deux</p>", base_revision=0, by=coordinator)
    save_part(found, None, "<p>UN</p><p>deux</p>", base_revision=1, by=coordinator)
    result = save_part(found, None, "<p>un</p><p>DEUX</p>", base_revision=1, by=coordinator)
    assert (result.revision, result.merged, result.content) == (3, True, "<p>UN</p><p>DEUX</p>")
    assert revisions(found)[-1].kind is RevisionKind.MERGE
    assert head_text(found) == "<p>UN</p><p>DEUX</p>"


def test_stale_save_of_the_same_paragraph_is_kept_as_a_conflict_copy(
    consortium: Consortium, coordinator: User
) -> None:
    found = section(consortium)
    save_part(found, None, "<p>un</p><p>deux</p>", base_revision=0, by=coordinator)
    save_part(found, None, "<p>un !</p><p>deux</p>", base_revision=1, by=coordinator)
    result = save_part(found, None, "<p>un ?</p><p>deux</p>", base_revision=1, by=coordinator)
    assert result.conflict is not None
    assert result.conflict.current_content == "<p>un !</p><p>deux</p>"
    assert result.conflict.conflict_copy_revision == 3
    assert result.conflict.current_revision == 3
    copy = revisions(found)[-1]
    assert (copy.number, copy.kind, copy.content) == (3, RevisionKind.CONFLICT_COPY, "<p>un ?</p><p>deux</p>")
    assert head_text(found) == "<p>un !</p><p>deux</p>"  # the copy is not the current text
    # The merge by hand starts from both versions of the clashing paragraph, the rest once.
    assert result.conflict.clashes == 1
    assert result.conflict.merge_draft.count("<p>deux</p>") == 1
    assert "<p>un !</p>" in result.conflict.merge_draft
    assert "<p>un ?</p>" in result.conflict.merge_draft


def test_a_merge_still_holding_its_clash_marks_is_refused_and_changes_nothing(
    consortium: Consortium, coordinator: User
) -> None:
    found = section(consortium)
    save_part(found, None, "<p>un</p><p>deux</p>", base_revision=0, by=coordinator)
    save_part(found, None, "<p>un !</p><p>deux</p>", base_revision=1, by=coordinator)
    conflict = save_part(found, None, "<p>un ?</p><p>deux</p>", base_revision=1, by=coordinator).conflict
    assert conflict is not None

    with pytest.raises(Invalid, match="encore 3 marque"):
        save_part(found, None, conflict.merge_draft, base_revision=conflict.current_revision, by=coordinator)
    assert len(revisions(found)) == 3
    assert head_text(found) == "<p>un !</p><p>deux</p>"


def test_after_a_conflict_the_current_revision_is_a_valid_base(
    consortium: Consortium, coordinator: User
) -> None:
    found = section(consortium)
    save_part(found, None, "<p>un</p>", base_revision=0, by=coordinator)
    save_part(found, None, "<p>un !</p>", base_revision=1, by=coordinator)
    conflict = save_part(found, None, "<p>un ?</p>", base_revision=1, by=coordinator).conflict
    assert conflict is not None
    result = save_part(found, None, "<p>un ?!</p>", base_revision=conflict.current_revision, by=coordinator)
    assert (result.revision, result.merged) == (4, False)
    assert head_text(found) == "<p>un ?!</p>"


def test_a_base_revision_from_the_future_is_refused(consortium: Consortium, coordinator: User) -> None:
    with pytest.raises(Invalid, match="n'existe pas encore"):
        save_part(section(consortium), None, "<p>a</p>", base_revision=5, by=coordinator)


@pytest.mark.parametrize("base", [-1, True, "1", 1.5, None])
def test_a_base_revision_that_is_not_a_natural_integer_is_refused(
    consortium: Consortium, coordinator: User, base: object
) -> None:
    with pytest.raises(Invalid, match="révision de départ"):
        save_part(section(consortium), None, "<p>a</p>", base_revision=base, by=coordinator)  # type: ignore[arg-type]


def test_nul_bytes_are_refused_and_nothing_is_saved(consortium: Consortium, coordinator: User) -> None:
    with pytest.raises(Invalid, match="caractère nul"):
        save_part(section(consortium), None, "<p>a\x00b</p>", base_revision=0, by=coordinator)
    assert revisions(section(consortium)) == []


def test_text_beyond_the_hard_cap_is_refused(consortium: Consortium, coordinator: User) -> None:
    huge = "<p>" + "é" * MAX_STORED_CHARS + "</p>"
    with pytest.raises(Invalid, match="taille maximale"):
        save_part(section(consortium), None, huge, base_revision=0, by=coordinator)
    with pytest.raises(Invalid, match="taille maximale"):
        save_part(section(consortium), None, "x" * 1_000_000, base_revision=0, by=coordinator)
    assert revisions(section(consortium)) == []


def test_text_over_the_section_limit_is_saved_while_drafting(
    consortium: Consortium, coordinator: User
) -> None:
    found = section(consortium)
    assert found.max_chars is not None
    result = save_part(
        found, None, "<p>" + "a" * (found.max_chars + 500) + "</p>", base_revision=0, by=coordinator
    )
    assert result.revision == 1


def test_hostile_markup_is_sanitised_and_emoji_and_rtl_survive(
    consortium: Consortium, coordinator: User
) -> None:
    hostile = (
        '<p onclick="alert(1)">Bonjour 👩‍👩‍👧 مرحبا שלום<script>alert(1)</script>'
        '<a href="javascript:alert(1)">x</a><img src="file:///etc/passwd"><img src="https://evil.example/p.png">'
        '<span style="mso-fareast-font-family:Calibri">Word</span></p>'
    )
    result = save_part(section(consortium), None, hostile, base_revision=0, by=coordinator)
    for forbidden in ("onclick", "script", "javascript", "img", "file:", "evil", "style", "mso"):
        assert forbidden not in result.content
    assert "👩‍👩‍👧 مرحبا שלום" in result.content
    assert "Word" in result.content
    assert head_text(section(consortium)) == result.content


def test_contributor_cannot_write_another_partners_part(consortium: Consortium) -> None:
    contributor = make_member(consortium, Role.CONTRIBUTOR, "plie-sevran")
    found = section(consortium, "role_membre")
    other = partner(consortium, "urtie-idf")
    with pytest.raises(NotAllowed, match="Votre rôle"):
        save_part(found, other, "<p>intrus</p>", base_revision=0, by=contributor)
    db.session.rollback()
    before = db.session.scalar(select(func.count(SectionRevision.id)))
    assert find_part(found, other) is not None  # the demo wrote it; nothing was added
    assert db.session.scalar(select(func.count(SectionRevision.id))) == before


def test_contributor_writes_its_own_partners_part(consortium: Consortium) -> None:
    contributor = make_member(consortium, Role.CONTRIBUTOR, "plie-sevran")
    found = section(consortium, "role_membre")
    own = partner(consortium, "plie-sevran")
    base = find_part(found, own)
    result = save_part(
        found, own, "<p>Notre rôle.</p>", base_revision=base.version if base else 0, by=contributor
    )
    assert head_text(found, own) == "<p>Notre rôle.</p>"
    assert result.conflict is None


@pytest.mark.parametrize("role", [Role.CONTRIBUTOR, Role.DIRECTOR, Role.READER])
def test_only_coordinators_write_the_shared_text(consortium: Consortium, role: Role) -> None:
    user = make_member(consortium, role, "plie-sevran")
    with pytest.raises(NotAllowed):
        save_part(section(consortium), None, "<p>a</p>", base_revision=0, by=user)
    assert find_part(section(consortium), None) is None


def test_a_withdrawn_partners_part_cannot_be_written(consortium: Consortium, coordinator: User) -> None:
    gone = partner(consortium, "plie-sevran")
    gone.status = PartnerStatus.WITHDRAWN
    db.session.commit()
    with pytest.raises(NotAllowed, match="s'est retiré"):
        save_part(section(consortium, "role_membre"), gone, "<p>a</p>", base_revision=0, by=coordinator)


def test_archived_sections_cannot_be_written(consortium: Consortium, coordinator: User) -> None:
    archived = section(consortium)
    archived.archived_at = datetime.now(UTC)
    db.session.commit()
    with pytest.raises(Invalid, match="retiré du dossier"):
        save_part(archived, None, "<p>a</p>", base_revision=0, by=coordinator)


def test_a_generated_section_takes_a_written_introduction(consortium: Consortium, coordinator: User) -> None:
    result = save_part(
        section(consortium, "identite"), None, "<p>Introduction</p>", base_revision=0, by=coordinator
    )
    assert result.revision == 1
    assert result.content == "<p>Introduction</p>"


def test_a_part_the_section_does_not_have_is_not_found(consortium: Consortium, coordinator: User) -> None:
    with pytest.raises(NotFound):
        save_part(section(consortium, "role_membre"), None, "<p>a</p>", base_revision=0, by=coordinator)
    with pytest.raises(NotFound):
        save_part(
            section(consortium),
            partner(consortium, "plie-sevran"),
            "<p>a</p>",
            base_revision=0,
            by=coordinator,
        )


def test_every_save_leaves_an_audit_event(consortium: Consortium, coordinator: User) -> None:
    found = section(consortium)
    save_part(found, None, "<p>un</p>", base_revision=0, by=coordinator)
    save_part(found, None, "<p>deux</p>", base_revision=1, by=coordinator)
    save_part(found, None, "<p>trois</p>", base_revision=1, by=coordinator)
    events = list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.kind.like("section.%")).order_by(AuditEvent.id)
        )
    )
    assert [e.kind for e in events] == ["section.edit", "section.edit", "section.conflict_copy"]
    assert events[1].actor_id == coordinator.id
    assert events[1].data["section"] == "innovation"
    assert (events[1].data["old_chars"], events[1].data["new_chars"]) == (2, 4)


def test_editing_a_validated_section_reopens_it_and_tells_the_coordinators(
    consortium: Consortium, coordinator: User
) -> None:
    second = make_member(consortium, Role.COORDINATOR, email="coordination2@exemple.fr")
    found = section(consortium)
    save_part(found, None, "<p>un</p>", base_revision=0, by=coordinator)
    found.status = SectionStatus.VALIDATED
    db.session.commit()
    save_part(found, None, "<p>un deux</p>", base_revision=1, by=second)
    assert found.status is SectionStatus.IN_REVIEW
    [mail] = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "section_reopened"))
    assert mail.to == "coordination@exemple.fr"  # not the coordinator who edited
    assert "à relire" in mail.text_body
    assert found.title in mail.text_body
    assert "/consortia/cap-remob-idf/chapitres/innovation/historique" in mail.text_body
    kinds = list(db.session.scalars(select(AuditEvent.kind)))
    assert "section.status_changed" in kinds


def test_a_conflict_copy_does_not_reopen_a_validated_section(
    consortium: Consortium, coordinator: User
) -> None:
    found = section(consortium)
    save_part(found, None, "<p>un</p>", base_revision=0, by=coordinator)
    save_part(found, None, "<p>un !</p>", base_revision=1, by=coordinator)
    found.status = SectionStatus.VALIDATED
    db.session.commit()
    assert save_part(found, None, "<p>un ?</p>", base_revision=1, by=coordinator).conflict is not None
    assert found.status is SectionStatus.VALIDATED


def test_editing_a_validated_partner_part_reopens_that_part(
    consortium: Consortium, coordinator: User
) -> None:
    director = make_member(consortium, Role.DIRECTOR, "plie-sevran")
    found, own = section(consortium, "role_membre"), partner(consortium, "plie-sevran")
    part = find_part(found, own)
    assert part is not None
    part.status = SectionStatus.VALIDATED
    db.session.commit()
    save_part(found, own, "<p>Nouveau rôle.</p>", base_revision=part.version, by=director)
    db.session.refresh(part)
    assert part.status is SectionStatus.IN_REVIEW
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 1


def test_restore_appends_a_revision_with_the_old_text(consortium: Consortium, coordinator: User) -> None:
    found = section(consortium)
    save_part(found, None, "<p>un</p>", base_revision=0, by=coordinator)
    save_part(found, None, "<p>deux</p>", base_revision=1, by=coordinator)
    result = restore_revision(found, None, 1, by=coordinator)
    assert result.revision == 3
    assert [(r.number, r.kind, r.content) for r in revisions(found)] == [
        (1, RevisionKind.EDIT, "<p>un</p>"),
        (2, RevisionKind.EDIT, "<p>deux</p>"),
        (3, RevisionKind.RESTORE, "<p>un</p>"),
    ]
    assert head_text(found) == "<p>un</p>"


def test_restoring_the_current_text_adds_nothing(consortium: Consortium, coordinator: User) -> None:
    found = section(consortium)
    save_part(found, None, "<p>un</p>", base_revision=0, by=coordinator)
    assert restore_revision(found, None, 1, by=coordinator).revision == 1
    assert len(revisions(found)) == 1


def test_restore_needs_the_right_to_write_and_an_existing_revision(
    consortium: Consortium, coordinator: User
) -> None:
    reader = make_member(consortium, Role.READER, "plie-sevran")
    found = section(consortium)
    save_part(found, None, "<p>un</p>", base_revision=0, by=coordinator)
    with pytest.raises(NotAllowed):
        restore_revision(found, None, 1, by=reader)
    with pytest.raises(NotFound):
        restore_revision(found, None, 9, by=coordinator)


def test_part_is_created_once(consortium: Consortium, coordinator: User) -> None:
    found = section(consortium)
    save_part(found, None, "<p>a</p>", base_revision=0, by=coordinator)
    save_part(found, None, "<p>b</p>", base_revision=1, by=coordinator)
    count = db.session.scalar(
        select(func.count(SectionPart.id)).where(
            SectionPart.section_id == found.id, SectionPart.partner_id.is_(None)
        )
    )
    assert count == 1


def test_a_writer_overtaken_between_reading_and_saving_merges_on_retry(
    consortium: Consortium, coordinator: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.sections import saving

    found = section(consortium)
    save_part(found, None, "<p>un</p><p>deux</p>", base_revision=0, by=coordinator)
    original = saving._claim
    overtaken: list[bool] = []

    def overtaken_once(part_id: int, seen: int) -> bool:
        if not overtaken:
            overtaken.append(True)
            # Another writer saves right after this one read the text: its claim must fail.
            save_part(found, None, "<p>UN</p><p>deux</p>", base_revision=1, by=coordinator)
        return original(part_id, seen)

    monkeypatch.setattr(saving, "_claim", overtaken_once)
    result = save_part(found, None, "<p>un</p><p>DEUX</p>", base_revision=1, by=coordinator)
    assert (result.revision, result.merged, result.content) == (3, True, "<p>UN</p><p>DEUX</p>")
    assert [r.kind for r in revisions(found)] == [RevisionKind.EDIT, RevisionKind.EDIT, RevisionKind.MERGE]


def test_a_save_from_before_someone_elses_conflict_copy_is_a_plain_edit(
    consortium: Consortium, coordinator: User
) -> None:
    found = section(consortium)
    save_part(found, None, "<p>un</p>", base_revision=0, by=coordinator)
    save_part(found, None, "<p>un !</p>", base_revision=1, by=coordinator)
    save_part(found, None, "<p>un ?</p>", base_revision=1, by=coordinator)  # conflict copy n°3
    result = save_part(found, None, "<p>un !!</p>", base_revision=2, by=coordinator)
    assert (result.revision, result.merged) == (4, False)
    assert revisions(found)[-1].kind is RevisionKind.EDIT


def test_each_revision_points_to_the_text_it_replaced(consortium: Consortium, coordinator: User) -> None:
    found = section(consortium)
    save_part(found, None, "<p>un</p>", base_revision=0, by=coordinator)
    save_part(found, None, "<p>un !</p>", base_revision=1, by=coordinator)
    save_part(found, None, "<p>un ?</p>", base_revision=1, by=coordinator)  # conflict copy n°3
    save_part(found, None, "<p>un !!</p>", base_revision=3, by=coordinator)
    ids = {r.number: r.id for r in revisions(found)}
    assert [(r.number, r.base_revision_id) for r in revisions(found)] == [
        (1, None),
        (2, ids[1]),
        (3, ids[2]),
        (4, ids[2]),  # not the conflict copy, which never was the text
    ]
