"""Volunteering pages: the public call for volunteers, and the coordination's side of it."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from app.auth import services as accounts
from app.consortia.models import (
    Consortium,
    RequestStatus,
    VolunteerRequest,
)
from app.consortia.services import get_consortium, managed_consortium
from app.consortia.validation import FieldInvalid
from app.errors import DomainError
from app.extensions import db
from app.form_fields import session_expired, show_field_error
from app.mail.delivery import send_queued_mail
from app.mail.services import public_link
from app.security import checks_csrf_in_form, public
from app.volunteering import services as volunteering
from app.volunteering.forms import DeclineForm, VolunteerForm, VolunteeringIntroForm
from app.volunteering.services import REQUEST_STATUS_LABELS

bp = Blueprint("volunteering", __name__)


@bp.route("/candidature/<slug>", methods=["GET", "POST"])
@public
@checks_csrf_in_form
def volunteer(slug: str) -> ResponseReturnValue:
    """Appel à candidatures: the public page where a PLIE volunteers to join the consortium."""
    consortium = get_consortium(slug)
    if consortium is None:
        abort(404)
    if not consortium.volunteering_open:
        # Nothing is recorded, even if the form was sent just before the call closed.
        return render_template("volunteering/closed.html", consortium=consortium), (
            200 if request.method == "GET" else 409
        )
    form = VolunteerForm()
    if request.method == "GET":
        return render_template("volunteering/volunteer.html", consortium=consortium, form=form)
    status, notice = 422, None
    if form.validate_on_submit():
        try:
            volunteering.submit_volunteer_request(consortium, form.volunteering())
        except FieldInvalid as error:
            db.session.rollback()
            show_field_error(form, error)
        except DomainError as error:
            # A request already pending, or the call closed meanwhile: not a typing mistake, said gently.
            db.session.rollback()
            notice, status = str(error), error.status_code
        else:
            db.session.commit()
            send_queued_mail()
            return redirect(url_for(".volunteer_thanks", slug=slug), 303)
    elif form.csrf_token.errors:
        status = 400
        session_expired(form)
    return render_template(
        "volunteering/volunteer.html", consortium=consortium, form=form, notice=notice
    ), status


@bp.get("/candidature/<slug>/merci")
@public
def volunteer_thanks(slug: str) -> ResponseReturnValue:
    """Confirmation after a volunteer's request was recorded."""
    consortium = get_consortium(slug)
    if consortium is None:
        abort(404)
    return render_template("volunteering/thanks.html", consortium=consortium)


def _render_volunteering(
    consortium: Consortium,
    *,
    intro_form: VolunteeringIntroForm | None = None,
    failed_decline: tuple[int, DeclineForm] | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    requests = volunteering.volunteer_requests(consortium)
    pending = [r for r in requests if r.status == RequestStatus.PENDING]
    decline_forms = {r.id: DeclineForm(formdata=None, prefix=f"refus-{r.id}") for r in pending}
    if failed_decline is not None:
        decline_forms[failed_decline[0]] = failed_decline[1]
    if intro_form is None:
        intro_form = VolunteeringIntroForm(formdata=None, data={"intro": consortium.volunteering_intro})
    deciders = accounts.people_names([r.decided_by_id for r in requests])
    return render_template(
        "volunteering/manage.html",
        consortium=consortium,
        pending=pending,
        decided=[r for r in requests if r.status != RequestStatus.PENDING],
        known={r.id: volunteering.known_organisation(r) for r in pending},
        decline_forms=decline_forms,
        open_decline=failed_decline[0] if failed_decline else None,
        intro_form=intro_form,
        share_link=public_link("volunteering.volunteer", slug=consortium.slug),
        deciders=deciders,
        status_labels=REQUEST_STATUS_LABELS,
    ), status


@bp.get("/consortia/<slug>/candidatures")
def manage(slug: str) -> ResponseReturnValue:
    """Candidatures: open or close the call, its text, and the requests to accept or decline."""
    return _render_volunteering(managed_consortium(slug, current_user))


@bp.post("/consortia/<slug>/candidatures/ouverture")
def set_open(slug: str) -> ResponseReturnValue:
    """Open or close the public call for volunteers."""
    consortium = managed_consortium(slug, current_user)
    is_open = request.form.get("ouvert") == "1"
    volunteering.set_volunteering(consortium, is_open=is_open, by=current_user)
    db.session.commit()
    if is_open:
        flash(_("L'appel à candidatures est ouvert : partagez le lien de la page publique."), "success")
    else:
        flash(_("L'appel à candidatures est fermé : la page publique n'accepte plus de candidature."), "info")
    return redirect(url_for(".manage", slug=slug), 303)


@bp.post("/consortia/<slug>/candidatures/texte")
@checks_csrf_in_form
def set_intro(slug: str) -> ResponseReturnValue:
    """Change the introduction of the public page."""
    consortium = managed_consortium(slug, current_user)
    form = VolunteeringIntroForm()
    if form.validate_on_submit():
        try:
            volunteering.set_volunteering_intro(consortium, form.intro.data or "", by=current_user)
        except FieldInvalid as error:
            db.session.rollback()
            show_field_error(form, error)
        else:
            db.session.commit()
            flash(_("Texte de la page publique enregistré."), "success")
            return redirect(url_for(".manage", slug=slug), 303)
        return _render_volunteering(consortium, intro_form=form, status=422)
    if form.csrf_token.errors:
        session_expired(form)
        return _render_volunteering(consortium, intro_form=form, status=400)
    return _render_volunteering(consortium, intro_form=form, status=422)


def _request_of(consortium: Consortium, request_id: int) -> VolunteerRequest:
    volunteer_request = db.session.get(VolunteerRequest, request_id)
    if volunteer_request is None or volunteer_request.consortium_id != consortium.id:
        abort(404)
    return volunteer_request


@bp.post("/consortia/<slug>/candidatures/<int:request_id>/accepter")
def accept_request(slug: str, request_id: int) -> ResponseReturnValue:
    """Accept a request: the partner is created and the volunteer invited as its director."""
    consortium = managed_consortium(slug, current_user)
    volunteer_request = _request_of(consortium, request_id)
    try:
        invitation = volunteering.accept_volunteer_request(volunteer_request, by=current_user)
    except DomainError as error:
        db.session.rollback()
        flash(str(error), "danger")
        return redirect(url_for(".manage", slug=slug), 303)
    name, person, email = (
        invitation.partner.name if invitation.partner else "",
        invitation.name,
        invitation.email,
    )
    db.session.commit()
    send_queued_mail()
    flash(
        _(
            "Candidature acceptée : « %(name)s » est membre du consortium. %(person)s a reçu à %(email)s "
            "un lien pour créer son accès de direction (valable 14 jours).",
            name=name,
            person=person,
            email=email,
        ),
        "success",
    )
    return redirect(url_for(".manage", slug=slug), 303)


@bp.post("/consortia/<slug>/candidatures/<int:request_id>/refuser")
@checks_csrf_in_form
def decline_request(slug: str, request_id: int) -> ResponseReturnValue:
    """Decline a request with a message, e-mailed to the volunteer."""
    consortium = managed_consortium(slug, current_user)
    volunteer_request = _request_of(consortium, request_id)
    form = DeclineForm(prefix=f"refus-{request_id}")
    if form.validate_on_submit():
        name = volunteer_request.organisation_name
        try:
            volunteering.decline_volunteer_request(
                volunteer_request, by=current_user, message=form.message.data or ""
            )
        except FieldInvalid as error:
            db.session.rollback()
            show_field_error(form, error)
        except DomainError as error:
            db.session.rollback()
            flash(str(error), "danger")
            return redirect(url_for(".manage", slug=slug), 303)
        else:
            db.session.commit()
            send_queued_mail()
            flash(
                _("Candidature de « %(name)s » refusée ; votre message lui a été envoyé.", name=name), "info"
            )
            return redirect(url_for(".manage", slug=slug), 303)
        return _render_volunteering(consortium, failed_decline=(request_id, form), status=422)
    if form.csrf_token.errors:
        session_expired(form)
        return _render_volunteering(consortium, failed_decline=(request_id, form), status=400)
    return _render_volunteering(consortium, failed_decline=(request_id, form), status=422)
