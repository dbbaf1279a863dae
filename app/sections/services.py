"""Sections: reading their current text, appending revisions."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import aliased

from app.consortia.models import Consortium
from app.extensions import db
from app.richtext import sanitize_html
from app.sections.models import RevisionKind, Section, SectionPart, SectionRevision


def active_sections(consortium: Consortium) -> list[Section]:
    """The consortium's sections in dossier order, archived ones left out."""
    return list(
        db.session.scalars(
            select(Section)
            .where(Section.consortium_id == consortium.id, Section.archived_at.is_(None))
            .order_by(Section.position, Section.id)
        )
    )


def current_texts(consortium: Consortium) -> dict[tuple[int, int | None], str]:
    """The current text of every part, keyed by (section id, partner id or None for the shared part)."""
    head = aliased(SectionRevision)
    rows = db.session.execute(
        select(SectionPart.section_id, SectionPart.partner_id, head.content)
        .join(Section, Section.id == SectionPart.section_id)
        .join(head, head.id == SectionPart.head_revision_id)
        .where(Section.consortium_id == consortium.id)
    )
    return {(section_id, partner_id): content for section_id, partner_id, content in rows}


def append_revision(
    section: Section,
    partner_id: int | None,
    content: str,
    *,
    kind: RevisionKind,
    author_id: int | None,
    part: SectionPart | None = None,
) -> SectionRevision:
    """Add a revision to a part (created if missing) and make it the part's current text.

    The text always passes the sanitiser here, whoever saves it (editor, API, import).
    """
    if part is None:
        part = SectionPart(section=section, partner_id=partner_id)
        db.session.add(part)
        db.session.flush()
    part.version += 1
    revision = SectionRevision(
        part_id=part.id,
        number=part.version,
        kind=kind,
        content=sanitize_html(content),
        base_revision_id=part.head_revision_id,
        author_id=author_id,
    )
    db.session.add(revision)
    db.session.flush()
    part.head_revision_id = revision.id
    return revision
