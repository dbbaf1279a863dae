"""Deliver the outbox: SMTP when MAIL_SERVER is set, the console otherwise.

A job, not a request service: it commits after each message so that a crash never sends twice
nor loses the record of what was sent.
"""

from __future__ import annotations

import smtplib
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from flask import current_app
from sqlalchemy import select, update

from app.audit import EventKind, record_event
from app.auth.models import User
from app.extensions import db
from app.mail.models import MessageStatus, OutboxMessage

# Minutes to wait before each retry; after the last one the message is marked failed.
RETRY_DELAYS = (1, 5, 30, 120, 720)
# A worker that claimed a message and died lets another retry it after this long.
CLAIM_SECONDS = 300
# Messages sent at the end of a request: enough for one action's e-mails, never a long wait.
AFTER_REQUEST_LIMIT = 20


@dataclass(frozen=True)
class DeliveryReport:
    """What one delivery round did."""

    sent: int
    retried: int
    failed: int


def _claim(message_id: int, now: datetime) -> bool:
    """Take a due message for this worker only (a conditional update: two workers never both send it)."""
    claimed = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            OutboxMessage.status == MessageStatus.PENDING,
            OutboxMessage.next_attempt_at <= now,
        )
        .values(next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS), attempts=OutboxMessage.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return claimed.rowcount == 1  # type: ignore[attr-defined]


def _as_email(message: OutboxMessage) -> EmailMessage:
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    domain = parseaddr(sender)[1].rpartition("@")[2] or "consortio.invalid"
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = make_msgid(domain=domain)
    # Tells mail servers and out-of-office replies that nobody typed this message.
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(message.text_body)
    email.add_alternative(message.html_body, subtype="html")
    return email


def _print_to_console(message: OutboxMessage) -> None:
    # Development: the console is the mailbox, readable as is (the MIME form would be encoded).
    print(
        f"\n----- e-mail (console) -----\nÀ : {message.to}\nObjet : {message.subject}\n\n"
        f"{message.text_body}\n----- fin -----",
        file=sys.stdout,
        flush=True,
    )


def _send(message: OutboxMessage) -> None:
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        _print_to_console(message)
        return
    email = _as_email(message)
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=20) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        smtp.send_message(email)


def deliver_due(limit: int = 100) -> DeliveryReport:
    """Send the messages whose time has come; failures are retried later, then marked failed."""
    now = datetime.now(UTC)
    due = list(
        db.session.scalars(
            select(OutboxMessage.id)
            .where(OutboxMessage.status == MessageStatus.PENDING, OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
    )
    db.session.commit()
    sent = retried = failed = 0
    for message_id in due:
        if not _claim(message_id, now):
            continue
        message = db.session.get(OutboxMessage, message_id)
        if message is None:  # pragma: no cover - deleted meanwhile
            continue
        try:
            _send(message)
        except Exception as error:  # whatever went wrong with one message, the others go
            message.last_error = f"{type(error).__name__}: {error}"[:2000]
            if message.attempts > len(RETRY_DELAYS):
                message.status = MessageStatus.FAILED
                current_app.logger.error(
                    "Courriel %s abandonné après %s tentatives : %s",
                    message.id,
                    message.attempts,
                    message.last_error,
                )
                failed += 1
            else:
                message.next_attempt_at = now + timedelta(minutes=RETRY_DELAYS[message.attempts - 1])
                retried += 1
        else:
            message.status = MessageStatus.SENT
            message.sent_at = datetime.now(UTC)
            message.last_error = ""
            sent += 1
        db.session.commit()
    return DeliveryReport(sent, retried, failed)


def send_queued_mail() -> None:
    """After a request committed mail: send it now, best effort; a failure never breaks the response."""
    try:
        deliver_due(limit=AFTER_REQUEST_LIMIT)
    except Exception:  # the outbox keeps the messages; `flask send-outbox` retries them
        db.session.rollback()
        current_app.logger.exception("Envoi des courriels différé : ils restent dans la file d'attente.")


def retry(message: OutboxMessage, *, by: User) -> bool:
    """Put a failed message back in the queue, with a full set of retries (admins, after fixing the settings).

    False when the message is no longer failed (retried or sent meanwhile): nothing changes then.
    """
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message.id, OutboxMessage.status == MessageStatus.FAILED)
        .values(status=MessageStatus.PENDING, next_attempt_at=datetime.now(UTC), attempts=0)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    record_event(
        EventKind.MAIL_RETRIED,
        actor_id=by.id,
        consortium_id=message.consortium_id,
        message_id=message.id,
        to=message.to,
        old={"status": MessageStatus.FAILED.value, "attempts": message.attempts},
        new={"status": MessageStatus.PENDING.value, "attempts": 0},
    )
    db.session.flush()
    db.session.refresh(message)
    return True
