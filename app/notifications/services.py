"""Notifications: sent at once or gathered in a daily digest, as each person chooses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select, update

from app.audit import EventKind, record_event
from app.auth.models import User
from app.consortia.models import Consortium
from app.errors import Invalid, NotAllowed
from app.extensions import db
from app.mail.services import mail_subject, public_link, queue_mail, render_mail
from app.notifications.models import Delivery, DigestItem, NotificationKind, NotificationPreference
from app.templating import PARIS, paris_midnight

KIND_LABELS = {
    NotificationKind.MENTION: "Mentions",
    NotificationKind.COMMENT: "Commentaires sur les sections que j'écris",
    NotificationKind.SIGN_OFF_VOIDED: "Signature annulée",
    NotificationKind.STATUS_CHANGED: "Changements de statut",
}
KIND_HINTS = {
    NotificationKind.MENTION: "Quelqu'un vous cite, vous ou votre structure, dans un commentaire.",
    NotificationKind.COMMENT: "Un commentaire est ajouté sur un texte que vous rédigez.",
    NotificationKind.SIGN_OFF_VOIDED: "Des chiffres signés par la direction ont été modifiés depuis.",
    NotificationKind.STATUS_CHANGED: "Un texte validé est modifié et repasse «\u00a0à relire\u00a0».",
}
DELIVERY_LABELS = {
    Delivery.IMMEDIATE: "Immédiatement",
    Delivery.DIGEST: "Résumé quotidien",
}


def preferences_of(user: User) -> dict[NotificationKind, Delivery]:
    """The person's choice for every kind (no row: immediately)."""
    chosen = {
        row.kind: row.delivery
        for row in db.session.scalars(
            select(NotificationPreference).where(NotificationPreference.user_id == user.id)
        )
    }
    return {kind: chosen.get(kind, Delivery.IMMEDIATE) for kind in NotificationKind}


def delivery_for(user: User, kind: NotificationKind) -> Delivery:
    """How the person wants to hear of this kind of thing."""
    delivery = db.session.scalar(
        select(NotificationPreference.delivery).where(
            NotificationPreference.user_id == user.id, NotificationPreference.kind == kind
        )
    )
    return delivery or Delivery.IMMEDIATE


def set_preferences(user: User, choices: Mapping[str, str], *, by: User) -> bool:
    """Save the person's choices (`kind value → delivery value`, every kind); False if nothing changed."""
    if by.id != user.id:
        raise NotAllowed(_("Chacun choisit ses propres notifications."))
    wanted: dict[NotificationKind, Delivery] = {}
    for kind in NotificationKind:
        value = choices.get(kind.value)
        if value not in {delivery.value for delivery in Delivery}:
            raise Invalid(
                _(
                    "Choisissez « Immédiatement » ou « Résumé quotidien » pour « %(kind)s ».",
                    kind=_(KIND_LABELS[kind]),
                )
            )
        wanted[kind] = Delivery(value)
    current = preferences_of(user)
    if wanted == current:
        return False
    rows = {
        row.kind: row
        for row in db.session.scalars(
            select(NotificationPreference).where(NotificationPreference.user_id == user.id)
        )
    }
    for kind, delivery in wanted.items():
        row = rows.get(kind)
        if row is None:
            db.session.add(NotificationPreference(user_id=user.id, kind=kind, delivery=delivery))
        else:
            row.delivery = delivery
    record_event(
        EventKind.NOTIFICATIONS_CHANGED,
        actor_id=by.id,
        old={kind.value: delivery.value for kind, delivery in current.items() if wanted[kind] != delivery},
        new={kind.value: delivery.value for kind, delivery in wanted.items() if current[kind] != delivery},
    )
    db.session.flush()
    return True


def _digest_text(text: str, link: str) -> str:
    """The body of a plain-text e-mail without its greeting, signature and link (the digest has its own)."""
    lines = text.strip().splitlines()
    if lines and lines[0].startswith("Bonjour"):
        lines = lines[1:]
    if "--" in lines:
        lines = lines[: len(lines) - 1 - lines[::-1].index("--")]
    if link and link in (line.strip() for line in lines):
        at = len(lines) - 1 - [line.strip() for line in lines][::-1].index(link)
        start = at - 1 if at > 0 and lines[at - 1].rstrip().endswith(":") else at
        del lines[start : at + 1]
    return "\n".join(lines).strip()


def notify(
    user: User,
    kind: NotificationKind,
    *,
    consortium: Consortium | None,
    subject: str,
    template: str,
    link: str,
    **context: Any,
) -> None:
    """Tell one person of something: an e-mail now, or an item of their next daily digest."""
    if not user.active:
        return
    if delivery_for(user, kind) is Delivery.IMMEDIATE:
        queue_mail(
            user.email, template, subject=subject, kind=template, consortium=consortium, link=link, **context
        )
        return
    subject = mail_subject(subject)
    text = render_mail(template, "txt", subject=subject, consortium=consortium, link=link, **context)
    db.session.add(
        DigestItem(
            user_id=user.id,
            consortium_id=consortium.id if consortium is not None else None,
            kind=kind,
            subject=subject,
            text=_digest_text(text, link),
            link=link[:500],
        )
    )
    db.session.flush()


@dataclass(frozen=True)
class DigestGroup:
    """The items of one consortium in a digest."""

    consortium: Consortium | None
    items: tuple[DigestItem, ...]


def _paris_day_bounds(now: datetime) -> tuple[datetime, datetime]:
    day = now.astimezone(PARIS).date()
    return paris_midnight(day), paris_midnight(day + timedelta(days=1))


def digest_recipients(now: datetime) -> list[User]:
    """The people with items waiting for a digest."""
    ids = select(DigestItem.user_id).where(DigestItem.sent_at.is_(None), DigestItem.created_at <= now)
    return list(db.session.scalars(select(User).where(User.id.in_(ids)).order_by(User.id)))


def send_digest(user: User, now: datetime) -> int:
    """Queue one e-mail gathering the person's waiting items, claimed as sent; the number of items.

    At most one digest per person and Paris day: a person who already had one today waits until
    tomorrow, and each item is claimed by a conditional update so that two runs never send it twice.
    """
    start, end = _paris_day_bounds(now)
    sent_today = db.session.scalar(
        select(DigestItem.id)
        .where(DigestItem.user_id == user.id, DigestItem.sent_at >= start, DigestItem.sent_at < end)
        .limit(1)
    )
    if sent_today is not None or not user.active:
        return 0
    waiting = db.session.scalars(
        select(DigestItem.id)
        .where(DigestItem.user_id == user.id, DigestItem.sent_at.is_(None), DigestItem.created_at <= now)
        .order_by(DigestItem.created_at, DigestItem.id)
    ).all()
    claimed: list[int] = []
    for item_id in waiting:
        result = db.session.execute(
            update(DigestItem)
            .where(DigestItem.id == item_id, DigestItem.sent_at.is_(None))
            .values(sent_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append(item_id)
    if not claimed:
        return 0
    items = db.session.scalars(
        select(DigestItem).where(DigestItem.id.in_(claimed)).order_by(DigestItem.created_at, DigestItem.id)
    ).all()
    for item in items:
        db.session.refresh(item)
    groups: dict[int | None, list[DigestItem]] = {}
    for item in items:
        groups.setdefault(item.consortium_id, []).append(item)
    consortia = {
        consortium.id: consortium
        for consortium in db.session.scalars(
            select(Consortium).where(Consortium.id.in_([key for key in groups if key is not None]))
        )
    }
    ordered = sorted(
        (DigestGroup(consortia.get(key) if key else None, tuple(rows)) for key, rows in groups.items()),
        key=lambda group: group.consortium.title if group.consortium else "",
    )
    count = len(items)
    subject = (
        _("Votre résumé Consortio : 1 notification")
        if count == 1
        else _("Votre résumé Consortio : %(count)s notifications", count=count)
    )
    queue_mail(
        user.email,
        "digest",
        subject=subject,
        kind="digest",
        recipient=user.name,
        groups=ordered,
        count=count,
        day=now.astimezone(PARIS).date(),
        preferences_link=public_link("notifications.preferences"),
    )
    return count


def send_digests(now: datetime) -> int:
    """Queue the day's digests (one e-mail per person); the number of e-mails queued."""
    sent = 0
    for user in digest_recipients(now):
        if send_digest(user, now):
            sent += 1
    db.session.flush()
    return sent
