"""Consortia: finding them (and known organisations) for a user, with access decided in app.permissions."""

from __future__ import annotations

from collections.abc import Collection

from flask_babel import LazyString
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.audit import record_event
from app.auth.models import User
from app.consortia.models import Consortium, Organisation, Partner, Role, RoleGrant, name_key
from app.errors import Invalid, NotAllowed, NotFound
from app.extensions import db
from app.permissions import can_manage_consortium, can_view_consortium, is_admin


def get_consortium(slug: str) -> Consortium | None:
    """The consortium with this slug, with its call, or None."""
    return db.session.scalar(
        select(Consortium).options(joinedload(Consortium.call)).where(Consortium.slug == slug)
    )


def visible_consortium(slug: str, user: User) -> Consortium:
    """The consortium if the user may see it; otherwise NotFound, so its existence is not revealed."""
    consortium = get_consortium(slug)
    message = _("Ce consortium n'existe pas ou vous n'y avez pas accès.")
    if consortium is None:
        raise NotFound(message)
    if not can_view_consortium(user, consortium):
        actor = user.id if user.is_authenticated else None
        raise NotFound(message, denied={"consortium_id": consortium.id, "actor_id": actor, "slug": slug})
    return consortium


def consortia_of(user: User) -> list[tuple[Consortium, RoleGrant | None]]:
    """The consortia the user takes part in (every consortium for admins), with the user's role."""
    grants = {
        grant.consortium_id: grant
        for grant in db.session.scalars(
            select(RoleGrant).options(joinedload(RoleGrant.partner)).where(RoleGrant.user_id == user.id)
        )
    }
    query = select(Consortium).options(joinedload(Consortium.call)).order_by(Consortium.title)
    if not is_admin(user):
        query = query.where(Consortium.id.in_(grants))
    return [(consortium, grants.get(consortium.id)) for consortium in db.session.scalars(query)]


def partner_by_code(consortium: Consortium, code: str) -> Partner | None:
    """The consortium's partner with this exchange identifier."""
    return db.session.scalar(
        select(Partner).where(Partner.consortium_id == consortium.id, Partner.code == code)
    )


def grant_role(
    user: User, consortium: Consortium, role: Role, partner: Partner | None = None, *, by: User | None = None
) -> RoleGrant:
    """Give the user a role in the consortium (replacing any previous one); directors and
    contributors act for a partner, coordinators for the lead partner, readers for nobody."""
    if role in (Role.DIRECTOR, Role.CONTRIBUTOR) and partner is None:
        raise Invalid(_("Un rôle de direction ou de contribution se rattache à un membre du consortium."))
    if role == Role.COORDINATOR:
        partner = partner or consortium.lead_partner
        if partner is None or partner.id != consortium.lead_partner_id:
            raise Invalid(_("La coordination est assurée par des personnes du chef de file."))
    if role == Role.READER:
        partner = None
    if partner is not None and partner.consortium_id != consortium.id:
        raise Invalid(_("Ce membre n'appartient pas à ce consortium."))
    grant = db.session.scalar(
        select(RoleGrant).where(RoleGrant.user_id == user.id, RoleGrant.consortium_id == consortium.id)
    )
    old = (grant.role.value, grant.partner_id) if grant else None
    if grant is None:
        grant = RoleGrant(user=user, consortium=consortium)
        db.session.add(grant)
    grant.role = role
    grant.partner = partner
    record_event(
        "role.granted",
        actor_id=by.id if by else None,
        consortium_id=consortium.id,
        partner_id=partner.id if partner else None,
        user=user.email,
        old=old and {"role": old[0], "partner_id": old[1]},
        new={"role": role.value, "partner": partner.code if partner else None},
    )
    db.session.flush()
    return grant


def require_manager(consortium: Consortium, by: User, refusal: str | LazyString) -> None:
    """Refuse anyone but the consortium's coordination, saying why with `refusal`."""
    if not can_manage_consortium(by, consortium):
        raise NotAllowed(str(refusal))


def find_organisation(
    name: str, departement: str, siret: str | None, *, exclude: Collection[int] = ()
) -> Organisation | None:
    """An organisation already known by its SIRET, or by its normalised name and département.

    A name match whose SIRET differs from the one given is another body, never the same one.
    """
    if siret:
        found = db.session.scalar(select(Organisation).where(Organisation.siret == siret))
        if found is not None:
            return found
    query = select(Organisation).where(
        Organisation.name_key == name_key(name), Organisation.departement == departement
    )
    if siret:
        query = query.where(Organisation.siret.is_(None))
    if exclude:
        query = query.where(Organisation.id.not_in(list(exclude)))
    return db.session.scalar(query.order_by(Organisation.id).limit(1))
