"""Queue e-mails in the outbox; app/mail/delivery.py sends them."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app, render_template

from app.consortia.models import Consortium
from app.extensions import db
from app.mail.models import OutboxMessage


def public_link(endpoint: str, **values: Any) -> str:
    """The absolute address of a page, built from PUBLIC_URL (works in requests, jobs and commands)."""
    base = urlsplit(current_app.config["PUBLIC_URL"])
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path.rstrip("/") or "/", url_scheme=base.scheme or "https"
    )
    return adapter.build(endpoint, values, force_external=True)


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
    # A line break in a header would make the message unsendable (and is how headers get injected).
    subject = " ".join(subject.split())[:300]
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
        text_body=render_template(f"mail/{template}.txt", subject=subject, **context),
        html_body=render_template(f"mail/{template}.html", subject=subject, **context),
    )
    db.session.add(message)
    db.session.flush()
    return message
