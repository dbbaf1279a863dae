"""Consortia: finding them (and known organisations) for a user, with access decided in app.permissions."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection

from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from app.audit import EventKind, record_event
from app.auth.models import User, normalise_email
from app.consortia.models import (
    ROLE_LABELS,
    Consortium,
    Organisation,
    Partner,
    PartnerStatus,
    Role,
    RoleGrant,
    name_key,
)
from app.errors import Invalid, NotAllowed, NotFound
from app.extensions import db
from app.permissions import can_manage_consortium, can_view_consortium, is_admin, remember_grant


def get_consortium(slug: str) -> Consortium | None:
    """The consortium with this slug, with its call, or None."""
    return db.session.scalar(
        select(Consortium).options(joinedload(Consortium.call)).where(Consortium.slug == slug)
    )


def visible_consortium(slug: str, user: User) -> Consortium:
    """The consortium if the user may see it; otherwise NotFound, so its existence is not revealed.

    The user's role there comes in the same query."""
    consortium = _with_grant(slug, user) if user.is_authenticated else get_consortium(slug)
    message = _("Ce consortium n'existe pas ou vous n'y avez pas accès.")
    if consortium is None:
        raise NotFound(message)
    if not can_view_consortium(user, consortium):
        actor = user.id if user.is_authenticated else None
        raise NotFound(message, denied={"consortium_id": consortium.id, "actor_id": actor, "slug": slug})
    return consortium


def _with_grant(slug: str, user: User) -> Consortium | None:
    row = db.session.execute(
        select(Consortium, RoleGrant)
        .options(joinedload(Consortium.call))
        .outerjoin(RoleGrant, (RoleGrant.consortium_id == Consortium.id) & (RoleGrant.user_id == user.id))
        .where(Consortium.slug == slug)
    ).first()
    if row is None:
        return None
    consortium, grant = row
    remember_grant(user, consortium, grant)
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
        EventKind.ROLE_GRANTED,
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


MANAGERS_ONLY = _l("Seule la coordination du consortium peut faire cela.")


def member_of(consortium: Consortium, organisation: Organisation | None) -> Partner | None:
    if organisation is None or organisation.id is None:
        return None
    return db.session.scalar(
        select(Partner).where(
            Partner.consortium_id == consortium.id, Partner.organisation_id == organisation.id
        )
    )


def role_of(consortium: Consortium, email: str) -> RoleGrant | None:
    return db.session.scalar(
        select(RoleGrant)
        .join(User, User.id == RoleGrant.user_id)
        .where(RoleGrant.consortium_id == consortium.id, User.email == normalise_email(email))
    )


def role_description(grant: RoleGrant) -> str:
    label = ROLE_LABELS[grant.role]
    return f"{label} — {grant.partner.name}" if grant.partner is not None else label


def partner_code(consortium: Consortium, name: str) -> str:
    """A new partner's exchange identifier: the name as a slug, unique in the consortium."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:56].strip("-") or "membre"
    taken = set(db.session.scalars(select(Partner.code).where(Partner.consortium_id == consortium.id)))
    code, number = base, 2
    while code in taken:
        code = f"{base}-{number}"
        number += 1
    return code


def add_partner(
    consortium: Consortium, organisation: Organisation, *, contact: dict[str, str], by: User
) -> Partner:
    last = db.session.scalar(select(func.max(Partner.position)).where(Partner.consortium_id == consortium.id))
    partner = Partner(
        organisation=organisation,
        code=partner_code(consortium, organisation.name),
        position=0 if last is None else last + 1,
        status=PartnerStatus.ACTIVE,
        contacts=[contact],
    )
    partner.consortium = consortium
    db.session.add(partner)
    db.session.flush()
    record_event(
        EventKind.PARTNER_CREATED,
        actor_id=by.id,
        consortium_id=consortium.id,
        partner_id=partner.id,
        partner=partner.code,
        organisation_id=organisation.id,
        name=organisation.name,
    )
    return partner


def managed_consortium(slug: str, user: User) -> Consortium:
    """The consortium if the user coordinates it (NotFound when it cannot be seen, NotAllowed otherwise)."""
    consortium = visible_consortium(slug, user)
    if not can_manage_consortium(user, consortium):
        raise NotAllowed(_("Seule la coordination du consortium peut faire cela."))
    return consortium
