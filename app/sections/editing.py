"""Writing the application: the sections' summary, the writing page, statuses, lead writers, presence."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from html import escape

from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from app.audit import EventKind, record_event
from app.auth.models import User
from app.consortia.models import Consortium, Partner, PartnerStatus, Role, RoleGrant
from app.database import utcnow
from app.errors import Invalid, NotAllowed, NotFound
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
from app.richtext import html_to_text, visible_length
from app.sections.models import (
    EditingPresence,
    Section,
    SectionComment,
    SectionPart,
    SectionRevision,
    SectionStatus,
)
from app.sections.states import (
    PART_STATE_LABELS,
    PartFacts,
    PartState,
    part_facts,
    part_state,
    section_state,
    state_of,
)
from app.templating import PARIS

# A heartbeat comes every 30 seconds; two missed ones and the person is no longer shown.
PRESENCE_EXPIRY = timedelta(minutes=2)


@dataclass(frozen=True)
class SectionRow:
    """One line of the writing summary: what a coordinator checks before the deadline."""

    code: str
    title: str
    state: PartState
    generated: bool
    writer: str | None
    due_date: date | None
    shared_length: int | None
    max_chars: int | None
    partner_parts_written: int
    partner_parts_total: int
    partner_parts_over: int
    max_chars_per_partner: int | None
    last_change_at: datetime | None
    last_change_by: str | None
    open_comments: int

    @property
    def state_label(self) -> str:
        """Where the chapter stands, in French (all its parts together)."""
        return PART_STATE_LABELS[self.state]

    @property
    def over_limit(self) -> bool:
        """The shared text is longer than the section allows."""
        return self.max_chars is not None and (self.shared_length or 0) > self.max_chars


def section_summary(consortium: Consortium) -> list[SectionRow]:
    """Every non-archived section with state, writer, length, last change and open comments (5 queries)."""
    sections = list(
        db.session.scalars(
            select(Section)
            .where(Section.consortium_id == consortium.id, Section.archived_at.is_(None))
            .order_by(Section.position, Section.id)
        )
    )
    partners = {
        partner.id: partner
        for partner in db.session.scalars(select(Partner).where(Partner.consortium_id == consortium.id))
    }
    active_ids = [pid for pid, partner in partners.items() if partner.status == PartnerStatus.ACTIVE]
    facts = part_facts(consortium)
    comment_counts = dict(
        db.session.execute(
            select(SectionPart.section_id, func.count(SectionComment.id))
            .join(SectionComment, SectionComment.part_id == SectionPart.id)
            .join(Section, Section.id == SectionPart.section_id)
            .where(
                Section.consortium_id == consortium.id,
                SectionComment.resolved_at.is_(None),
                SectionComment.parent_id.is_(None),
            )
            .group_by(SectionPart.section_id)
        ).all()
    )
    names = _names(
        {section.writer_user_id for section in sections if section.writer_user_id}
        | {fact.author_id for fact in facts.values() if fact.author_id}
    )
    by_section: dict[int, list[PartFacts]] = {}
    for fact in facts.values():
        by_section.setdefault(fact.section_id, []).append(fact)
    rows = []
    for section in sections:
        shared = facts.get((section.id, None))
        partner_ids = active_ids if section.scope.has_partner_parts else []
        partner_states = [state_of(facts, section, pid) for pid in partner_ids]
        states = [*partner_states]
        if section.scope.has_shared_part:
            states.append(state_of(facts, section, None))
        per_partner = section.max_chars_per_partner
        lengths = [facts[(section.id, pid)].length for pid in partner_ids if (section.id, pid) in facts]
        last = max(
            (fact for fact in by_section.get(section.id, []) if fact.changed_at is not None),
            key=lambda fact: fact.changed_at or datetime.min,
            default=None,
        )
        rows.append(
            SectionRow(
                code=section.code,
                title=section.title,
                state=section_state(states),
                generated=section.generated,
                writer=_writer_label(section, partners, names),
                due_date=section.due_date,
                shared_length=shared.length if shared else (0 if section.scope.has_shared_part else None),
                max_chars=section.max_chars,
                partner_parts_written=sum(1 for state in partner_states if state is not PartState.EMPTY),
                partner_parts_total=len(partner_ids),
                partner_parts_over=sum(
                    1 for length in lengths if per_partner is not None and length > per_partner
                ),
                max_chars_per_partner=per_partner,
                last_change_at=last.changed_at if last else None,
                last_change_by=names.get(last.author_id) if last and last.author_id else None,
                open_comments=comment_counts.get(section.id, 0),
            )
        )
    return rows


def _writer_label(section: Section, partners: dict[int, Partner], users: dict[int, str]) -> str | None:
    names = []
    if section.writer_user_id and section.writer_user_id in users:
        names.append(users[section.writer_user_id])
    if section.writer_partner_id and section.writer_partner_id in partners:
        names.append(partners[section.writer_partner_id].name)
    return " · ".join(names) or None


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
    return _unsaved_part(section, partner_id)


def _unsaved_part(section: Section, partner_id: int | None) -> SectionPart:
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
    editors: list[tuple[str, datetime]] = field(default_factory=list)
    comments: list[SectionComment] = field(default_factory=list)
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

    @property
    def editor_lines(self) -> list[str]:
        """« Name (partner) modifie ce texte depuis 10:42 » for each other person editing it."""
        return _editor_lines(self.editors)

    @property
    def open_comments(self) -> int:
        """Threads not yet resolved."""
        return sum(
            1 for comment in self.comments if comment.parent_id is None and comment.resolved_at is None
        )


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
    authors = _names({r.author_id for r in heads.values() if r.author_id})
    comments: dict[int, list[SectionComment]] = {}
    if stored:
        for comment in db.session.scalars(
            select(SectionComment)
            .where(SectionComment.part_id.in_([p.id for p in stored.values()]))
            .order_by(SectionComment.created_at, SectionComment.id)
        ):
            comments.setdefault(comment.part_id, []).append(comment)
    presence = _presence([p.id for p in stored.values()], user)
    targets: list[Partner | None] = []
    if section.scope.has_shared_part:
        targets.append(None)
    if section.scope.has_partner_parts:
        targets.extend(partners)
    views = []
    for partner in targets:
        partner_id = partner.id if partner else None
        part = stored.get(partner_id) or _unsaved_part(section, partner_id)
        head = heads.get(part.id) if part.id else None
        content = head.content if head else ""
        status = section.status if partner is None else part.status
        length = visible_length(content)
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
                editors=presence.get(part.id, []) if part.id else [],
                comments=comments.get(part.id, []) if part.id else [],
                next_statuses=_moves(user, part, status, length),
            )
        )
    return views


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


def _names(user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    return dict(db.session.execute(select(User.id, User.name).where(User.id.in_(user_ids))).all())


def _presence(part_ids: list[int], user: User) -> dict[int, list[tuple[str, datetime]]]:
    """Who else is editing each part right now: « name (partner) » and since when."""
    if not part_ids:
        return {}
    since = utcnow() - PRESENCE_EXPIRY
    rows = db.session.execute(
        select(EditingPresence.part_id, EditingPresence.started_at, User.name, RoleGrant.partner_id)
        .join(User, User.id == EditingPresence.user_id)
        .join(SectionPart, SectionPart.id == EditingPresence.part_id)
        .join(Section, Section.id == SectionPart.section_id)
        .outerjoin(
            RoleGrant,
            (RoleGrant.user_id == EditingPresence.user_id)
            & (RoleGrant.consortium_id == Section.consortium_id),
        )
        .where(
            EditingPresence.part_id.in_(part_ids),
            EditingPresence.seen_at >= since,
            EditingPresence.user_id != user.id,
        )
        .order_by(EditingPresence.started_at)
    ).all()
    partners = {
        partner.id: partner.name
        for partner in db.session.scalars(select(Partner).where(Partner.id.in_({r[3] for r in rows if r[3]})))
    }
    result: dict[int, list[tuple[str, datetime]]] = {}
    for part_id, started_at, name, partner_id in rows:
        label = f"{name} ({partners[partner_id]})" if partner_id in partners else name
        result.setdefault(part_id, []).append((label, started_at))
    return result


def _editor_lines(editors: list[tuple[str, datetime]]) -> list[str]:
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
    return {keys[part_id]: _editor_lines(editors) for part_id, editors in _presence(list(keys), user).items()}


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
    length = visible_length(head.content) if head else 0
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
