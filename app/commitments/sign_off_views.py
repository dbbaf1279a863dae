"""Signing a partner's commitments, and the coordination following and reminding who has not signed."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from app.budget import sign_off
from app.commitments.forms import SignOffForm
from app.commitments.views import BASE, bp, load_partner
from app.consortia.services import visible_consortium
from app.errors import DomainError, NotAllowed
from app.extensions import db
from app.permissions import can_manage_consortium, can_sign_off


@bp.post(BASE + "/signature")
def sign(slug: str, partner_code: str) -> ResponseReturnValue:
    """La direction certifie les engagements du membre."""
    _consortium, partner = load_partner(slug, partner_code)
    if not can_sign_off(current_user, partner):
        raise NotAllowed(_("Seule la direction de ce membre peut certifier ses engagements."))
    form = SignOffForm()
    try:
        sign_off.sign(partner, certified=bool(form.certify.data), by=current_user)
    except DomainError as error:
        db.session.rollback()
        flash(str(error), "danger")
    else:
        db.session.commit()
        flash(
            _("Engagements signés. Toute modification ultérieure rendra cette signature caduque."), "success"
        )
    back = request.form.get("retour", "budget")
    endpoint = {"personnel": ".staff", "indicateurs": ".indicators"}.get(back, ".budget")
    return redirect(url_for(endpoint, slug=slug, partner_code=partner_code) + "#signature", 303)


@bp.get("/consortia/<slug>/signatures")
def sign_offs(slug: str) -> ResponseReturnValue:
    """Qui a signé ses engagements, quelles signatures sont caduques, qui n'a jamais signé."""
    consortium = visible_consortium(slug, current_user)
    if not can_manage_consortium(current_user, consortium):
        raise NotAllowed(_("Le suivi des signatures est réservé à la coordination."))
    states = sign_off.states_of(consortium)
    return render_template(
        "commitments/sign_offs.html",
        consortium=consortium,
        states=states,
        recipients=sign_off.recipients_of([s.partner for s in states]),
    )


@bp.route("/consortia/<slug>/signatures/relance", methods=["GET", "POST"])
def remind(slug: str) -> ResponseReturnValue:
    """Relancer un membre (ou tous ceux qui n'ont pas signé) : aperçu du message, puis envoi."""
    consortium = visible_consortium(slug, current_user)
    if not can_manage_consortium(current_user, consortium):
        raise NotAllowed(_("Seule la coordination envoie des relances."))
    code = request.values.get("membre") or None
    targets = sign_off.to_remind(consortium, code)
    if request.method == "POST":
        try:
            sent = sign_off.send_reminders(consortium, code, by=current_user)
        except DomainError as error:
            db.session.rollback()
            flash(str(error), "danger")
        else:
            db.session.commit()
            flash(_("Relance placée dans la boîte d'envoi : %(count)s e-mail(s).", count=sent), "success")
        return redirect(url_for(".sign_offs", slug=slug), 303)
    if not targets:
        flash(_("Aucun membre à relancer : tous les membres actifs concernés ont signé."), "info")
        return redirect(url_for(".sign_offs", slug=slug), 303)
    first = targets[0]
    preview = render_template(
        "mail/sign_off_reminder.txt",
        consortium=consortium,
        subject=sign_off.reminder_subject(first.partner),
        **sign_off.reminder_context(first.partner, first.state, by=current_user),
    )
    return render_template(
        "commitments/remind.html",
        consortium=consortium,
        targets=targets,
        code=code,
        preview=preview,
        subject=sign_off.reminder_subject(first.partner),
        recipients=sign_off.recipients_of([t.partner for t in targets]),
    )
