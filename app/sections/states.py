"""Where a text stands: the one definition of a part's state, from its visible text and its status.

Every page that tells where a text stands uses it: the writing summary and the section page, the
coordination board, a partner's to-do, the reminders and the dossier's « État du dossier ». A part
that a reader sees text in is written, whatever its status says; « à relire » and « validé » are
steps a person took, so they count even for an empty text.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import aliased

from app.consortia.models import Consortium
from app.extensions import db
from app.sections.models import Section, SectionPart, SectionRevision, SectionStatus


class PartState(enum.StrEnum):
    EMPTY = "empty"
    WRITTEN = "written"
    TO_REVIEW = "to_review"
    VALIDATED = "validated"


# What each state shows, wherever it is shown (the coordination board's words where they fit).
PART_STATE_LABELS = {
    PartState.EMPTY: "À faire",
    PartState.WRITTEN: "En cours",
    PartState.TO_REVIEW: "À relire",
    PartState.VALIDATED: "Validé",
}


def part_state(length: int, status: SectionStatus) -> PartState:
    """Where a text of `length` visible characters stands, given its status (its section's if shared)."""
    if status is SectionStatus.VALIDATED:
        return PartState.VALIDATED
    if status is SectionStatus.IN_REVIEW:
        return PartState.TO_REVIEW
    return PartState.WRITTEN if length > 0 else PartState.EMPTY


def section_state(states: Iterable[PartState]) -> PartState:
    """A chapter as a whole: validated or to review when all its parts are, written once any has text."""
    found = set(states)
    if not found or found == {PartState.EMPTY}:
        return PartState.EMPTY
    if found == {PartState.VALIDATED}:
        return PartState.VALIDATED
    if found <= {PartState.TO_REVIEW, PartState.VALIDATED}:
        return PartState.TO_REVIEW
    return PartState.WRITTEN


@dataclass(frozen=True)
class PartFacts:
    """One stored part: its state, the length of its current text and who changed it last, when."""

    section_id: int
    partner_id: int | None
    state: PartState
    length: int
    changed_at: datetime | None
    author_id: int | None


PartKey = tuple[int, int | None]  # (section id, partner id or None for the shared text)


def part_facts(
    consortium: Consortium, *, partner_ids: Iterable[int] | None = None
) -> dict[PartKey, PartFacts]:
    """Every stored part of the consortium (or the shared texts and these partners' parts), in one query.

    Each current text is read once here: callers look states up instead of measuring texts again.
    """
    head = aliased(SectionRevision)
    query = (
        select(
            SectionPart.section_id,
            SectionPart.partner_id,
            SectionPart.status,
            Section.status,
            head.visible_chars,
            head.created_at,
            head.author_id,
        )
        .join(Section, Section.id == SectionPart.section_id)
        .outerjoin(head, head.id == SectionPart.head_revision_id)
        .where(Section.consortium_id == consortium.id)
    )
    if partner_ids is not None:
        query = query.where(
            or_(SectionPart.partner_id.is_(None), SectionPart.partner_id.in_(list(partner_ids)))
        )
    facts = {}
    for section_id, partner_id, status, shared_status, chars, created_at, author_id in db.session.execute(
        query
    ):
        length = chars or 0
        state = part_state(length, shared_status if partner_id is None else status)
        facts[(section_id, partner_id)] = PartFacts(
            section_id, partner_id, state, length, created_at, author_id
        )
    return facts


def state_of(facts: dict[PartKey, PartFacts], section: Section, partner_id: int | None) -> PartState:
    """The state of one part, saved or not (unsaved: no text; a shared one has its section's status)."""
    found = facts.get((section.id, partner_id))
    if found is not None:
        return found.state
    return part_state(0, section.status if partner_id is None else SectionStatus.TODO)
