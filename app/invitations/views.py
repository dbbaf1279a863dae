"""Invitation pages: inviting an organisation or a person, the list, and accepting a link."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from sqlalchemy import select

from app.auth import services as accounts
from app.auth.models import normalise_email
from app.consortia.models import (
    ROLE_LABELS,
    Consortium,
    Invitation,
    Partner,
    Role,
)
from app.consortia.services import managed_consortium, partner_by_code, visible_consortium
from app.consortia.validation import FieldInvalid
from app.errors import DomainError
from app.extensions import db
from app.form_fields import session_expired, show_field_error
from app.invitations import acceptance
from app.invitations import services as invitations
from app.invitations.forms import (
    CreateAccountForm,
    InviteOrganisationForm,
    InvitePersonForm,
    JoinForm,
)
from app.invitations.services import INVITATION_STATE_LABELS, InvitationState, InvitationUnusable
from app.mail.delivery import send_queued_mail
from app.permissions import (
    can_manage_consortium,
    can_manage_invitation,
    can_view_invitations,
    invitable_roles,
    partner_acted_for,
)
from app.security import checks_csrf_in_form, public, start_session

bp = Blueprint("invitations", __name__)


# Both invitation forms share a page: the organisation's fields get a prefix, so no two fields share an id.
ORGANISATION_PREFIX = "organisation"

ROLE_HINTS = {
    Role.CONTRIBUTOR: "saisit les chiffres et rédige les textes de son organisation",
    Role.DIRECTOR: "comme la contribution, et signe les chiffres et invite ses collègues",
    Role.READER: "consulte le dossier sans rien modifier (financeur, observateur)",
    Role.COORDINATOR: "pilote le consortium avec l'équipe du chef de file",
}


def _inviter_scope(consortium: Consortium) -> tuple[bool, Partner | None]:
    """Whether the user coordinates, else the partner it directs (403 for anyone else)."""
    if not can_view_invitations(current_user, consortium):
        abort(403)
    if can_manage_consortium(current_user, consortium):
        return True, None
    return False, partner_acted_for(current_user, consortium)


def _prepare_person_form(form: InvitePersonForm, consortium: Consortium) -> None:
    form.role.choices = [
        (role.value, f"{ROLE_LABELS[role]} — {ROLE_HINTS[role]}")
        for role in invitable_roles(current_user, consortium)
    ]
    partners = [p for p in consortium.partners if p.is_active]
    form.partner.choices = [("", _("— choisir le membre —")), *((p.code, p.name) for p in partners)]


def _render_invitations(
    consortium: Consortium,
    *,
    organisation_form: InviteOrganisationForm | None = None,
    person_form: InvitePersonForm | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    manager, own_partner = _inviter_scope(consortium)
    rows = invitations.invitations_for(consortium, current_user)
    now = datetime.now(UTC)
    if person_form is None:
        person_form = InvitePersonForm(formdata=None, data={"role": Role.CONTRIBUTOR.value})
    _prepare_person_form(person_form, consortium)
    if manager and organisation_form is None:
        organisation_form = InviteOrganisationForm(formdata=None, prefix=ORGANISATION_PREFIX)
    states = {invitation.id: invitations.invitation_state(invitation, now) for invitation in rows}
    context: dict[str, Any] = {
        "consortium": consortium,
        "manager": manager,
        "own_partner": own_partner,
        "invitations": rows,
        "states": states,
        "state_labels": INVITATION_STATE_LABELS,
        "counts": {state: sum(1 for s in states.values() if s == state) for state in InvitationState},
        "names": accounts.people_names([i.created_by_id for i in rows] + [i.accepted_by_id for i in rows]),
        "role_labels": ROLE_LABELS,
        "manageable": {i.id: can_manage_invitation(current_user, i) for i in rows},
        "organisation_form": organisation_form,
        "person_form": person_form,
    }
    return render_template("invitations/index.html", **context), status


@bp.get("/consortia/<slug>/invitations")
def index(slug: str) -> ResponseReturnValue:
    """Invitations: who was invited, in which state, and new invitations."""
    return _render_invitations(visible_consortium(slug, current_user))


def _invitation_sent(email: str, slug: str) -> ResponseReturnValue:
    db.session.commit()
    send_queued_mail()
    flash(_("Invitation envoyée à %(email)s. Le lien est valable 14 jours.", email=email), "success")
    return redirect(url_for(".index", slug=slug), 303)


@bp.post("/consortia/<slug>/invitations/organisation")
@checks_csrf_in_form
def invite_organisation(slug: str) -> ResponseReturnValue:
    """Invite an organisation to join, through the person who will direct its participation."""
    consortium = managed_consortium(slug, current_user)
    form = InviteOrganisationForm(prefix=ORGANISATION_PREFIX)
    status = 422
    if form.validate_on_submit():
        try:
            invitation = invitations.invite_organisation(
                consortium,
                organisation_name=form.organisation_name.data or "",
                departement=form.departement.data or "",
                name=form.name.data or "",
                email=form.email.data or "",
                message=form.message.data or "",
                by=current_user,
            )
        except FieldInvalid as error:
            db.session.rollback()
            show_field_error(form, error)
        else:
            return _invitation_sent(invitation.email, slug)
    elif form.csrf_token.errors:
        status = 400
        session_expired(form)
    return _render_invitations(consortium, organisation_form=form, status=status)


@bp.post("/consortia/<slug>/invitations/personne")
@checks_csrf_in_form
def invite_person(slug: str) -> ResponseReturnValue:
    """Invite a colleague (contributor or director), a reader or a coordinator."""
    consortium = visible_consortium(slug, current_user)
    manager, own_partner = _inviter_scope(consortium)
    form = InvitePersonForm()
    _prepare_person_form(form, consortium)
    status = 422
    if form.validate_on_submit():
        allowed = {role.value: role for role in invitable_roles(current_user, consortium)}
        role = allowed.get(form.role.data or "")
        # A director always invites to its own partner, whatever the request says.
        partner = partner_by_code(consortium, form.partner.data or "") if manager else own_partner
        try:
            if role is None:
                raise FieldInvalid("role", _("Choisissez un des rôles proposés."))
            invitation = invitations.invite_person(
                consortium,
                role=role,
                email=form.email.data or "",
                name=form.name.data or "",
                partner=partner,
                message=form.message.data or "",
                by=current_user,
            )
        except FieldInvalid as error:
            db.session.rollback()
            show_field_error(form, error)
        else:
            return _invitation_sent(invitation.email, slug)
    elif form.csrf_token.errors:
        status = 400
        session_expired(form)
    return _render_invitations(consortium, person_form=form, status=status)


def _invitation_of(consortium: Consortium, invitation_id: int) -> Invitation:
    invitation = db.session.scalar(
        select(Invitation).where(Invitation.id == invitation_id, Invitation.consortium_id == consortium.id)
    )
    if invitation is None:
        abort(404)
    if not can_manage_invitation(current_user, invitation):
        abort(403)
    return invitation


@bp.post("/consortia/<slug>/invitations/<int:invitation_id>/annuler")
def revoke(slug: str, invitation_id: int) -> ResponseReturnValue:
    """Cancel an invitation: its link stops working."""
    consortium = visible_consortium(slug, current_user)
    invitation = _invitation_of(consortium, invitation_id)
    try:
        invitations.revoke_invitation(invitation, by=current_user)
    except DomainError as error:
        db.session.rollback()
        flash(str(error), "danger")
    else:
        email = invitation.email
        db.session.commit()
        flash(_("Invitation de %(email)s annulée : son lien ne fonctionne plus.", email=email), "info")
    return redirect(url_for(".index", slug=slug), 303)


@bp.post("/consortia/<slug>/invitations/<int:invitation_id>/renvoyer")
def resend(slug: str, invitation_id: int) -> ResponseReturnValue:
    """Send a new link (valid 14 days); the previous one stops working."""
    consortium = visible_consortium(slug, current_user)
    invitation = _invitation_of(consortium, invitation_id)
    try:
        invitations.resend_invitation(invitation, by=current_user)
    except DomainError as error:
        db.session.rollback()
        flash(str(error), "danger")
        return redirect(url_for(".index", slug=slug), 303)
    email = invitation.email
    db.session.commit()
    send_queued_mail()
    flash(
        _("Nouveau lien envoyé à %(email)s (valable 14 jours) ; l'ancien ne fonctionne plus.", email=email),
        "success",
    )
    return redirect(url_for(".index", slug=slug), 303)


def _unusable(message: str, status: int, invitation: Invitation | None = None) -> ResponseReturnValue:
    return render_template("invitations/unusable.html", message=message, invitation=invitation), status


def _welcome(invitation: Invitation) -> ResponseReturnValue:
    consortium = invitation.consortium
    flash(_("Bienvenue dans le consortium « %(title)s » !", title=consortium.title), "success")
    return redirect(url_for("overview.index", slug=consortium.slug), 303)


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@public
@checks_csrf_in_form
def accept(token: str) -> ResponseReturnValue:
    """Accept an invitation: choose a password (new account) or join with one's account."""
    invitation = acceptance.find_invitation(token)
    if invitation is None:
        return _unusable(
            _(
                "Ce lien d'invitation n'existe pas. Vérifiez que l'adresse a été copiée en entier, "
                "ou demandez à la personne qui vous a invité de vous renvoyer l'invitation."
            ),
            404,
        )
    logged_in = current_user.is_authenticated
    if logged_in and invitation.accepted_by_id == current_user.id:
        flash(_("Vous avez déjà rejoint ce consortium avec cette invitation."), "info")
        return redirect(url_for("overview.index", slug=invitation.consortium.slug), 303)
    try:
        acceptance.check_usable(invitation)
    except InvitationUnusable as error:
        return _unusable(str(error), 410, invitation)
    context = {
        "invitation": invitation,
        "consortium": invitation.consortium,
        "token": token,
        "inviter": accounts.people_names([invitation.created_by_id]).get(invitation.created_by_id or 0, ""),
        "role_label": ROLE_LABELS[invitation.role],
    }
    if logged_in and normalise_email(current_user.email) != normalise_email(invitation.email):
        # Someone else's link (or the person holds two accounts): nothing is granted to this account.
        return render_template("invitations/accept.html", state="other_user", **context), (
            200 if request.method == "GET" else 403
        )
    if logged_in:
        return _join_as_current_user(invitation, context)
    if acceptance.has_password(invitation.email):
        return render_template(
            "invitations/accept.html",
            state="login",
            login_link=url_for("auth.login", next=url_for(".accept", token=token)),
            **context,
        )
    return _create_account(invitation, context)


def _join_as_current_user(invitation: Invitation, context: dict[str, Any]) -> ResponseReturnValue:
    form = JoinForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                acceptance.accept_invitation(invitation, user=current_user)
            except InvitationUnusable as error:
                db.session.rollback()
                return _unusable(str(error), 410, invitation)
            except DomainError as error:
                db.session.rollback()
                form.form_errors.append(str(error))
                status = error.status_code
            else:
                db.session.commit()
                send_queued_mail()
                return _welcome(invitation)
        else:
            status = 400
            session_expired(form)
    return render_template("invitations/accept.html", state="join", form=form, **context), status


def _create_account(invitation: Invitation, context: dict[str, Any]) -> ResponseReturnValue:
    form = CreateAccountForm()
    if request.method == "GET":
        form.name.data = invitation.name
        return render_template("invitations/accept.html", state="new_account", form=form, **context)
    status = 422
    if form.validate_on_submit():
        try:
            user = acceptance.create_account_and_accept(
                invitation, name=form.name.data or "", password=form.password.data or ""
            )
        except InvitationUnusable as error:
            db.session.rollback()
            return _unusable(str(error), 410, invitation)
        except FieldInvalid as error:
            db.session.rollback()
            show_field_error(form, error)
        except DomainError as error:
            db.session.rollback()
            form.form_errors.append(str(error))
            status = error.status_code
        else:
            start_session(user)
            db.session.commit()
            send_queued_mail()
            return _welcome(invitation)
    elif form.csrf_token.errors:
        status = 400
        session_expired(form)
    # Passwords are never sent back to the browser.
    form.password.data = form.password_confirm.data = ""
    return render_template("invitations/accept.html", state="new_account", form=form, **context), status


@bp.post("/invitation/<token>/changer-de-compte")
@public
def switch_account(token: str) -> ResponseReturnValue:
    """Log out (everywhere) to accept an invitation meant for another person's account."""
    if current_user.is_authenticated:
        accounts.logout(current_user._get_current_object())
        db.session.commit()
        logout_user()
    flash(_("Vous êtes déconnecté : vous pouvez maintenant accepter l'invitation."), "info")
    return redirect(url_for(".accept", token=token), 303)
