"""Pages of the partners: the list and map, one partner's people, withdrawal, reinstatement, lead."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from wtforms.fields.choices import SelectChoice

from app import content_version
from app.consortia.models import PARTNER_ROLES, ROLE_LABELS, Consortium, Partner, Role
from app.consortia.services import visible_consortium
from app.errors import DomainError, NotAllowed
from app.extensions import db
from app.members import services, withdrawal
from app.members.forms import HandOverForm, RoleForm, WithdrawForm
from app.members.map import LICENCE_URL, render_svg
from app.permissions import can_manage_consortium, can_manage_partner_people, can_withdraw_partner
from app.security import checks_csrf_in_form
from app.templating import paris_today

bp = Blueprint("members", __name__)


def _expired() -> str:
    return _("Votre session a expiré. Votre saisie est conservée : validez à nouveau.")


def _load(slug: str, code: str) -> tuple[Consortium, Partner]:
    consortium = visible_consortium(slug, current_user)
    return consortium, services.partner_of(consortium, code)


@bp.get("/consortia/<slug>/membres")
def index(slug: str) -> ResponseReturnValue:
    """Les membres: every partner with its people and figures, those on their way in, and the map."""
    consortium = visible_consortium(slug, current_user)
    return render_template(
        "members/index.html",
        consortium=consortium,
        content=content_version.remembered(
            consortium, ("members", paris_today()), lambda: _partners_content(consortium)
        ),
        pending=services.pending_organisations(consortium),
        can_manage=can_manage_consortium(current_user, consortium),
        invitations_url=url_for("invitations.index", slug=consortium.slug),
        volunteering_url=url_for("volunteering.manage", slug=consortium.slug),
    )


@dataclass(frozen=True)
class PartnersContent:
    """The members page's parts that show the consortium's content, rendered, and their counts."""

    partners: Markup
    total: Markup
    map: Markup
    active_count: int
    partner_count: int


def _partners_content(consortium: Consortium) -> PartnersContent:
    page = services.members_page(consortium)
    context = {
        "consortium": consortium,
        "page": page,
        "totals": page.state.consolidation,
        "map_svg": render_svg(page.map, css_class="members-map img-fluid", attribution=False),
        "licence_url": LICENCE_URL,
        "role_labels": ROLE_LABELS,
    }
    return PartnersContent(
        partners=Markup(render_template("members/_partners.html", **context)),
        total=Markup(render_template("members/_total.html", **context)),
        map=Markup(render_template("members/_map.html", **context)),
        active_count=page.active_count,
        partner_count=len(page.rows),
    )


@bp.get("/consortia/<slug>/membres/<code>")
def partner(slug: str, code: str) -> ResponseReturnValue:
    """One partner: its status, its people and what may be done with them."""
    consortium, member = _load(slug, code)
    return _render_partner(consortium, member)


def _render_partner(consortium: Consortium, member: Partner, status: int = 200) -> ResponseReturnValue:
    manages = can_manage_partner_people(current_user, member)
    return (
        render_template(
            "members/partner.html",
            consortium=consortium,
            partner=member,
            people=services.people_of(member),
            withdrawn_by=services.withdrawer_of(member),
            invitations=services.open_invitations_of(member) if manages else [],
            role_labels=ROLE_LABELS,
            manages_people=manages,
            managed_roles=PARTNER_ROLES,
            role_form=RoleForm,
            can_withdraw=can_withdraw_partner(current_user, member),
            can_manage=can_manage_consortium(current_user, consortium),
            invitations_url=url_for("invitations.index", slug=consortium.slug) if manages else None,
        ),
        status,
    )


@bp.post("/consortia/<slug>/membres/<code>/personnes/<int:grant_id>/role")
def change_role(slug: str, code: str, grant_id: int) -> ResponseReturnValue:
    """Make a person director or contributor of the partner."""
    _consortium, member = _load(slug, code)
    grant = services.grant_in(member, grant_id)
    if not can_manage_partner_people(current_user, member):
        raise NotAllowed(_("Seules la coordination et la direction de ce membre gèrent ses personnes."))
    form = RoleForm()
    role = form.role.data if form.validate() else None
    if role not in {r.value for r in PARTNER_ROLES}:
        flash(_("Choisissez « Direction » ou « Contribution »."), "danger")
        return redirect(url_for(".partner", slug=slug, code=code), 303)
    try:
        changed = services.change_role(grant, Role(role), by=current_user)
    except DomainError as error:
        db.session.rollback()
        flash(str(error), "danger")
        return redirect(url_for(".partner", slug=slug, code=code), 303)
    db.session.commit()
    if changed:
        flash(
            _(
                "%(name)s a désormais le rôle « %(role)s ».",
                name=grant.user.name,
                role=_(ROLE_LABELS[grant.role]),
            ),
            "success",
        )
    return redirect(url_for(".partner", slug=slug, code=code), 303)


@bp.route("/consortia/<slug>/membres/<code>/personnes/<int:grant_id>/retirer", methods=["GET", "POST"])
def remove_person(slug: str, code: str, grant_id: int) -> ResponseReturnValue:
    """Confirm, then take a person's role on the partner away (their account and writing stay)."""
    consortium, member = _load(slug, code)
    grant = services.grant_in(member, grant_id)
    if not can_manage_partner_people(current_user, member):
        raise NotAllowed(_("Seules la coordination et la direction de ce membre gèrent ses personnes."))
    if request.method == "GET":
        return render_template(
            "members/remove_person.html", consortium=consortium, partner=member, grant=grant
        )
    name, myself = grant.user.name, grant.user_id == current_user.id
    try:
        services.remove_person(grant, by=current_user)
    except DomainError as error:
        db.session.rollback()
        flash(str(error), "danger")
        return redirect(url_for(".partner", slug=slug, code=code), 303)
    db.session.commit()
    if myself:
        flash(_("Vous n'agissez plus pour %(partner)s dans ce consortium.", partner=member.name), "success")
        return redirect(url_for("consortia.index"), 303)
    flash(
        _(
            "%(name)s n'agit plus pour %(partner)s. Son compte et ce qu'il ou elle a écrit sont conservés.",
            name=name,
            partner=member.name,
        ),
        "success",
    )
    return redirect(url_for(".partner", slug=slug, code=code), 303)


@bp.route("/consortia/<slug>/membres/<code>/retrait", methods=["GET", "POST"])
@checks_csrf_in_form
def withdraw(slug: str, code: str) -> ResponseReturnValue:
    """Explain what withdrawing means, ask why, then withdraw the partner (its data stays)."""
    consortium, member = _load(slug, code)
    withdrawal.check_can_withdraw(member, by=current_user)
    if not member.is_active:
        flash(_("%(partner)s est déjà retiré du consortium : rien n'a changé.", partner=member.name), "info")
        return redirect(url_for(".partner", slug=slug, code=code), 303)
    form = WithdrawForm()
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            try:
                withdrawal.withdraw_partner(member, by=current_user, reason=form.reason.data or "")
            except DomainError as error:
                db.session.rollback()
                form.form_errors.append(str(error))
            else:
                db.session.commit()
                flash(
                    _(
                        "%(partner)s est retiré du consortium. Ses données sont conservées et ne comptent "
                        "plus dans les totaux ; la coordination et la direction du membre ont été prévenues.",
                        partner=member.name,
                    ),
                    "success",
                )
                return redirect(url_for(".index", slug=slug), 303)
        elif form.csrf_token.errors:
            status = 400
            form.form_errors.append(_expired())
    return render_template("members/withdraw.html", consortium=consortium, partner=member, form=form), status


@bp.post("/consortia/<slug>/membres/<code>/reintegration")
def reinstate(slug: str, code: str) -> ResponseReturnValue:
    """Bring a withdrawn partner back into every total (coordination only)."""
    _consortium, member = _load(slug, code)
    changed = withdrawal.reinstate_partner(member, by=current_user)
    db.session.commit()
    if changed:
        flash(
            _(
                "%(partner)s réintègre le consortium : ses chiffres comptent de nouveau dans les totaux. "
                "Sa direction et la coordination ont été prévenues.",
                partner=member.name,
            ),
            "success",
        )
    else:
        flash(_("%(partner)s est déjà actif : rien n'a changé.", partner=member.name), "info")
    return redirect(url_for(".index", slug=slug), 303)


@bp.route("/consortia/<slug>/chef-de-file", methods=["GET", "POST"])
@checks_csrf_in_form
def hand_over(slug: str) -> ResponseReturnValue:
    """Choose the partner that becomes lead, confirm, then hand the role over (coordination only)."""
    consortium = visible_consortium(slug, current_user)
    if not can_manage_consortium(current_user, consortium):
        raise NotAllowed(_("Seule la coordination peut confier le rôle de chef de file."))
    candidates = withdrawal.lead_candidates(consortium)
    form = HandOverForm()
    form.new_lead.choices = [SelectChoice(candidate.code, candidate.name) for candidate in candidates]
    template, status = "members/hand_over.html", 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            new_lead = services.partner_of(consortium, form.new_lead.data or "")
            if form.confirmed.data != "1":
                form.confirmed.data = "1"
                template, status = "members/hand_over_confirm.html", 200
                return render_template(template, consortium=consortium, form=form, new_lead=new_lead), status
            try:
                changed = withdrawal.hand_over_lead(consortium, new_lead, by=current_user)
            except DomainError as error:
                db.session.rollback()
                form.form_errors.append(str(error))
            else:
                db.session.commit()
                if not changed:
                    flash(
                        _("%(partner)s est déjà chef de file : rien n'a changé.", partner=new_lead.name),
                        "info",
                    )
                    return redirect(url_for(".index", slug=slug), 303)
                flash(
                    _(
                        "%(partner)s est désormais chef de file. Les personnes de la coordination gardent "
                        "leur rôle.",
                        partner=new_lead.name,
                    ),
                    "success",
                )
                return redirect(url_for(".index", slug=slug), 303)
        elif form.csrf_token.errors:
            status = 400
            form.form_errors.append(_expired())
    return render_template(template, consortium=consortium, form=form, candidates=candidates), status
