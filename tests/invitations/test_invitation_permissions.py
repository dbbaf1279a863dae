"""Who sees and manages invitations: the predicates of the invitation pages."""

from __future__ import annotations

import pytest

from app.consortia.models import Consortium, Role
from app.consortia.services import partner_by_code
from app.invitations import services as invitations
from app.permissions import can_manage_invitation, can_view_invitations
from tests.factories import make_consortium, make_member, make_user


@pytest.fixture
def consortium() -> Consortium:
    return make_consortium()


@pytest.mark.parametrize(
    ("role", "partner", "allowed"),
    [
        (Role.COORDINATOR, "urtie-idf", True),
        (Role.DIRECTOR, "plie-sevran", True),
        (Role.CONTRIBUTOR, "plie-sevran", False),
        (Role.READER, None, False),
    ],
)
def test_coordinators_and_directors_view_invitations(
    consortium: Consortium, role: Role, partner: str | None, allowed: bool
) -> None:
    assert can_view_invitations(make_member(consortium, role, partner), consortium) is allowed


def test_admins_view_invitations_and_outsiders_do_not(consortium: Consortium) -> None:
    assert can_view_invitations(make_user("admin@exemple.fr", admin=True), consortium)
    assert not can_view_invitations(make_user("autre@exemple.fr"), consortium)


def test_a_director_manages_invitations_of_its_colleagues_only(consortium: Consortium) -> None:
    coordinator = make_member(consortium, Role.COORDINATOR, "urtie-idf")
    director = make_member(consortium, Role.DIRECTOR, "plie-sevran")
    other_director = make_member(consortium, Role.DIRECTOR, "atout-plie")
    colleague = invitations.invite_person(
        consortium,
        role=Role.CONTRIBUTOR,
        email="c@exemple.fr",
        name="C",
        partner=partner_by_code(consortium, "plie-sevran"),
        by=director,
    )
    reader = invitations.invite_person(
        consortium, role=Role.READER, email="r@exemple.fr", name="R", by=coordinator
    )
    organisation = invitations.invite_organisation(
        consortium,
        organisation_name="PLIE X",
        departement="77",
        name="X",
        email="x@exemple.fr",
        by=coordinator,
    )
    assert can_manage_invitation(director, colleague)
    assert can_manage_invitation(coordinator, colleague)
    assert not can_manage_invitation(other_director, colleague)
    assert not can_manage_invitation(director, reader)
    assert not can_manage_invitation(director, organisation)
    assert can_manage_invitation(coordinator, organisation)
