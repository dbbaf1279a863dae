"""Writing the application: the writing page, statuses and lead writers."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import date, datetime
from html import escape

from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select

from app.audit import EventKind, record_event
from app.auth.models import User
from app.auth.services import people_names
from app.consortia.models import Consortium, Partner, PartnerStatus, Role, RoleGrant
from app.errors import Invalid, NotAllowed
from app.extensions import db
from app.mail.services import public_link
from app.notifications.models import NotificationKind
from app.notifications.services import notify
from app.permissions import (
    can_edit_section_part,
    can_manage_consortium,
    can_set_part_status,
    can_view_consortium,
)
from app.richtext import html_to_text
from app.sections.models import (
    Section,
    SectionComment,
    SectionPart,
    SectionRevision,
    SectionStatus,
)
from app.sections.parts import ensure_part, part_for, unsaved_part
from app.sections.states import (
    PART_STATE_LABELS,
    PartState,
    part_state,
)


@dataclass
class PartView:
    """One text on the writing page: the shared text or a partner's part."""

    part: SectionPart
    partner: Partner | None
    label: str
    content: str
    revision: int
    length: int
    limit: int | None
    can_edit: bool
    status: SectionStatus
    state: PartState
    last_change_at: datetime | None
    last_change_by: str | None
    # The statuses this person may move the text to, each changing where it stands.
    next_statuses: tuple[SectionStatus, ...] = ()

    @property
    def key(self) -> str:
        """`commun` or `membre-<id>`: the anchor and the local-storage key of this part."""
        return "commun" if self.partner is None else f"membre-{self.partner.id}"

    @property
    def over_limit(self) -> bool:
        """Longer than allowed (allowed while drafting, refused for review)."""
        return self.limit is not None and self.length > self.limit

    @property
    def state_label(self) -> str:
        """Where the text stands, in French."""
        return PART_STATE_LABELS[self.state]


def writing_page(section: Section, user: User) -> list[PartView]:
    """The shared text then one part per active partner, each with what this person may do on it."""
    consortium = section.consortium
    partners = [p for p in consortium.partners if p.status == PartnerStatus.ACTIVE]
    stored = {
        part.partner_id: part
        for part in db.session.scalars(select(SectionPart).where(SectionPart.section_id == section.id))
    }
    heads = {
        revision.part_id: revision
        for revision in db.session.scalars(
            select(SectionRevision).where(
                SectionRevision.id.in_([p.head_revision_id for p in stored.values() if p.head_revision_id])
            )
        )
    }
    authors = people_names([r.author_id for r in heads.values()])
    targets: list[Partner | None] = []
    if section.scope.has_shared_part:
        targets.append(None)
    if section.scope.has_partner_parts:
        targets.extend(partners)
    views = []
    for partner in targets:
        partner_id = partner.id if partner else None
        part = stored.get(partner_id) or unsaved_part(section, partner_id)
        head = heads.get(part.id) if part.id else None
        content = head.content if head else ""
        status = section.status if partner is None else part.status
        length = head.visible_chars if head else 0
        views.append(
            PartView(
                part=part,
                partner=partner,
                label=_("Texte commun") if partner is None else partner.name,
                content=content,
                revision=part.version,
                length=length,
                limit=section.max_chars if partner is None else section.max_chars_per_partner,
                can_edit=can_edit_section_part(user, part),
                status=status,
                state=part_state(length, status),
                last_change_at=head.created_at if head else None,
                last_change_by=authors.get(head.author_id) if head and head.author_id else None,
                next_statuses=_moves(user, part, status, length),
            )
        )
    return views


def comments_by_part(section_id: int) -> dict[int, list[SectionComment]]:
    """The comments and replies of each part of the section, oldest first (one query)."""
    found: dict[int, list[SectionComment]] = {}
    for comment in db.session.scalars(
        select(SectionComment)
        .join(SectionPart, SectionPart.id == SectionComment.part_id)
        .where(SectionPart.section_id == section_id)
        .order_by(SectionComment.created_at, SectionComment.id)
    ):
        found.setdefault(comment.part_id, []).append(comment)
    return found


def has_comments(section_id: int) -> bool:
    """Whether any text of the section has a comment (one indexed query)."""
    return (
        db.session.scalar(
            select(SectionComment.id)
            .join(SectionPart, SectionPart.id == SectionComment.part_id)
            .where(SectionPart.section_id == section_id)
            .limit(1)
        )
        is not None
    )


# « À rédiger » and « En cours » both leave a text being written: only the second is offered.
_MOVES = (SectionStatus.IN_PROGRESS, SectionStatus.IN_REVIEW, SectionStatus.VALIDATED)


def _moves(user: User, part: SectionPart, status: SectionStatus, length: int) -> tuple[SectionStatus, ...]:
    """The statuses this person may give the text that change where it stands."""
    current = part_state(length, status)
    return tuple(
        value
        for value in _MOVES
        if part_state(length, value) is not current and can_set_part_status(user, part, value)
    )


def set_status(
    section: Section, partner_id: int | None, status: SectionStatus, *, by: User
) -> PartState | None:
    """Change the status of the shared text (the section's) or of a partner's part.

    Returns where the text now stands, or None if its status was already this one.
    """
    if not can_set_part_status(by, part_for(section, partner_id), status):
        if status == SectionStatus.VALIDATED:
            raise NotAllowed(_("Seule la coordination valide une section."))
        raise NotAllowed(_("Vous ne pouvez pas changer le statut de ce texte."))
    part = ensure_part(section, partner_id)
    current = section.status if partner_id is None else part.status
    if status == current:
        return None
    head = db.session.get(SectionRevision, part.head_revision_id) if part.head_revision_id else None
    length = head.visible_chars if head else 0
    if status in (SectionStatus.IN_REVIEW, SectionStatus.VALIDATED):
        limit = section.max_chars if partner_id is None else section.max_chars_per_partner
        if limit is not None and length > limit:
            raise Invalid(
                _(
                    "Le texte fait %(length)s caractères pour %(limit)s autorisés : "
                    "raccourcissez-le avant de le proposer à la relecture.",
                    length=_thousands(length),
                    limit=_thousands(limit),
                )
            )
    if partner_id is None:
        section.status = status
    else:
        part.status = status
    record_event(
        EventKind.SECTION_STATUS_CHANGED,
        actor_id=by.id,
        consortium_id=section.consortium_id,
        section=section.code,
        partner_id=partner_id,
        old=current.value,
        new=status.value,
    )
    old_state, new_state = part_state(length, current), part_state(length, status)
    if new_state is not old_state:
        _notify_status(section, part, old_state, new_state, by)
    db.session.flush()
    return new_state


def _notify_status(section: Section, part: SectionPart, old: PartState, new: PartState, by: User) -> None:
    """The text's writers hear where it now stands (not the person who moved it)."""
    link = public_link("sections.edit", slug=section.consortium.slug, code=section.code)
    for writer in writers_of(section, part):
        if writer.id == by.id:
            continue
        notify(
            writer,
            NotificationKind.STATUS_CHANGED,
            subject=_("« %(title)s » : %(status)s", title=section.title, status=PART_STATE_LABELS[new]),
            template="section_status_changed",
            consortium=section.consortium,
            section=section,
            partner=part.partner,
            old=PART_STATE_LABELS[old],
            new=PART_STATE_LABELS[new],
            by=by,
            link=link,
        )


def _thousands(value: int) -> str:
    return f"{value:,}".replace(",", "\u202f")


def writer_choices(consortium: Consortium) -> tuple[list[Partner], list[User]]:
    """Who may lead the writing of a section: the active partners and the consortium's people."""
    partners = [p for p in consortium.partners if p.status == PartnerStatus.ACTIVE]
    users = list(
        db.session.scalars(
            select(User)
            .join(RoleGrant, RoleGrant.user_id == User.id)
            .where(RoleGrant.consortium_id == consortium.id, User.active.is_(True))
            .order_by(User.name)
        )
    )
    return partners, users


def writers_of(section: Section, part: SectionPart) -> list[User]:
    """Who writes the part: its partner's people, or the shared text's lead writer (person and partner)."""
    partner_ids = [part.partner_id] if part.partner_id is not None else [section.writer_partner_id]
    users: dict[int, User] = {}
    active_ids = [
        p.id for p in section.consortium.partners if p.id in partner_ids and p.status == PartnerStatus.ACTIVE
    ]
    if active_ids:
        for user in db.session.scalars(
            select(User)
            .join(RoleGrant, RoleGrant.user_id == User.id)
            .where(
                RoleGrant.partner_id.in_(active_ids),
                RoleGrant.role.in_((Role.DIRECTOR, Role.CONTRIBUTOR)),
                User.active.is_(True),
            )
        ):
            users[user.id] = user
    if part.partner_id is None and section.writer_user_id is not None:
        writer = db.session.get(User, section.writer_user_id)
        if writer is not None and writer.active:
            users[writer.id] = writer
    return sorted(users.values(), key=lambda user: user.email)


def assign_writer(
    section: Section,
    *,
    partner_id: int | None,
    user_id: int | None,
    due_date: date | None,
    by: User,
) -> bool:
    """Name the lead writer (a partner, a person, or both) and the internal due date; False if unchanged."""
    consortium = section.consortium
    if not can_manage_consortium(by, consortium):
        raise NotAllowed(_("Seule la coordination désigne les rédacteurs."))
    partners, users = writer_choices(consortium)
    if partner_id is not None and partner_id not in {p.id for p in partners}:
        raise Invalid(_("Choisissez un membre actif du consortium."))
    if user_id is not None and user_id not in {u.id for u in users}:
        raise Invalid(_("Choisissez une personne du consortium."))
    old = {
        "writer_partner_id": section.writer_partner_id,
        "writer_user_id": section.writer_user_id,
        "due_date": section.due_date.isoformat() if section.due_date else None,
    }
    new = {
        "writer_partner_id": partner_id,
        "writer_user_id": user_id,
        "due_date": due_date.isoformat() if due_date else None,
    }
    if old == new:
        return False
    section.writer_partner_id = partner_id
    section.writer_user_id = user_id
    section.due_date = due_date
    record_event(
        EventKind.SECTION_WRITER_ASSIGNED,
        actor_id=by.id,
        consortium_id=consortium.id,
        section=section.code,
        old=old,
        new=new,
    )
    db.session.flush()
    return True


def can_read_section(user: User, section: Section) -> bool:
    """Everyone who sees the consortium reads its sections."""
    return can_view_consortium(user, section.consortium)


# Screen readers and printouts get the change in words, not only in colour or strike-through.
_CUE = '<span class="visually-hidden">{}</span>'
_WORD = re.compile(r"\s+|[^\s]+")


def word_diff(theirs_html: str, mine_html: str) -> tuple[Markup, Markup]:
    """Both texts with word-level differences: removed words in <del>, added words in <ins>."""
    theirs = _WORD.findall(html_to_text(theirs_html))
    mine = _WORD.findall(html_to_text(mine_html))
    left: list[str] = []
    right: list[str] = []
    matcher = difflib.SequenceMatcher(a=theirs, b=mine, autojunk=False)
    for tag, a1, a2, b1, b2 in matcher.get_opcodes():
        a_text = escape("".join(theirs[a1:a2]))
        b_text = escape("".join(mine[b1:b2]))
        if tag == "equal":
            left.append(a_text)
            right.append(b_text)
            continue
        if a_text:
            left.append(f"<del>{_CUE.format('[retiré : ')}{a_text}{_CUE.format(']')}</del>")
        if b_text:
            right.append(f"<ins>{_CUE.format('[ajouté : ')}{b_text}{_CUE.format(']')}</ins>")
    return Markup("".join(left)), Markup("".join(right))
