"""Queue e-mails in the outbox; app/mail/delivery.py sends them."""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template

from app.consortia.models import Consortium
from app.extensions import db
from app.mail.models import OutboxMessage


def queue_mail(
    to: str,
    template: str,
    *,
    subject: str,
    kind: str,
    consortium: Consortium | None = None,
    **context: Any,
) -> OutboxMessage:
    """Add an e-mail to the outbox, sent once the caller commits (templates mail/<template>.txt and .html)."""
    context = {
        "consortium": consortium,
        "public_url": current_app.config["PUBLIC_URL"].rstrip("/"),
        **context,
    }
    message = OutboxMessage(
        consortium_id=consortium.id if consortium is not None else None,
        kind=kind,
        to=to,
        subject=subject,
        text_body=render_template(f"mail/{template}.txt", **context),
        html_body=render_template(f"mail/{template}.html", subject=subject, **context),
    )
    db.session.add(message)
    db.session.flush()
    return message
