"""The partners page and the people of each partner (withdrawal and the lead are in withdrawal.py)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.audit import EventKind, record_event
from app.auth.models import User
from app.budget.calculations import PartnerTotals
from app.budget.services import ConsortiumState, consolidation_of
from app.consortia.models import (
    PARTNER_ROLES,
    Consortium,
    Invitation,
    Partner,
    RequestStatus,
    Role,
    RoleGrant,
    VolunteerRequest,
)
from app.database import utcnow
from app.errors import Conflict, Invalid, NotAllowed, NotFound
from app.extensions import db
from app.members import map as members_map
from app.permissions import can_manage_partner_people

# --- the partners page ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PartnerRow:
    """A partner as the partners page shows it: who, its people, its headline figures."""

    partner: Partner
    totals: PartnerTotals
    people: tuple[RoleGrant, ...]  # with their users, directors first
    withdrawn_by: User | None


@dataclass(frozen=True)
class PendingRow:
    """An organisation on its way in: a volunteer request to decide or an invitation not yet accepted."""

    kind: str  # "volunteer" (en attente) | "invitation" (invité)
    name: str
    departement: str
    since: datetime
    participants_per_year: int | None


@dataclass(frozen=True)
class MembersPage:
    """Everything the partners page shows, loaded in a constant number of queries."""

    state: ConsortiumState
    rows: tuple[PartnerRow, ...]
    map: members_map.MembersMap

    @property
    def active_count(self) -> int:
        """Active partners."""
        return sum(1 for row in self.rows if row.partner.is_active)


def _people_order(grant: RoleGrant) -> tuple[int, str]:
    order = {Role.COORDINATOR: 0, Role.DIRECTOR: 1, Role.CONTRIBUTOR: 2, Role.READER: 3}
    return order[grant.role], grant.user.name.casefold()


def consortium_people(consortium: Consortium) -> dict[int, list[RoleGrant]]:
    """Every role grant of the consortium with its user, by partner id (one query)."""
    people: dict[int, list[RoleGrant]] = defaultdict(list)
    grants = db.session.scalars(
        select(RoleGrant)
        .options(joinedload(RoleGrant.user))
        .where(RoleGrant.consortium_id == consortium.id, RoleGrant.partner_id.is_not(None))
    )
    for grant in grants:
        people[grant.partner_id or 0].append(grant)
    for grants_of_partner in people.values():
        grants_of_partner.sort(key=_people_order)
    return people


def pending_organisations(consortium: Consortium) -> list[PendingRow]:
    """Volunteer requests awaiting a decision and organisation invitations still open (two queries)."""
    rows = [
        PendingRow("volunteer", r.organisation_name, r.departement, r.created_at, r.participants_per_year)
        for r in db.session.scalars(
            select(VolunteerRequest)
            .where(
                VolunteerRequest.consortium_id == consortium.id,
                VolunteerRequest.status == RequestStatus.PENDING,
            )
            .order_by(VolunteerRequest.created_at)
        )
    ]
    rows.extend(
        PendingRow("invitation", i.organisation_name or "", i.organisation_departement, i.created_at, None)
        for i in db.session.scalars(
            select(Invitation)
            .where(
                Invitation.consortium_id == consortium.id,
                Invitation.partner_id.is_(None),
                Invitation.organisation_name.is_not(None),
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > utcnow(),
            )
            .order_by(Invitation.created_at)
        )
    )
    return rows


def map_of(state: ConsortiumState) -> members_map.MembersMap:
    """The members map's counts from the consolidated figures (active partners only)."""
    participants = {totals.id: totals.participants for totals in state.consolidation.partners}
    return members_map.tally(
        members_map.MapPartner(
            name=partner.name,
            departement=partner.organisation.departement,
            participants=participants.get(partner.code, 0),
            active=partner.is_active,
        )
        for partner in state.data.partners
    )


def members_page(consortium: Consortium) -> MembersPage:
    """The partners page's partners: every partner, its people and figures, and the map (those on
    their way in are `pending_organisations`)."""
    state = consolidation_of(consortium)
    totals = {row.id: row for row in state.consolidation.partners}
    people = consortium_people(consortium)
    withdrawers = {p.withdrawn_by_id for p in state.data.partners if p.withdrawn_by_id is not None}
    users = (
        {user.id: user for user in db.session.scalars(select(User).where(User.id.in_(withdrawers)))}
        if withdrawers
        else {}
    )
    rows = tuple(
        PartnerRow(
            partner=partner,
            totals=totals[partner.code],
            people=tuple(people.get(partner.id, ())),
            withdrawn_by=users.get(partner.withdrawn_by_id) if partner.withdrawn_by_id else None,
        )
        for partner in state.data.partners
    )
    return MembersPage(state, rows, map_of(state))


# --- one partner and its people ------------------------------------------------------------------


def partner_of(consortium: Consortium, code: str) -> Partner:
    """The consortium's partner with this code, or NotFound."""
    partner = db.session.scalar(
        select(Partner).where(Partner.consortium_id == consortium.id, Partner.code == code)
    )
    if partner is None:
        raise NotFound(_("Ce membre n'existe pas dans ce consortium."))
    return partner


def withdrawer_of(partner: Partner) -> User | None:
    """Who withdrew the partner, if it is withdrawn and that account still exists."""
    return db.session.get(User, partner.withdrawn_by_id) if partner.withdrawn_by_id else None


def people_of(partner: Partner) -> list[RoleGrant]:
    """The people acting for the partner, with their accounts, coordinators and directors first."""
    grants = list(
        db.session.scalars(
            select(RoleGrant)
            .options(joinedload(RoleGrant.user))
            .where(RoleGrant.consortium_id == partner.consortium_id, RoleGrant.partner_id == partner.id)
        )
    )
    return sorted(grants, key=_people_order)


def open_invitations_of(partner: Partner) -> list[Invitation]:
    """Invitations to join the partner that nobody has accepted, revoked or let expire yet."""
    return list(
        db.session.scalars(
            select(Invitation)
            .where(
                Invitation.partner_id == partner.id,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > utcnow(),
            )
            .order_by(Invitation.created_at)
        )
    )


def grant_in(partner: Partner, grant_id: int) -> RoleGrant:
    """A person's grant on this partner, or NotFound (a grant of another partner is not found here)."""
    grant = db.session.scalar(
        select(RoleGrant)
        .options(joinedload(RoleGrant.user))
        .where(RoleGrant.id == grant_id, RoleGrant.partner_id == partner.id)
    )
    if grant is None:
        raise NotFound(_("Cette personne n'agit pas pour ce membre."))
    return grant


def _other_directors(grant: RoleGrant) -> int:
    return len(
        db.session.scalars(
            select(RoleGrant.id).where(
                RoleGrant.partner_id == grant.partner_id,
                RoleGrant.role == Role.DIRECTOR,
                RoleGrant.id != grant.id,
            )
        ).all()
    )


def _check_people_change(grant: RoleGrant, by: User) -> Partner:
    partner = grant.partner
    if partner is None or not can_manage_partner_people(by, partner):
        raise NotAllowed(_("Seules la coordination et la direction de ce membre gèrent ses personnes."))
    if grant.role not in PARTNER_ROLES:
        raise NotAllowed(
            _("Le rôle de coordination ne se gère pas ici : seules la direction et la contribution le sont.")
        )
    return partner


def change_role(grant: RoleGrant, role: Role, *, by: User) -> bool:
    """Make a person director or contributor of their partner; False when nothing changed.

    The last director cannot demote themself: a partner needs someone to certify its figures."""
    partner = _check_people_change(grant, by)
    if role not in PARTNER_ROLES:
        raise Invalid(_("Choisissez « Direction » ou « Contribution »."))
    if grant.role == role:
        return False
    if grant.role == Role.DIRECTOR and grant.user_id == by.id and _other_directors(grant) == 0:
        raise Conflict(
            _(
                "Vous êtes la seule personne à la direction de %(name)s : nommez d'abord une autre "
                "personne à la direction, puis changez votre rôle.",
                name=partner.name,
            )
        )
    old = grant.role
    grant.role = role
    record_event(
        EventKind.ROLE_CHANGED,
        actor_id=by.id,
        consortium_id=partner.consortium_id,
        partner_id=partner.id,
        user=grant.user.email,
        partner=partner.code,
        old=old.value,
        new=role.value,
    )
    db.session.flush()
    return True


def remove_person(grant: RoleGrant, *, by: User) -> None:
    """Take a person's role on the partner away; their account and everything they wrote stay."""
    partner = _check_people_change(grant, by)
    if grant.role == Role.DIRECTOR and grant.user_id == by.id and _other_directors(grant) == 0:
        raise Conflict(
            _(
                "Vous êtes la seule personne à la direction de %(name)s : nommez d'abord une autre "
                "personne à la direction avant de vous retirer.",
                name=partner.name,
            )
        )
    record_event(
        EventKind.ROLE_REVOKED,
        actor_id=by.id,
        consortium_id=partner.consortium_id,
        partner_id=partner.id,
        user=grant.user.email,
        partner=partner.code,
        old=grant.role.value,
    )
    db.session.delete(grant)
    db.session.flush()
