"""Reminders: an e-mail to a partner listing exactly what it still owes, with links; and their log."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.audit import EventKind, record_event
from app.auth.models import User
from app.consortia.models import Consortium, ConsortiumStatus, Partner, PartnerStatus, Role, RoleGrant
from app.coordination.models import Milestone, Reminder
from app.coordination.owed import KINDS, OwedItem, PartnerOwed, owed_of
from app.coordination.services import milestone_of, milestones_of, next_deadline, paris_today
from app.errors import Invalid, NotAllowed
from app.extensions import db
from app.mail.services import public_link, queue_mail, render_mail
from app.permissions import can_coordinate
from app.templating import french_date

ALL = "tous"


@dataclass(frozen=True)
class ReminderMessage:
    """One partner's reminder as it will be sent: recipients, subject, both bodies, the items listed."""

    partner: PartnerOwed
    items: tuple[OwedItem, ...]
    recipients: tuple[str, ...]
    subject: str
    context: dict[str, Any] = field(repr=False)

    @property
    def text_body(self) -> str:
        return render_mail("reminder", "txt", subject=self.subject, **self.context)

    @property
    def html_body(self) -> str:
        return render_mail("reminder", "html", subject=self.subject, **self.context)


@dataclass
class SendResult:
    """What a sending did: reminders sent, e-mails queued, partners skipped (no address, already reminded)."""

    sent: list[str] = field(default_factory=list)
    emails: int = 0
    without_address: list[str] = field(default_factory=list)
    already_sent: list[str] = field(default_factory=list)


def recipients_by_partner(consortium: Consortium, partners: Sequence[Partner]) -> dict[int, tuple[str, ...]]:
    """Who a reminder goes to: the partner's directors and contributors with an account, else its contacts."""
    people: dict[int, set[str]] = defaultdict(set)
    rows = db.session.execute(
        select(RoleGrant.partner_id, User.email)
        .join(User, User.id == RoleGrant.user_id)
        .where(
            RoleGrant.consortium_id == consortium.id,
            RoleGrant.role.in_([Role.DIRECTOR, Role.CONTRIBUTOR]),
            User.active.is_(True),
        )
    )
    for partner_id, email in rows:
        if partner_id is not None and email:
            people[partner_id].add(email)
    result = {}
    for partner in partners:
        emails = people.get(partner.id) or {
            str(contact["email"]).strip()
            for contact in partner.contacts or []
            if isinstance(contact, dict) and str(contact.get("email") or "").strip()
        }
        result[partner.id] = tuple(sorted(emails))
    return result


def _active_partners(consortium: Consortium) -> list[Partner]:
    return list(
        db.session.scalars(
            select(Partner)
            .where(Partner.consortium_id == consortium.id, Partner.status == PartnerStatus.ACTIVE)
            .order_by(Partner.position)
        )
    )


def compose(
    consortium: Consortium,
    row: PartnerOwed,
    items: Sequence[OwedItem],
    recipients: Sequence[str],
    *,
    deadline: date | None,
    milestone: Milestone | None,
    by: User | None,
) -> ReminderMessage:
    """The reminder for one partner: exactly the items given, with their links."""
    count = len(items)
    things = ngettext("%(num)s élément à fournir", "%(num)s éléments à fournir", count)
    subject = _("%(partner)s : %(things)s", partner=row.name, things=things)
    if deadline is not None:
        subject += " " + _("avant le %(date)s", date=french_date(deadline))
    subject += f" · {consortium.acronym or consortium.title}"
    context = {
        "consortium": consortium,
        "partner_name": row.name,
        "items": tuple(items),
        "deadline": deadline,
        "milestone": milestone,
        "by": by,
        "link": public_link("overview.index", slug=consortium.slug),
    }
    return ReminderMessage(row, tuple(items), tuple(recipients), subject, context)


def plan(
    consortium: Consortium,
    target: str,
    *,
    milestone: Milestone | None = None,
    by: User | None,
    today: date | None = None,
) -> list[ReminderMessage]:
    """The reminders to send: to one partner (its code) or to every partner that owes something (ALL).

    With a milestone, only the items of its kinds, and its due date; else everything, before the
    nearest milestone covering them (or the call's deadline).
    """
    today = today or paris_today()
    owed = owed_of(consortium, absolute=True)
    rows = list(owed.partners)
    if target != ALL:
        rows = [row for row in rows if row.code == target]
        if not rows:
            raise Invalid(_("Ce membre n'existe pas ou s'est retiré du consortium."))
    kinds = list(milestone.covers or []) if milestone is not None else list(KINDS)
    partners = {partner.id: partner for partner in _active_partners(consortium)}
    recipients = recipients_by_partner(consortium, list(partners.values()))
    milestones = milestones_of(consortium) if milestone is None else []
    messages = []
    for row in rows:
        items = row.outstanding_of(kinds)
        if not items:
            continue
        deadline: date | None
        concerned: Milestone | None
        if milestone is not None:
            deadline, concerned = milestone.due_date, milestone
        else:
            deadline, concerned = next_deadline(consortium, milestones, {i.kind for i in items}, today)
        messages.append(
            compose(
                consortium,
                row,
                items,
                recipients.get(row.partner_id, ()),
                deadline=deadline,
                milestone=concerned,
                by=by,
            )
        )
    if not messages:
        if target != ALL:
            raise Invalid(
                _("%(partner)s n'a plus rien à fournir : aucune relance à envoyer.", partner=rows[0].name)
            )
        raise Invalid(_("Aucun membre n'a quelque chose à fournir : aucune relance à envoyer."))
    return messages


def _send_one(
    consortium: Consortium,
    message: ReminderMessage,
    *,
    milestone: Milestone | None,
    by: User | None,
    today: date,
    automatic: bool,
) -> int:
    db.session.add(
        Reminder(
            consortium_id=consortium.id,
            partner_id=message.partner.partner_id,
            milestone_id=milestone.id if milestone is not None else None,
            automatic=automatic,
            sent_by_id=by.id if by is not None else None,
            sent_on=today,
            recipients=list(message.recipients),
            items=[item.as_log() for item in message.items],
        )
    )
    # The unique index on automatic reminders answers here, before any e-mail is queued.
    db.session.flush()
    for email in message.recipients:
        queue_mail(
            email,
            "reminder",
            subject=message.subject,
            kind="reminder",
            consortium=consortium,
            **{k: v for k, v in message.context.items() if k != "consortium"},
        )
    record_event(
        EventKind.REMINDER_SENT,
        actor_id=by.id if by is not None else None,
        consortium_id=consortium.id,
        partner_id=message.partner.partner_id,
        partner=message.partner.code,
        milestone_id=milestone.id if milestone is not None else None,
        automatic=automatic,
        recipients=list(message.recipients),
        items=[item.label for item in message.items],
    )
    return len(message.recipients)


def send(
    consortium: Consortium,
    target: str,
    *,
    milestone_id: int | None = None,
    by: User,
    today: date | None = None,
) -> SendResult:
    """Queue the reminders a coordinator asked for (one partner, or all that owe something)."""
    if not can_coordinate(by, consortium):
        raise NotAllowed(_("Seule la coordination envoie des relances."))
    today = today or paris_today()
    milestone = milestone_of(consortium, milestone_id) if milestone_id is not None else None
    messages = plan(consortium, target, milestone=milestone, by=by, today=today)
    result = SendResult()
    for message in messages:
        if not message.recipients:
            result.without_address.append(message.partner.name)
            continue
        result.emails += _send_one(
            consortium, message, milestone=milestone, by=by, today=today, automatic=False
        )
        result.sent.append(message.partner.name)
    if target != ALL and result.without_address:
        raise Invalid(
            _(
                "%(partner)s n'a aucune adresse e-mail connue (ni personne inscrite, ni contact) : "
                "rien n'a été envoyé. Invitez sa direction ou ajoutez un contact.",
                partner=result.without_address[0],
            )
        )
    if not result.sent:
        raise Invalid(_("Aucun des membres concernés n'a d'adresse e-mail connue : rien n'a été envoyé."))
    db.session.flush()
    return result


def due_milestones(today: date) -> list[Milestone]:
    """Milestones whose automatic reminder window includes today (due today or later, within N days)."""
    rows = db.session.scalars(
        select(Milestone)
        .where(Milestone.remind_days_before.is_not(None), Milestone.due_date >= today)
        .order_by(Milestone.consortium_id, Milestone.due_date, Milestone.id)
    )
    return [m for m in rows if (m.due_date - today).days <= (m.remind_days_before or 0)]


def send_scheduled(today: date | None = None) -> SendResult:
    """Send the reminders the milestones call for today; never the same (partner, milestone) twice a day.

    Each reminder is committed on its own: a second run (even a concurrent one) meets the unique
    index on (partner, milestone, day) and skips that partner, queuing nothing.
    """
    today = today or paris_today()
    result = SendResult()
    for milestone in due_milestones(today):
        consortium = db.session.get(Consortium, milestone.consortium_id)
        if consortium is None or consortium.status == ConsortiumStatus.SUBMITTED:
            continue  # a filed dossier needs nothing more from anyone
        try:
            messages = plan(consortium, ALL, milestone=milestone, by=None, today=today)
        except Invalid:
            continue
        for message in messages:
            label = f"{message.partner.name} ({milestone.title})"
            if not message.recipients:
                result.without_address.append(label)
                continue
            try:
                with db.session.begin_nested():
                    emails = _send_one(
                        consortium, message, milestone=milestone, by=None, today=today, automatic=True
                    )
            except IntegrityError:
                result.already_sent.append(label)
                continue
            db.session.commit()
            result.emails += emails
            result.sent.append(label)
    return result


@dataclass(frozen=True)
class LogEntry:
    """One line of the reminders' log."""

    reminder: Reminder
    partner_name: str
    sender: str
    milestone_title: str | None


def log_of(consortium: Consortium, limit: int = 200) -> list[LogEntry]:
    """The reminders sent for the consortium, newest first, with names (three queries)."""
    reminders = list(
        db.session.scalars(
            select(Reminder)
            .where(Reminder.consortium_id == consortium.id)
            .order_by(Reminder.sent_at.desc(), Reminder.id.desc())
            .limit(limit)
        )
    )
    partners = {
        p.id: p.name
        for p in db.session.scalars(select(Partner).where(Partner.consortium_id == consortium.id))
    }
    sender_ids = {r.sent_by_id for r in reminders if r.sent_by_id is not None}
    senders = (
        {
            row.id: row.name
            for row in db.session.execute(select(User.id, User.name).where(User.id.in_(sender_ids)))
        }
        if sender_ids
        else {}
    )
    milestone_ids = {r.milestone_id for r in reminders if r.milestone_id is not None}
    titles = (
        {
            row.id: row.title
            for row in db.session.execute(
                select(Milestone.id, Milestone.title).where(Milestone.id.in_(milestone_ids))
            )
        }
        if milestone_ids
        else {}
    )
    entries = []
    for reminder in reminders:
        if reminder.automatic:
            sender = _("envoi automatique")
        else:
            sender = senders.get(reminder.sent_by_id or 0) or _("compte supprimé")
        entries.append(
            LogEntry(
                reminder,
                partners.get(reminder.partner_id, "?"),
                sender,
                titles.get(reminder.milestone_id or 0),
            )
        )
    return entries
