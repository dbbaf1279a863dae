"""A part's history: every revision kept, any two compared word by word, any one restored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.auth.models import User
from app.consortia.models import Partner
from app.errors import NotFound
from app.extensions import db
from app.sections.merge import DiffPiece, word_diff
from app.sections.models import RevisionKind, Section, SectionPart, SectionRevision
from app.sections.saving import find_part

KIND_LABELS = {
    RevisionKind.EDIT: _l("modification"),
    RevisionKind.MERGE: _l("fusion"),
    RevisionKind.CONFLICT_COPY: _l("copie en conflit"),
    RevisionKind.RESTORE: _l("restauration"),
    RevisionKind.IMPORT: _l("import"),
}


@dataclass(frozen=True)
class RevisionRow:
    """One line of the history: a revision, who made it and when, its length."""

    number: int
    kind: RevisionKind
    author: str
    created_at: datetime
    chars: int
    current: bool
    # The text this revision replaced (for a conflict copy: the text it lost against), to compare.
    replaced: int | None

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS[self.kind])


def revisions_of(section: Section, partner: Partner | None) -> list[RevisionRow]:
    """Every revision of the part, newest first (an empty list when nobody wrote it)."""
    part = find_part(section, partner)
    if part is None:
        return []
    rows = db.session.execute(
        select(SectionRevision, User.name)
        .outerjoin(User, User.id == SectionRevision.author_id)
        .where(SectionRevision.part_id == part.id)
        .order_by(SectionRevision.number.desc())
    )
    found = list(rows)
    shown = sorted(r.number for r, _name in found if r.kind is not RevisionKind.CONFLICT_COPY)
    return [
        RevisionRow(
            number=revision.number,
            kind=revision.kind,
            author=name
            or str(_l("document importé") if revision.kind is RevisionKind.IMPORT else _l("auteur inconnu")),
            created_at=revision.created_at,
            chars=revision.visible_chars,
            current=revision.id == part.head_revision_id,
            replaced=max((n for n in shown if n < revision.number), default=None),
        )
        for revision, name in found
    ]


def revision(section: Section, partner: Partner | None, number: int) -> SectionRevision:
    """One revision of the part, or NotFound."""
    part: SectionPart | None = find_part(section, partner)
    found = (
        None
        if part is None
        else db.session.scalar(
            select(SectionRevision).where(
                SectionRevision.part_id == part.id, SectionRevision.number == number
            )
        )
    )
    if found is None:
        raise NotFound(str(_l("La version n°%(number)s n'existe pas.", number=number)))
    return found


def compare(section: Section, partner: Partner | None, old: int, new: int) -> list[DiffPiece]:
    """Word-level differences of the visible text from revision `old` to revision `new`."""
    return word_diff(revision(section, partner, old).content, revision(section, partner, new).content)
