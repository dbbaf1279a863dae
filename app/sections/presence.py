"""Who is writing which text now (advisory): announced by the writing page, shown to the others."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from app.auth.models import User
from app.consortia.models import Organisation, Partner, RoleGrant
from app.database import utcnow
from app.errors import NotAllowed
from app.extensions import db
from app.permissions import can_edit_section_part
from app.sections.models import EditingPresence, Section, SectionPart
from app.sections.parts import ensure_part, find_part
from app.templating import PARIS

# The page beats every 5 seconds while in view; after 2 minutes without one the person is gone.
PRESENCE_EXPIRY = timedelta(minutes=2)


def editors_by_part(section_id: int, user: User) -> dict[int, list[tuple[str, datetime]]]:
    """Who else is editing each part of the section right now: « name (partner) » and since when."""
    since = utcnow() - PRESENCE_EXPIRY
    rows = db.session.execute(
        select(EditingPresence.part_id, EditingPresence.started_at, User.name, Organisation.name)
        .join(User, User.id == EditingPresence.user_id)
        .join(SectionPart, SectionPart.id == EditingPresence.part_id)
        .join(Section, Section.id == SectionPart.section_id)
        .outerjoin(
            RoleGrant,
            (RoleGrant.user_id == EditingPresence.user_id)
            & (RoleGrant.consortium_id == Section.consortium_id),
        )
        .outerjoin(Partner, Partner.id == RoleGrant.partner_id)
        .outerjoin(Organisation, Organisation.id == Partner.organisation_id)
        .where(
            SectionPart.section_id == section_id,
            EditingPresence.seen_at >= since,
            EditingPresence.user_id != user.id,
        )
        .order_by(EditingPresence.started_at)
    ).all()
    result: dict[int, list[tuple[str, datetime]]] = {}
    for part_id, started_at, name, partner_name in rows:
        label = f"{name} ({partner_name})" if partner_name else name
        result.setdefault(part_id, []).append((label, started_at))
    return result


def editor_lines(editors: list[tuple[str, datetime]]) -> list[str]:
    return [
        _(
            "%(name)s modifie ce texte depuis %(time)s",
            name=name,
            time=since.astimezone(PARIS).strftime("%H:%M"),
        )
        for name, since in editors
    ]


def others_editing(section: Section, user: User) -> dict[str, list[str]]:
    """For each text of the section that others edit now (`commun`, `membre-<id>`): who and since when."""
    keys = {
        part_id: "commun" if partner_id is None else f"membre-{partner_id}"
        for part_id, partner_id in db.session.execute(
            select(SectionPart.id, SectionPart.partner_id).where(SectionPart.section_id == section.id)
        )
    }
    return {
        keys[part_id]: editor_lines(editors) for part_id, editors in editors_by_part(section.id, user).items()
    }


def heartbeat(section: Section, partner_id: int | None, *, by: User) -> SectionPart:
    """Note that this person is editing the part now (started when the last presence expired)."""
    part = ensure_part(section, partner_id)
    if not can_edit_section_part(by, part):
        raise NotAllowed(_("Vous ne pouvez pas modifier ce texte."))
    now = utcnow()
    presence = db.session.scalar(
        select(EditingPresence).where(EditingPresence.part_id == part.id, EditingPresence.user_id == by.id)
    )
    if presence is None:
        db.session.add(EditingPresence(part_id=part.id, user_id=by.id, started_at=now, seen_at=now))
    else:
        if presence.seen_at < now - PRESENCE_EXPIRY:
            presence.started_at = now
        presence.seen_at = now
    db.session.flush()
    return part


def leave(section: Section, partner_id: int | None, *, by: User) -> None:
    """This person closed the page: no longer shown as editing."""
    part = find_part(section, partner_id)
    if part is None:
        return
    presence = db.session.scalar(
        select(EditingPresence).where(EditingPresence.part_id == part.id, EditingPresence.user_id == by.id)
    )
    if presence is not None:
        db.session.delete(presence)
        db.session.flush()
