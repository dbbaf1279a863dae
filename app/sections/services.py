"""Sections: reading their current text, appending revisions."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import aliased

from app.budget.calculations import SectionFigures
from app.consortia.models import Consortium
from app.extensions import db
from app.richtext import sanitize_html, visible_length
from app.sections.models import RevisionKind, Section, SectionPart, SectionRevision
from app.sections.states import part_state


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


def section_figures(
    sections: list[Section], texts: dict[tuple[int, int | None], str]
) -> tuple[SectionFigures, ...]:
    """What the checks need to know of each section (limits, length and state of the shared text)."""
    figures = []
    for index, section in enumerate(sections):
        length = visible_length(texts.get((section.id, None), ""))
        figures.append(
            SectionFigures(
                code=section.code,
                title=section.title,
                index=index,
                scope=section.scope.value,
                generated=section.generated,
                max_chars=section.max_chars,
                shared_length=length,
                shared_state=part_state(length, section.status).value,
            )
        )
    return tuple(figures)


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
