"""Finding a section's texts: the section by code, the partner by id, a part stored, unsaved or created."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from app.consortia.models import Consortium, Partner, PartnerStatus
from app.errors import NotFound
from app.extensions import db
from app.sections.models import Section, SectionPart, SectionStatus


def section_of(consortium: Consortium, code: str) -> Section:
    """The consortium's non-archived section with this code."""
    section = db.session.scalar(
        select(Section).where(
            Section.consortium_id == consortium.id, Section.code == code, Section.archived_at.is_(None)
        )
    )
    if section is None:
        raise NotFound(_("Cette section n'existe pas."))
    return section


def partner_of(consortium: Consortium, partner_id: int | None) -> Partner | None:
    """The consortium's active partner with this id (None for the shared text)."""
    if partner_id is None:
        return None
    partner = db.session.get(Partner, partner_id)
    if partner is None or partner.consortium_id != consortium.id or partner.status != PartnerStatus.ACTIVE:
        raise NotFound(_("Ce membre ne fait pas partie du consortium."))
    return partner


def find_part(section: Section, partner_id: int | None) -> SectionPart | None:
    """The stored part (shared when partner_id is None), or None if nobody has written it yet."""
    query = select(SectionPart).where(SectionPart.section_id == section.id)
    query = query.where(
        SectionPart.partner_id.is_(None) if partner_id is None else SectionPart.partner_id == partner_id
    )
    return db.session.scalar(query)


def part_for(section: Section, partner_id: int | None) -> SectionPart:
    """The part, stored or not: an unsaved one is not added to the session (for permission checks)."""
    part = find_part(section, partner_id)
    if part is not None:
        return part
    return unsaved_part(section, partner_id)


def unsaved_part(section: Section, partner_id: int | None) -> SectionPart:
    part = SectionPart(section_id=section.id, partner_id=partner_id, version=0, status=SectionStatus.TODO)
    # Without a backref event: the section's `parts` collection must not pick up this transient part.
    set_committed_value(part, "section", section)
    return part


def ensure_part(section: Section, partner_id: int | None) -> SectionPart:
    """The part, created empty (version 0, no text) if nobody has written it yet; flushed."""
    part = find_part(section, partner_id)
    if part is not None:
        return part
    # Someone may save the first text at the same moment: the unique index lets one row in.
    try:
        with db.session.begin_nested():
            part = SectionPart(section_id=section.id, partner_id=partner_id, version=0)
            db.session.add(part)
    except IntegrityError:
        part = find_part(section, partner_id)
        if part is None:  # pragma: no cover - the index said it exists
            raise
    return part
