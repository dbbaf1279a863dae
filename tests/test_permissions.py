"""The access predicates of app/permissions.py, role by role."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask_login import AnonymousUserMixin
from sqlalchemy import select

from app.auth.models import User
from app.consortia.models import Consortium, Partner, Role, RoleGrant
from app.consortia.services import grant_role, partner_by_code
from app.extensions import db
from app.permissions import (
    can_edit_partner_figures,
    can_edit_section_part,
    can_export_consortium,
    can_invite,
    can_manage_consortium,
    can_manage_partner_people,
    can_sign_off,
    can_view_consortium,
    grant_of,
    invitable_roles,
    is_admin,
    partner_acted_for,
)
from app.sections.models import Section, SectionPart
from tests.factories import make_consortium, make_member, make_user

OWN = "plie-sevran"  # the partner the director and the contributor act for
OTHER = "mde-aulnay"  # another member of the same consortium
LEAD = "urtie-idf"


@dataclass
class World:
    consortium: Consortium
    people: dict[str, Any]

    def partner(self, code: str) -> Partner:
        found = partner_by_code(self.consortium, code)
        assert found is not None
        return found

    def part(self, code: str | None) -> SectionPart:
        """A text part of a section: the shared one (None) or a partner's."""
        section = db.session.scalars(
            select(Section).where(Section.consortium_id == self.consortium.id, Section.code == "diagnostic")
        ).one()
        partner_id = self.partner(code).id if code else None
        part = next((part for part in section.parts if part.partner_id == partner_id), None)
        if part is None:
            part = SectionPart(section=section, partner_id=partner_id)
            db.session.add(part)
            db.session.flush()
        return part


@pytest.fixture
def world(app: Flask) -> World:
    consortium = make_consortium()
    elsewhere = make_consortium(slug="autre-consortium")
    people: dict[str, Any] = {
        "coordinator": make_member(consortium, Role.COORDINATOR, LEAD),
        "director": make_member(consortium, Role.DIRECTOR, OWN),
        "contributor": make_member(consortium, Role.CONTRIBUTOR, OWN),
        "reader": make_member(consortium, Role.READER),
        "admin": make_user("admin@exemple.fr", admin=True),
        "outsider": make_user("dehors@exemple.fr"),
        "coordinator elsewhere": make_member(
            elsewhere, Role.COORDINATOR, LEAD, email="coordination@autre.example"
        ),
        "anonymous": AnonymousUserMixin(),
    }
    return World(consortium, people)


ROLES = [
    "coordinator",
    "director",
    "contributor",
    "reader",
    "admin",
    "outsider",
    "coordinator elsewhere",
    "anonymous",
]

# Who may do what; each row lists the people allowed, everyone else is refused.
EXPECTED: dict[str, tuple[Callable[[World, Any], bool], set[str]]] = {
    "view the consortium": (
        lambda w, u: can_view_consortium(u, w.consortium),
        {"coordinator", "director", "contributor", "reader", "admin"},
    ),
    "manage the consortium": (lambda w, u: can_manage_consortium(u, w.consortium), {"coordinator", "admin"}),
    "export the exchange file": (
        lambda w, u: can_export_consortium(u, w.consortium),
        {"coordinator", "admin"},
    ),
    "edit its own partner's figures": (
        lambda w, u: can_edit_partner_figures(u, w.partner(OWN)),
        {"coordinator", "director", "contributor", "admin"},
    ),
    "edit another partner's figures": (
        lambda w, u: can_edit_partner_figures(u, w.partner(OTHER)),
        {"coordinator", "admin"},
    ),
    "sign off its own partner's figures": (lambda w, u: can_sign_off(u, w.partner(OWN)), {"director"}),
    "sign off another partner's figures": (lambda w, u: can_sign_off(u, w.partner(OTHER)), set()),
    "manage its own partner's people": (
        lambda w, u: can_manage_partner_people(u, w.partner(OWN)),
        {"coordinator", "director", "admin"},
    ),
    "manage another partner's people": (
        lambda w, u: can_manage_partner_people(u, w.partner(OTHER)),
        {"coordinator", "admin"},
    ),
    "edit its own partner's part of a section": (
        lambda w, u: can_edit_section_part(u, w.part(OWN)),
        {"coordinator", "director", "contributor", "admin"},
    ),
    "edit another partner's part of a section": (
        lambda w, u: can_edit_section_part(u, w.part(OTHER)),
        {"coordinator", "admin"},
    ),
    "edit the shared text of a section": (
        lambda w, u: can_edit_section_part(u, w.part(None)),
        {"coordinator", "admin"},
    ),
    "invite a colleague to its own partner": (
        lambda w, u: (
            can_invite(u, w.consortium, Role.CONTRIBUTOR, w.partner(OWN))
            and can_invite(u, w.consortium, Role.DIRECTOR, w.partner(OWN))
        ),
        {"coordinator", "director", "admin"},
    ),
    "invite someone to another partner": (
        lambda w, u: can_invite(u, w.consortium, Role.CONTRIBUTOR, w.partner(OTHER)),
        {"coordinator", "admin"},
    ),
    "invite a reader or a coordinator": (
        lambda w, u: (
            can_invite(u, w.consortium, Role.READER, None)
            and can_invite(u, w.consortium, Role.COORDINATOR, None)
        ),
        {"coordinator", "admin"},
    ),
}


@pytest.mark.parametrize("role", ROLES)
def test_each_role_may_do_exactly_what_it_is_meant_to(world: World, role: str) -> None:
    person = world.people[role]
    wrong = [
        f"{action}: {'allowed' if not expected else 'refused'}"
        for action, (predicate, allowed) in EXPECTED.items()
        if predicate(world, person) is not (expected := role in allowed)
    ]
    assert wrong == []


def test_reader_may_only_read(world: World) -> None:
    reader = world.people["reader"]
    allowed = [action for action, (predicate, _) in EXPECTED.items() if predicate(world, reader)]
    assert allowed == ["view the consortium"]


def test_admin_flag_is_what_makes_an_admin(world: World) -> None:
    assert is_admin(world.people["admin"])
    assert not is_admin(world.people["coordinator"])
    assert not is_admin(world.people["anonymous"])


def test_a_role_in_one_consortium_gives_nothing_in_another(world: World) -> None:
    coordinator = world.people["coordinator elsewhere"]
    assert grant_of(coordinator, world.consortium) is None
    assert not any(predicate(world, coordinator) for predicate, _ in EXPECTED.values())


def test_changed_role_counts_at_once_outside_requests(world: World) -> None:
    """In the CLI or a test (one app context, no request) nothing is cached between checks."""
    contributor: User = world.people["contributor"]
    assert not can_sign_off(contributor, world.partner(OWN))
    grant_role(contributor, world.consortium, Role.DIRECTOR, world.partner(OWN))
    assert can_sign_off(contributor, world.partner(OWN))
    db.session.delete(grant_of(contributor, world.consortium))
    db.session.flush()
    assert not can_view_consortium(contributor, world.consortium)


def test_role_is_looked_up_once_per_request(world: World, app: Flask, count_queries: Any) -> None:
    director: User = world.people["director"]
    partner = world.partner(OWN)
    with app.test_request_context("/"):
        count_queries.statements.clear()
        for _ in range(5):
            assert can_edit_partner_figures(director, partner)
            assert can_sign_off(director, partner)
        grant_lookups = [s for s in count_queries.statements if "role_grants" in s]
        assert len(grant_lookups) == 1


def test_role_changed_during_a_request_counts_for_the_rest_of_it(world: World, app: Flask) -> None:
    director: User = world.people["director"]
    partner = world.partner(OWN)
    with app.test_request_context("/"):
        assert can_sign_off(director, partner)
        grant_role(director, world.consortium, Role.READER)
        assert not can_sign_off(director, partner)
        assert not can_edit_partner_figures(director, partner)
        grant = db.session.scalars(select(RoleGrant).where(RoleGrant.user_id == director.id)).one()
        db.session.delete(grant)
        db.session.flush()
        assert not can_view_consortium(director, world.consortium)


def test_the_roles_one_may_invite_to_are_offered_by_role(world: World) -> None:
    offered = {role: invitable_roles(world.people[role], world.consortium) for role in ROLES}

    everything = [Role.CONTRIBUTOR, Role.DIRECTOR, Role.READER, Role.COORDINATOR]
    assert offered["coordinator"] == offered["admin"] == everything
    assert offered["director"] == [Role.CONTRIBUTOR, Role.DIRECTOR]
    assert all(offered[role] == [] for role in ROLES if role not in ("coordinator", "admin", "director"))


def test_the_partner_acted_for_is_that_of_its_director_and_contributors_only(world: World) -> None:
    acted_for = {role: partner_acted_for(world.people[role], world.consortium) for role in ROLES}

    assert acted_for["director"] == acted_for["contributor"] == world.partner(OWN)
    # Coordinators act for the whole consortium, though their role is held through the lead partner.
    assert all(acted_for[role] is None for role in ROLES if role not in ("director", "contributor"))
