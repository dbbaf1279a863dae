"""Who may do what: the one place where access decisions are made."""

from __future__ import annotations

from typing import Any

from flask import g, has_request_context
from sqlalchemy import event, select

from app.auth.models import User
from app.consortia.models import PARTNER_ROLES, Consortium, Invitation, Partner, Role, RoleGrant
from app.extensions import db
from app.sections.models import SectionPart, SectionStatus


def grant_of(user: User, consortium: Consortium) -> RoleGrant | None:
    """The user's role in the consortium, if any (looked up once per request)."""
    if not user.is_authenticated:
        return None
    # Cached for one request only: an app context (CLI, tests) lives through role changes.
    cache: dict[tuple[int, int], RoleGrant | None] = (
        g.setdefault("role_grants", {}) if has_request_context() else {}
    )
    key = (user.id, consortium.id)
    if key not in cache:
        cache[key] = db.session.scalar(
            select(RoleGrant).where(RoleGrant.user_id == user.id, RoleGrant.consortium_id == consortium.id)
        )
    return cache[key]


def remember_grant(user: User, consortium: Consortium, grant: RoleGrant | None) -> None:
    """The user's role, loaded with the consortium (one query for both): `grant_of` reads it."""
    if user.is_authenticated and has_request_context():
        g.setdefault("role_grants", {})[(user.id, consortium.id)] = grant


@event.listens_for(RoleGrant, "after_insert")
@event.listens_for(RoleGrant, "after_update")
@event.listens_for(RoleGrant, "after_delete")
def _forget_grants(*_args: Any) -> None:
    # A role granted or revoked during a request counts for the rest of that request.
    if has_request_context():
        g.pop("role_grants", None)


def _has_role(user: User, consortium: Consortium, *roles: Role) -> bool:
    grant = grant_of(user, consortium)
    return grant is not None and grant.role in roles


def is_admin(user: User) -> bool:
    """Platform administrators see and manage every consortium."""
    return bool(user.is_authenticated and user.is_admin)


def can_view_consortium(user: User, consortium: Consortium) -> bool:
    """Admins and anyone with a role in the consortium may read it."""
    return is_admin(user) or grant_of(user, consortium) is not None


def can_manage_consortium(user: User, consortium: Consortium) -> bool:
    """Coordinators (and admins) manage everything in the consortium."""
    return is_admin(user) or _has_role(user, consortium, Role.COORDINATOR)


def can_export_consortium(user: User, consortium: Consortium) -> bool:
    """The exchange document (every figure and text) is for coordinators and admins."""
    return can_manage_consortium(user, consortium)


def _acts_for(user: User, partner: Partner, *roles: Role) -> bool:
    grant = grant_of(user, partner.consortium)
    return grant is not None and grant.partner_id == partner.id and grant.role in roles


def can_edit_partner_figures(user: User, partner: Partner) -> bool:
    """Coordinators edit every partner's figures; a partner's director and contributors edit its own."""
    return can_manage_consortium(user, partner.consortium) or _acts_for(
        user, partner, Role.DIRECTOR, Role.CONTRIBUTOR
    )


def can_sign_off(user: User, partner: Partner) -> bool:
    """Only the partner's director certifies its figures (no coordinator or admin signs for it)."""
    return _acts_for(user, partner, Role.DIRECTOR)


def can_manage_partner_people(user: User, partner: Partner) -> bool:
    """Coordinators manage everyone; a director manages the people of its own partner."""
    return can_manage_consortium(user, partner.consortium) or _acts_for(user, partner, Role.DIRECTOR)


def can_edit_section_part(user: User, part: SectionPart) -> bool:
    """Coordinators edit every text; a partner's director and contributors edit that partner's parts."""
    consortium = part.section.consortium
    if can_manage_consortium(user, consortium):
        return True
    if part.partner_id is None:
        return False
    grant = grant_of(user, consortium)
    return (
        grant is not None
        and grant.partner_id == part.partner_id
        and grant.role
        in (
            Role.DIRECTOR,
            Role.CONTRIBUTOR,
        )
    )


def texts_rights(user: User, consortium: Consortium) -> tuple[bool, int | None]:
    """What decides which of the consortium's texts a person may edit and move along: coordinating,
    or the partner whose parts they write. Pages of texts are the same for all who share it."""
    if can_manage_consortium(user, consortium):
        return True, None
    grant = grant_of(user, consortium)
    writes_for = (
        grant.partner_id if grant is not None and grant.role in (Role.DIRECTOR, Role.CONTRIBUTOR) else None
    )
    return False, writes_for


def can_set_part_status(user: User, part: SectionPart, status: SectionStatus) -> bool:
    """Writers move their text along; only the coordination validates or takes a validation back.

    `part` may be unsaved (nobody has written it yet); the shared part's status is its section's.
    """
    section = part.section
    current = section.status if part.partner_id is None else part.status
    if SectionStatus.VALIDATED in (status, current):
        return can_manage_consortium(user, section.consortium)
    return can_edit_section_part(user, part)


def can_open_consortium(user: User) -> bool:
    """Admins, and people who already coordinate a consortium (the regional union), open new ones."""
    if is_admin(user):
        return True
    if not user.is_authenticated:
        return False
    return (
        db.session.scalar(
            select(RoleGrant.id)
            .where(RoleGrant.user_id == user.id, RoleGrant.role == Role.COORDINATOR)
            .limit(1)
        )
        is not None
    )


def can_withdraw_partner(user: User, partner: Partner) -> bool:
    """The coordinator withdraws any member; a director withdraws its own partner; the lead never."""
    if partner.consortium.lead_partner_id == partner.id:
        return False
    return can_manage_consortium(user, partner.consortium) or _acts_for(user, partner, Role.DIRECTOR)


def can_invite_colleagues(user: User, partner: Partner) -> bool:
    """A director invites colleagues of its own partner; coordinators invite anyone."""
    return can_manage_partner_people(user, partner)


def invitable_roles(user: User, consortium: Consortium) -> list[Role]:
    """Coordinators invite to every role; a partner's director invites colleagues (director, contributor)."""
    if can_manage_consortium(user, consortium):
        return [Role.CONTRIBUTOR, Role.DIRECTOR, Role.READER, Role.COORDINATOR]
    if _has_role(user, consortium, Role.DIRECTOR) and partner_acted_for(user, consortium) is not None:
        return list(reversed(PARTNER_ROLES))
    return []


def can_invite(user: User, consortium: Consortium, role: Role, partner: Partner | None) -> bool:
    """Whether the user may invite someone to this role (a partner's roles: for that partner)."""
    if role not in invitable_roles(user, consortium):
        return False
    if role not in PARTNER_ROLES:
        return True  # reading and coordination belong to the whole consortium
    return partner is not None and can_invite_colleagues(user, partner)


def partner_acted_for(user: User, consortium: Consortium) -> Partner | None:
    """The partner whose director or contributor the user is; None for coordinators, readers and admins."""
    grant = grant_of(user, consortium)
    if grant is None or grant.partner_id is None or grant.role not in PARTNER_ROLES:
        return None
    return grant.partner


def can_view_outbox(user: User) -> bool:
    """The outbox (every e-mail sent, failures included) is for platform administrators."""
    return is_admin(user)


def can_view_invitations(user: User, consortium: Consortium) -> bool:
    """Coordinators see every invitation of the consortium; a director sees those of its own partner."""
    if can_manage_consortium(user, consortium):
        return True
    grant = grant_of(user, consortium)
    return grant is not None and grant.role == Role.DIRECTOR and grant.partner_id is not None


def can_manage_invitation(user: User, invitation: Invitation) -> bool:
    """Coordinators revoke and re-send any invitation; a director those of colleagues of its partner."""
    if can_manage_consortium(user, invitation.consortium):
        return True
    partner = invitation.partner
    return (
        partner is not None
        and invitation.organisation_name is None
        and invitation.volunteer_request_id is None
        and invitation.role in PARTNER_ROLES
        and can_invite_colleagues(user, partner)
    )


def can_view_annexes(user: User, consortium: Consortium) -> bool:
    """Annexes belong to the shared dossier: everyone who reads the consortium sees and downloads them."""
    return can_view_consortium(user, consortium)


def can_upload_annex(user: User, partner: Partner) -> bool:
    """Coordinators upload for any partner, a partner's director and contributors for their own; no reader."""
    return can_manage_consortium(user, partner.consortium) or _acts_for(
        user, partner, Role.DIRECTOR, Role.CONTRIBUTOR
    )


def can_set_required_annexes(user: User, consortium: Consortium) -> bool:
    """Which annexes every partner must provide is decided by the coordination."""
    return can_manage_consortium(user, consortium)


def can_coordinate(user: User, consortium: Consortium) -> bool:
    """The coordination board, milestones and reminders are for coordinators (and admins)."""
    return can_manage_consortium(user, consortium)


def can_export_dossier(user: User, consortium: Consortium) -> bool:
    """The dossier's PDF, its preview and the consolidated workbook: everyone who reads the consortium."""
    return can_view_consortium(user, consortium)


def can_freeze_dossier(user: User, consortium: Consortium) -> bool:
    """Freezing the version filed with the funder is the coordination's act."""
    return can_manage_consortium(user, consortium)


def can_view_activity(user: User, consortium: Consortium) -> bool:
    """Coordinators see the whole activity log; a partner's director and contributors see their partner's."""
    if can_manage_consortium(user, consortium):
        return True
    grant = grant_of(user, consortium)
    return (
        grant is not None and grant.partner_id is not None and grant.role in (Role.DIRECTOR, Role.CONTRIBUTOR)
    )


def can_choose_notifications(user: User) -> bool:
    """Every signed-in person chooses how they hear of things."""
    return bool(user.is_authenticated)


def can_make_final_dossier(user: User, consortium: Consortium) -> bool:
    """Marking the dossier final (no watermark) is the coordination's call; readers get the draft."""
    return can_manage_consortium(user, consortium)
