"""Who may do what: the one place where access decisions are made."""

from __future__ import annotations

from flask import g, has_app_context
from sqlalchemy import select

from app.auth.models import User
from app.consortia.models import Consortium, Partner, Role, RoleGrant
from app.extensions import db


def grant_of(user: User, consortium: Consortium) -> RoleGrant | None:
    """The user's role in the consortium, if any (looked up once per request)."""
    if not user.is_authenticated:
        return None
    cache: dict[tuple[int, int], RoleGrant | None] = (
        g.setdefault("role_grants", {}) if has_app_context() else {}
    )
    key = (user.id, consortium.id)
    if key not in cache:
        cache[key] = db.session.scalar(
            select(RoleGrant).where(RoleGrant.user_id == user.id, RoleGrant.consortium_id == consortium.id)
        )
    return cache[key]


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
    """Only the partner's director certifies its figures."""
    return _acts_for(user, partner, Role.DIRECTOR)


def can_manage_partner_people(user: User, partner: Partner) -> bool:
    """Coordinators manage everyone; a director manages the people of its own partner."""
    return can_manage_consortium(user, partner.consortium) or _acts_for(user, partner, Role.DIRECTOR)
