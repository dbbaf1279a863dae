"""Each person's notification choices (immediately or in a daily digest) and the digest command."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from app.errors import DomainError, NotAllowed
from app.extensions import db
from app.notifications import services
from app.notifications.cli import send_digests_command
from app.notifications.models import Delivery, NotificationKind
from app.permissions import can_choose_notifications

# cli_group=None: commands registered here are top-level (`flask --app wsgi <command>`).
bp = Blueprint("notifications", __name__, cli_group=None)
bp.cli.add_command(send_digests_command)


def _render(chosen: dict[str, str], error: str | None = None, status: int = 200) -> ResponseReturnValue:
    return (
        render_template(
            "notifications/preferences.html",
            kinds=list(NotificationKind),
            kind_labels=services.KIND_LABELS,
            kind_hints=services.KIND_HINTS,
            deliveries=list(Delivery),
            delivery_labels=services.DELIVERY_LABELS,
            chosen=chosen,
            error=error,
        ),
        status,
    )


@bp.route("/compte/notifications", methods=["GET", "POST"])
def preferences() -> ResponseReturnValue:
    """Choose, for each kind of notification, an e-mail at once or the daily digest."""
    if not can_choose_notifications(current_user):
        raise NotAllowed(_("Connectez-vous pour choisir vos notifications."))
    current = {kind.value: delivery.value for kind, delivery in services.preferences_of(current_user).items()}
    if request.method == "GET":
        return _render(current)
    choices = {kind.value: request.form.get(kind.value, "") for kind in NotificationKind}
    try:
        changed = services.set_preferences(current_user, choices, by=current_user)
    except DomainError as error:
        db.session.rollback()
        return _render(current, str(error), 422)
    db.session.commit()
    if changed:
        flash(_("Vos préférences de notification sont enregistrées."), "success")
    else:
        flash(_("Rien n'a changé : vos préférences étaient déjà celles-ci."), "info")
    return redirect(url_for(".preferences"), 303)
