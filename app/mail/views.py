"""The outbox seen by administrators: every e-mail, its state, and a retry for failures."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from app.audit import EventKind, record_event
from app.extensions import db
from app.mail import delivery
from app.mail.cli import send_outbox
from app.mail.models import MESSAGE_STATUS_LABELS, MessageStatus, OutboxMessage
from app.mail.reading import links_of, safe_html
from app.pagination import page_argument
from app.permissions import can_view_outbox

# cli_group=None: the command is `flask send-outbox`, registered with the blueprint.
bp = Blueprint("mail", __name__, cli_group=None)
bp.cli.add_command(send_outbox)

PAGE_SIZE = 50


@bp.get("/admin/courriels")
def outbox() -> ResponseReturnValue:
    """Courriels: the outbox, newest first, filtered by state."""
    if not can_view_outbox(current_user):
        abort(403)
    state = request.args.get("etat", "")
    status = MessageStatus(state) if state in {s.value for s in MessageStatus} else None
    number = page_argument()
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc())
    if status is not None:
        query = query.where(OutboxMessage.status == status)
    messages = list(db.session.scalars(query.offset((number - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)))
    counts = dict(
        db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()
    )
    return render_template(
        "mail/outbox/index.html",
        messages=messages[:PAGE_SIZE],
        has_next=len(messages) > PAGE_SIZE,
        page=number,
        status=status,
        counts={s: counts.get(s, 0) for s in MessageStatus},
        labels=MESSAGE_STATUS_LABELS,
        statuses=list(MessageStatus),
    )


@bp.get("/admin/courriels/<int:message_id>")
def message(message_id: int) -> ResponseReturnValue:
    """One e-mail as it was sent (text, HTML made safe, its links), for an administrator; logged."""
    if not can_view_outbox(current_user):
        abort(403)
    found = db.session.get(OutboxMessage, message_id)
    if found is None:
        abort(404)
    record_event(
        EventKind.MAIL_VIEWED,
        actor_id=current_user.id,
        consortium_id=found.consortium_id,
        message_id=found.id,
        to=found.to,
    )
    db.session.commit()
    return render_template(
        "mail/outbox/message.html",
        message=found,
        html=safe_html(found),
        links=links_of(found),
        labels=MESSAGE_STATUS_LABELS,
        back=request.args.get("etat") or None,
    )


@bp.post("/admin/courriels/<int:message_id>/reessayer")
def retry(message_id: int) -> ResponseReturnValue:
    """Put a failed message back in the queue and try to send it at once."""
    if not can_view_outbox(current_user):
        abort(403)
    message = db.session.get(OutboxMessage, message_id)
    if message is None:
        abort(404)
    if delivery.retry(message, by=current_user):
        db.session.commit()
        delivery.send_queued_mail()
        db.session.refresh(message)
        if message.status == MessageStatus.SENT:
            flash(_("Le courriel à %(to)s a été envoyé.", to=message.to), "success")
        else:
            flash(
                _(
                    "Le courriel à %(to)s n'est toujours pas parti (%(error)s). "
                    "Il sera réessayé automatiquement.",
                    to=message.to,
                    error=message.last_error or _("erreur inconnue"),
                ),
                "warning",
            )
    else:
        flash(_("Ce courriel n'est plus en échec : rien n'a été modifié."), "info")
    return redirect(url_for(".outbox", etat=request.args.get("etat") or None), 303)
