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


def mail_subject(subject: str) -> str:
    """A subject on one line (a line break in a header makes the message unsendable, or injects headers)."""
    return " ".join(subject.split())[:300]


def render_mail(
    template: str, extension: str, *, subject: str, consortium: Consortium | None, **context: Any
) -> str:
    """One body of an e-mail (templates mail/<template>.txt and .html)."""
    return render_template(
        f"mail/{template}.{extension}",
        subject=subject,
        consortium=consortium,
        public_url=current_app.config["PUBLIC_URL"].rstrip("/"),
        **context,
    )


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
    subject = mail_subject(subject)
    message = OutboxMessage(
        consortium_id=consortium.id if consortium is not None else None,
        kind=kind,
        to=to,
        subject=subject,
        text_body=render_mail(template, "txt", subject=subject, consortium=consortium, **context),
        html_body=render_mail(template, "html", subject=subject, consortium=consortium, **context),
    )
    db.session.add(message)
    db.session.flush()
    return message
