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
from email.utils import make_msgid

from flask import current_app
from sqlalchemy import select, update

from app.extensions import db
from app.mail.models import MessageStatus, OutboxMessage

# Minutes to wait before each retry; after the last one the message is marked failed.
RETRY_DELAYS = (1, 5, 30, 120, 720)
# A worker that claimed a message and died lets another retry it after this long.
CLAIM_SECONDS = 300


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
    )
    db.session.commit()
    return claimed.rowcount == 1  # type: ignore[attr-defined]


def _as_email(message: OutboxMessage) -> EmailMessage:
    email = EmailMessage()
    email["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Message-ID"] = make_msgid(domain="consortio")
    email.set_content(message.text_body)
    email.add_alternative(message.html_body, subtype="html")
    return email


def _send(email: EmailMessage) -> None:
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        # Development: the console is the mailbox.
        print(
            f"\n----- e-mail (console) -----\n{email.as_string()}\n----- fin -----",
            file=sys.stdout,
            flush=True,
        )
        return
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
            _send(_as_email(message))
        except (OSError, smtplib.SMTPException) as error:
            message.last_error = f"{type(error).__name__}: {error}"[:2000]
            if message.attempts > len(RETRY_DELAYS):
                message.status = MessageStatus.FAILED
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


def retry(message: OutboxMessage) -> None:
    """Put a failed message back in the queue (admins, after fixing the mail settings)."""
    message.status = MessageStatus.PENDING
    message.next_attempt_at = datetime.now(UTC)
