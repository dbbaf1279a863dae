"""Services of the partners: people of a partner, withdrawal, reinstatement and the lead hand-over."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from app.audit import AuditEvent
from app.auth.models import User
from app.budget.services import consolidation_of
from app.consortia.models import Consortium, Partner, PartnerStatus, Role, RoleGrant
from app.consortia.services import partner_by_code
from app.errors import Conflict, Invalid, NotAllowed, NotFound
from app.extensions import db
from app.mail.models import OutboxMessage
from app.members import services, withdrawal
from tests.factories import make_consortium, make_member

OWN = "plie-sevran"
OTHER = "mde-aulnay"
LEAD = "urtie-idf"


@pytest.fixture
def consortium() -> Consortium:
    return make_consortium()


def partner(consortium: Consortium, code: str) -> Partner:
    found = partner_by_code(consortium, code)
    assert found is not None
    return found


def grant_of(user: User) -> RoleGrant:
    return db.session.scalars(select(RoleGrant).where(RoleGrant.user_id == user.id)).one()


def events(kind: str) -> list[dict[str, Any]]:
    # `partner_id` (the event's partner, also copied into its data) is checked by tests/activity.
    rows = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == kind))
    return [{key: value for key, value in event.data.items() if key != "partner_id"} for event in rows]


def outbox() -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.to)))


@pytest.fixture
def people(consortium: Consortium) -> dict[str, User]:
    """A coordinator, two directors of the own partner, a contributor, and another partner's director."""
    return {
        "coordinator": make_member(consortium, Role.COORDINATOR, LEAD, email="coord@exemple.fr"),
        "director": make_member(consortium, Role.DIRECTOR, OWN, email="dir@exemple.fr"),
        "co_director": make_member(consortium, Role.DIRECTOR, OWN, email="codir@exemple.fr"),
        "contributor": make_member(consortium, Role.CONTRIBUTOR, OWN, email="contrib@exemple.fr"),
        "other_director": make_member(consortium, Role.DIRECTOR, OTHER, email="autre@exemple.fr"),
    }


# --- people --------------------------------------------------------------------------------------


def test_director_promotes_a_contributor_of_its_own_partner(people: dict[str, User]) -> None:
    grant = grant_of(people["contributor"])

    assert services.change_role(grant, Role.DIRECTOR, by=people["director"]) is True

    assert grant.role == Role.DIRECTOR
    assert events("role.changed") == [
        {"user": "contrib@exemple.fr", "partner": OWN, "old": "contributor", "new": "director"}
    ]


def test_changing_to_the_same_role_changes_nothing(people: dict[str, User]) -> None:
    assert (
        services.change_role(grant_of(people["contributor"]), Role.CONTRIBUTOR, by=people["director"])
        is False
    )
    assert events("role.changed") == []


def test_director_cannot_manage_another_partners_people(people: dict[str, User]) -> None:
    grant = grant_of(people["other_director"])

    with pytest.raises(NotAllowed):
        services.change_role(grant, Role.CONTRIBUTOR, by=people["director"])
    with pytest.raises(NotAllowed):
        services.remove_person(grant, by=people["director"])

    assert grant.role == Role.DIRECTOR
    assert events("role.changed") == events("role.revoked") == []


def test_contributor_cannot_manage_people(people: dict[str, User]) -> None:
    with pytest.raises(NotAllowed):
        services.change_role(grant_of(people["director"]), Role.CONTRIBUTOR, by=people["contributor"])


def test_coordinator_manages_every_partners_people(people: dict[str, User]) -> None:
    assert services.change_role(
        grant_of(people["other_director"]), Role.CONTRIBUTOR, by=people["coordinator"]
    )
    services.remove_person(grant_of(people["contributor"]), by=people["coordinator"])

    assert grant_of(people["other_director"]).role == Role.CONTRIBUTOR


def test_only_direction_and_contribution_are_given_here(people: dict[str, User]) -> None:
    with pytest.raises(Invalid):
        services.change_role(grant_of(people["contributor"]), Role.COORDINATOR, by=people["coordinator"])
    with pytest.raises(NotAllowed, match="coordination ne se gère pas ici"):
        services.change_role(grant_of(people["coordinator"]), Role.DIRECTOR, by=people["coordinator"])


def test_last_director_cannot_demote_or_remove_themself(consortium: Consortium) -> None:
    director = make_member(consortium, Role.DIRECTOR, OTHER, email="seule@exemple.fr")
    grant = grant_of(director)

    with pytest.raises(Conflict, match="seule personne à la direction"):
        services.change_role(grant, Role.CONTRIBUTOR, by=director)
    with pytest.raises(Conflict, match="seule personne à la direction"):
        services.remove_person(grant, by=director)

    assert grant.role == Role.DIRECTOR
    assert db.session.get(RoleGrant, grant.id) is not None


def test_a_director_with_a_co_director_may_step_down(people: dict[str, User]) -> None:
    assert services.change_role(grant_of(people["director"]), Role.CONTRIBUTOR, by=people["director"])


def test_removing_a_person_keeps_their_account_and_records_the_old_role(people: dict[str, User]) -> None:
    contributor = people["contributor"]
    grant = grant_of(contributor)

    services.remove_person(grant, by=people["director"])
    db.session.commit()

    assert db.session.scalar(select(RoleGrant).where(RoleGrant.user_id == contributor.id)) is None
    assert db.session.get(User, contributor.id) is not None
    assert events("role.revoked") == [{"user": "contrib@exemple.fr", "partner": OWN, "old": "contributor"}]


def test_a_grant_is_found_only_under_its_own_partner(consortium: Consortium, people: dict[str, User]) -> None:
    with pytest.raises(NotFound):
        services.grant_in(partner(consortium, OWN), grant_of(people["other_director"]).id)


# --- withdrawal ----------------------------------------------------------------------------------


def test_director_withdraws_its_partner_out_of_the_totals_keeping_its_figures(
    consortium: Consortium, people: dict[str, User]
) -> None:
    sevran = partner(consortium, OWN)
    before = consolidation_of(consortium).consolidation
    own_totals = next(row for row in before.partners if row.id == OWN)

    assert withdrawal.withdraw_partner(sevran, by=people["director"], reason="  Fusion avec un autre PLIE  ")
    db.session.commit()

    assert sevran.status == PartnerStatus.WITHDRAWN
    assert sevran.withdrawn_reason == "Fusion avec un autre PLIE"
    assert sevran.withdrawn_by_id == people["director"].id
    assert sevran.withdrawn_at is not None
    after = consolidation_of(consortium).consolidation
    assert after.total_cost == before.total_cost - own_totals.total_expenses
    assert after.participants == before.participants - own_totals.participants
    kept = next(row for row in after.partners if row.id == OWN)
    assert kept.total_expenses == own_totals.total_expenses  # everything it entered stays
    assert events("partner.withdrawn") == [
        {"partner": OWN, "old": "active", "new": "withdrawn", "reason": "Fusion avec un autre PLIE"}
    ]


def test_withdrawal_mails_the_partners_directors_and_the_coordinators(
    consortium: Consortium, people: dict[str, User]
) -> None:
    withdrawal.withdraw_partner(partner(consortium, OWN), by=people["director"], reason="Fusion")

    messages = outbox()
    assert [m.to for m in messages] == ["codir@exemple.fr", "coord@exemple.fr", "dir@exemple.fr"]
    assert all(m.kind == "partner.withdrawn" for m in messages)
    assert messages[0].subject == f"PLIE de Sevran s'est retiré du consortium {consortium.title}"
    assert "Raison indiquée : Fusion" in messages[0].text_body
    assert f"/consortia/{consortium.slug}/membres" in messages[0].text_body
    assert "ne comptent plus dans les totaux" in messages[0].html_body


def test_withdrawing_twice_changes_nothing_the_second_time(
    consortium: Consortium, people: dict[str, User]
) -> None:
    sevran = partner(consortium, OWN)
    assert withdrawal.withdraw_partner(sevran, by=people["director"], reason="Première raison")
    db.session.commit()

    assert withdrawal.withdraw_partner(sevran, by=people["coordinator"], reason="Seconde raison") is False

    assert sevran.withdrawn_reason == "Première raison"
    assert len(events("partner.withdrawn")) == 1
    assert len(outbox()) == 3


def test_a_stale_second_withdrawal_updates_nothing(consortium: Consortium, people: dict[str, User]) -> None:
    """Two tabs: the second request loaded the partner while it was still active."""
    sevran = partner(consortium, OWN)
    db.session.execute(
        Partner.__table__.update()
        .where(Partner.id == sevran.id)
        .values(status="withdrawn", withdrawn_reason="Déjà")
    )

    assert sevran.is_active  # the stale in-memory state
    assert withdrawal.withdraw_partner(sevran, by=people["director"], reason="Encore") is False
    assert sevran.withdrawn_reason == "Déjà"
    assert events("partner.withdrawn") == []


@pytest.mark.parametrize("reason", ["", "   ", "\n\t"])
def test_withdrawal_needs_a_reason(consortium: Consortium, people: dict[str, User], reason: str) -> None:
    sevran = partner(consortium, OWN)

    with pytest.raises(Invalid, match="Indiquez la raison du retrait"):
        withdrawal.withdraw_partner(sevran, by=people["director"], reason=reason)

    assert sevran.is_active


def test_the_lead_cannot_withdraw(consortium: Consortium, people: dict[str, User]) -> None:
    with pytest.raises(NotAllowed, match="Le chef de file ne peut pas se retirer"):
        withdrawal.withdraw_partner(partner(consortium, LEAD), by=people["coordinator"], reason="Raison")

    assert partner(consortium, LEAD).is_active


@pytest.mark.parametrize("who", ["contributor", "other_director"])
def test_only_the_partners_director_or_the_coordinator_withdraws_it(
    consortium: Consortium, people: dict[str, User], who: str
) -> None:
    with pytest.raises(NotAllowed):
        withdrawal.withdraw_partner(partner(consortium, OWN), by=people[who], reason="Raison")

    assert partner(consortium, OWN).is_active


def test_coordinator_withdraws_any_partner_and_reinstates_it(
    consortium: Consortium, people: dict[str, User]
) -> None:
    aulnay = partner(consortium, OTHER)
    total = consolidation_of(consortium).consolidation.total_cost
    withdrawal.withdraw_partner(aulnay, by=people["coordinator"], reason="Plus de financement")
    db.session.commit()
    db.session.query(OutboxMessage).delete()

    assert withdrawal.reinstate_partner(aulnay, by=people["coordinator"]) is True
    db.session.commit()

    assert aulnay.is_active
    assert aulnay.withdrawn_reason == ""
    assert aulnay.withdrawn_at is None
    assert consolidation_of(consortium).consolidation.total_cost == total
    assert events("partner.reinstated") == [
        {"partner": OTHER, "old": "withdrawn", "new": "active", "withdrawn_reason": "Plus de financement"}
    ]
    assert [m.to for m in outbox()] == ["autre@exemple.fr", "coord@exemple.fr"]
    assert withdrawal.reinstate_partner(aulnay, by=people["coordinator"]) is False


def test_only_the_coordinator_reinstates(consortium: Consortium, people: dict[str, User]) -> None:
    sevran = partner(consortium, OWN)
    withdrawal.withdraw_partner(sevran, by=people["director"], reason="Raison")

    with pytest.raises(NotAllowed, match="Seule la coordination peut réintégrer"):
        withdrawal.reinstate_partner(sevran, by=people["director"])

    assert not sevran.is_active


# --- lead ----------------------------------------------------------------------------------------


def test_coordinator_hands_the_lead_over_and_keeps_their_role(
    consortium: Consortium, people: dict[str, User]
) -> None:
    urtie, aulnay = partner(consortium, LEAD), partner(consortium, OTHER)

    assert withdrawal.hand_over_lead(consortium, aulnay, by=people["coordinator"]) is True
    db.session.commit()

    assert consortium.lead_partner_id == aulnay.id
    coordinator_grant = grant_of(people["coordinator"])
    assert coordinator_grant.role == Role.COORDINATOR
    assert coordinator_grant.partner_id == urtie.id
    assert events("consortium.lead_changed") == [{"old": LEAD, "new": OTHER}]
    assert [m.to for m in outbox()] == ["autre@exemple.fr", "coord@exemple.fr"]
    # The former lead may now withdraw; the new lead may not.
    assert withdrawal.withdraw_partner(urtie, by=people["coordinator"], reason="Passe la main")
    with pytest.raises(NotAllowed):
        withdrawal.withdraw_partner(aulnay, by=people["coordinator"], reason="Raison")


def test_a_withdrawn_partner_cannot_become_lead(consortium: Consortium, people: dict[str, User]) -> None:
    sevran = partner(consortium, OWN)
    withdrawal.withdraw_partner(sevran, by=people["director"], reason="Raison")

    with pytest.raises(Invalid, match="Un membre retiré ne peut pas devenir chef de file"):
        withdrawal.hand_over_lead(consortium, sevran, by=people["coordinator"])

    assert sevran not in withdrawal.lead_candidates(consortium)
    assert partner(consortium, LEAD) not in withdrawal.lead_candidates(consortium)
    assert len(withdrawal.lead_candidates(consortium)) == 10


def test_only_the_coordinator_hands_the_lead_over(consortium: Consortium, people: dict[str, User]) -> None:
    with pytest.raises(NotAllowed):
        withdrawal.hand_over_lead(consortium, partner(consortium, OWN), by=people["director"])

    assert consortium.lead_partner_id == partner(consortium, LEAD).id


def test_handing_the_lead_to_the_lead_changes_nothing(
    consortium: Consortium, people: dict[str, User]
) -> None:
    assert withdrawal.hand_over_lead(consortium, partner(consortium, LEAD), by=people["coordinator"]) is False
    assert events("consortium.lead_changed") == []


def test_a_partner_of_another_consortium_cannot_become_lead(
    consortium: Consortium, people: dict[str, User]
) -> None:
    elsewhere = make_consortium(3, slug="autre")

    with pytest.raises(NotFound):
        withdrawal.hand_over_lead(
            consortium, partner(elsewhere, "mde-plaine-commune"), by=people["coordinator"]
        )


# --- the partners page data ----------------------------------------------------------------------


def test_members_page_lists_every_partner_with_its_people_and_figures(
    consortium: Consortium, people: dict[str, User]
) -> None:
    page = services.members_page(consortium)
    rows = {row.partner.code: row for row in page.rows}

    assert len(rows) == 12
    assert page.active_count == 12
    assert {g.user.email for g in rows[OWN].people} == {
        "dir@exemple.fr",
        "codir@exemple.fr",
        "contrib@exemple.fr",
    }
    assert [g.role for g in rows[OWN].people] == [Role.DIRECTOR, Role.DIRECTOR, Role.CONTRIBUTOR]
    assert [g.user.email for g in rows[LEAD].people] == ["coord@exemple.fr"]
    assert rows[OWN].totals.participants > 0
    assert sum(d.participants for d in page.map.departements) + page.map.elsewhere_participants == (
        page.state.consolidation.participants
    )
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_markup_in_a_partner_name_is_escaped_in_the_html_mail_and_literal_in_the_text(
    consortium: Consortium, people: dict[str, User]
) -> None:
    sevran = partner(consortium, OWN)
    sevran.organisation.rename('"><script>alert(1)</script> {{7*7}}')

    withdrawal.withdraw_partner(sevran, by=people["director"], reason="<b>Fusion</b>")

    message = outbox()[0]
    assert "<script>" not in message.html_body
    assert "<b>Fusion</b>" not in message.html_body
    assert "&lt;script&gt;" in message.html_body
    assert "{{7*7}}" in message.html_body
    assert "« \"><script>alert(1)</script> {{7*7}} » s'est retiré" in message.text_body
    assert "Raison indiquée : <b>Fusion</b>" in message.text_body
