"""Invitations: who invites whom, single-use hashed links valid 14 days, revoking, re-sending, the list."""

from __future__ import annotations

import hashlib
import html
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from app.audit import AuditEvent
from app.auth.models import User
from app.consortia.models import Consortium, Invitation, PartnerStatus, Role
from app.consortia.services import partner_by_code
from app.consortia.validation import FieldInvalid
from app.errors import Conflict, NotAllowed
from app.extensions import db
from app.invitations import acceptance
from app.invitations import services as invitations
from app.invitations.services import InvitationState
from app.mail.models import OutboxMessage
from tests.factories import csrf_token, login, make_consortium, make_member

LINK = re.compile(r"http://localhost/invitation/([A-Za-z0-9_-]+)")


def body(response: TestResponse) -> str:
    """The text a person reads on the page: no tags, entities decoded, spaces folded."""
    inline = re.sub(r"</?(?:a|b|bdi|code|em|span|strong)\b[^>]*>", "", response.get_data(as_text=True))
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", inline)).split())


def count(model: type[Any]) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def last_token(email: str) -> str:
    """The token of the last invitation e-mail sent to this address."""
    message = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.to == email).order_by(OutboxMessage.id.desc())
    ).first()
    assert message is not None
    found = LINK.search(message.text_body)
    assert found is not None
    return found.group(1)


@pytest.fixture
def consortium() -> Consortium:
    return make_consortium()


@pytest.fixture
def coordinator(consortium: Consortium) -> User:
    return make_member(consortium, Role.COORDINATOR, "urtie-idf", email="coordination@urtie.example")


@pytest.fixture
def director(consortium: Consortium) -> User:
    return make_member(consortium, Role.DIRECTOR, "plie-sevran", email="direction@plie-sevran.example")


def invite_colleague(
    consortium: Consortium, by: User, email: str = "camille@plie-sevran.example"
) -> Invitation:
    return invitations.invite_person(
        consortium,
        role=Role.CONTRIBUTOR,
        email=email,
        name="Camille Martin",
        partner=partner_by_code(consortium, "plie-sevran"),
        by=by,
    )


# --- creating -------------------------------------------------------------------------------------


def test_token_is_random_stored_hashed_and_the_link_lasts_14_days(
    consortium: Consortium, director: User
) -> None:
    before = datetime.now(UTC)
    invitation = invite_colleague(consortium, director)
    token = last_token("camille@plie-sevran.example")
    assert len(token) >= 43
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str([row.data for row in db.session.scalars(select(AuditEvent))]), (
        "the token is never logged"
    )
    assert timedelta(days=14) <= invitation.expires_at - before < timedelta(days=14, minutes=1)
    assert (invitation.send_count, invitation.created_by_id) == (1, director.id)
    assert acceptance.find_invitation(token) == invitation
    assert invitations.invitation_state(invitation) == InvitationState.PENDING


def test_invitation_email_is_in_french_with_the_consortium_and_an_absolute_link(
    consortium: Consortium, director: User
) -> None:
    invite_colleague(consortium, director)
    message = db.session.scalars(select(OutboxMessage)).one()
    assert message.subject == "Invitation à rejoindre le consortium « Cap Remobilisation Île-de-France »"
    assert "director test vous invite à rejoindre le consortium « Cap Remobilisation Île-de-France »" in (
        message.text_body
    )
    assert "au titre de « PLIE de Sevran », avec le rôle « Contribution »" in message.text_body
    assert LINK.search(message.html_body)


def test_coordinator_invites_an_organisation_whose_partner_waits_for_acceptance(
    consortium: Consortium, coordinator: User
) -> None:
    partners = len(consortium.partners)
    invitation = invitations.invite_organisation(
        consortium,
        organisation_name="PLIE de Meaux",
        departement="77",
        name="Paul Durand",
        email="paul@plie-meaux.example",
        message="Nous comptons sur vous !",
        by=coordinator,
    )
    assert (invitation.role, invitation.partner, invitation.organisation_name) == (
        Role.DIRECTOR,
        None,
        "PLIE de Meaux",
    )
    assert invitation.organisation_departement == "77"
    assert len(consortium.partners) == partners
    message = db.session.scalars(select(OutboxMessage)).one()
    assert message.kind == "invitation.organisation"
    assert "invite « PLIE de Meaux » à rejoindre le consortium" in message.text_body
    assert "Nous comptons sur vous !" in message.text_body


def test_inviting_an_organisation_already_member_is_refused(
    consortium: Consortium, coordinator: User
) -> None:
    with pytest.raises(FieldInvalid, match="déjà membre") as caught:
        invitations.invite_organisation(
            consortium,
            organisation_name="plie de sevran",
            departement="93",
            name="X",
            email="x@exemple.fr",
            by=coordinator,
        )
    assert caught.value.field == "organisation_name"


def test_inviting_someone_who_already_has_a_role_is_refused(consortium: Consortium, director: User) -> None:
    with pytest.raises(FieldInvalid, match="a déjà un rôle dans ce consortium") as caught:
        invite_colleague(consortium, director, email="  DIRECTION@plie-sevran.example ")
    assert caught.value.field == "email"
    assert count(Invitation) == 0


def test_inviting_the_same_address_twice_while_pending_is_refused(
    consortium: Consortium, director: User
) -> None:
    invite_colleague(consortium, director)
    with pytest.raises(FieldInvalid, match="renvoyez-la depuis la liste"):
        invite_colleague(consortium, director, email="Camille@Plie-Sevran.example")
    assert count(Invitation) == 1


def test_an_expired_invitation_does_not_block_a_new_one(consortium: Consortium, director: User) -> None:
    first = invite_colleague(consortium, director)
    first.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    assert invite_colleague(consortium, director).id != first.id


def test_a_director_invites_only_colleagues_of_its_own_partner(
    consortium: Consortium, director: User
) -> None:
    with pytest.raises(NotAllowed, match="collègues de votre propre organisation"):
        invitations.invite_person(
            consortium,
            role=Role.CONTRIBUTOR,
            email="x@exemple.fr",
            name="X",
            partner=partner_by_code(consortium, "atout-plie"),
            by=director,
        )
    with pytest.raises(NotAllowed):
        invitations.invite_person(consortium, role=Role.READER, email="x@exemple.fr", name="X", by=director)
    assert count(Invitation) == 0


def test_a_contributor_cannot_invite(consortium: Consortium) -> None:
    contributor = make_member(consortium, Role.CONTRIBUTOR, "plie-sevran")
    with pytest.raises(NotAllowed):
        invite_colleague(consortium, contributor)


def test_coordinator_invites_readers_without_partner_and_coordinators_for_the_lead(
    consortium: Consortium, coordinator: User
) -> None:
    reader = invitations.invite_person(
        consortium,
        role=Role.READER,
        email="obs@financeur.example",
        name="Obs",
        partner=partner_by_code(consortium, "plie-sevran"),
        by=coordinator,
    )
    assert reader.partner is None
    second = invitations.invite_person(
        consortium, role=Role.COORDINATOR, email="adjoint@urtie.example", name="Adjoint", by=coordinator
    )
    assert second.partner is not None
    assert second.partner.code == "urtie-idf"


def test_a_colleague_cannot_be_invited_to_a_withdrawn_partner(
    consortium: Consortium, coordinator: User
) -> None:
    partner = partner_by_code(consortium, "atout-plie")
    assert partner is not None
    partner.status = PartnerStatus.WITHDRAWN
    with pytest.raises(FieldInvalid, match="s'est retiré"):
        invitations.invite_person(
            consortium, role=Role.CONTRIBUTOR, email="x@exemple.fr", name="X", partner=partner, by=coordinator
        )


# --- revoking and re-sending ----------------------------------------------------------------------


def test_revoking_stops_the_link_and_cannot_be_done_twice(consortium: Consortium, director: User) -> None:
    invitation = invite_colleague(consortium, director)
    token = last_token(invitation.email)
    invitations.revoke_invitation(invitation, by=director)
    assert invitations.invitation_state(invitation) == InvitationState.REVOKED
    found = acceptance.find_invitation(token)
    assert found is not None
    with pytest.raises(invitations.InvitationUnusable, match="annulée"):
        acceptance.check_usable(found)
    with pytest.raises(Conflict, match="déjà été annulée"):
        invitations.revoke_invitation(invitation, by=director)
    assert [
        e.kind for e in db.session.scalars(select(AuditEvent).where(AuditEvent.kind.like("invitation.%")))
    ] == [
        "invitation.created",
        "invitation.revoked",
    ]


def test_resending_issues_a_new_link_and_the_old_one_stops_working(
    consortium: Consortium, director: User
) -> None:
    invitation = invite_colleague(consortium, director)
    old = last_token(invitation.email)
    invitation.expires_at = datetime.now(UTC) - timedelta(days=1)  # expired: re-sending renews it

    invitations.resend_invitation(invitation, by=director)

    new = last_token(invitation.email)
    assert new != old
    assert acceptance.find_invitation(old) is None
    assert acceptance.find_invitation(new) == invitation
    assert invitation.send_count == 2
    assert invitations.invitation_state(invitation) == InvitationState.PENDING
    assert invitation.expires_at > datetime.now(UTC) + timedelta(days=13)
    assert count(OutboxMessage) == 2


def test_an_accepted_invitation_is_neither_revoked_nor_resent(consortium: Consortium, director: User) -> None:
    invitation = invite_colleague(consortium, director)
    invitation.accepted_at = datetime.now(UTC)
    with pytest.raises(Conflict, match="déjà été acceptée"):
        invitations.resend_invitation(invitation, by=director)
    with pytest.raises(Conflict, match="déjà été acceptée"):
        invitations.revoke_invitation(invitation, by=director)
    assert invitation.send_count == 1


def test_a_director_cannot_revoke_an_invitation_of_the_coordination(
    consortium: Consortium, coordinator: User, director: User
) -> None:
    reader = invitations.invite_person(
        consortium, role=Role.READER, email="r@exemple.fr", name="R", by=coordinator
    )
    with pytest.raises(NotAllowed):
        invitations.revoke_invitation(reader, by=director)


# --- the invitations page -------------------------------------------------------------------------


def test_invitations_page_lists_each_state_with_its_actions(
    client: FlaskClient, consortium: Consortium, coordinator: User
) -> None:
    pending = invitations.invite_person(
        consortium, role=Role.READER, email="a@exemple.fr", name="Anne", by=coordinator
    )
    expired = invitations.invite_person(
        consortium, role=Role.READER, email="b@exemple.fr", name="Bruno", by=coordinator
    )
    expired.expires_at = datetime.now(UTC) - timedelta(hours=1)
    revoked = invitations.invite_person(
        consortium, role=Role.READER, email="c@exemple.fr", name="Chloé", by=coordinator
    )
    invitations.revoke_invitation(revoked, by=coordinator)
    accepted = invitations.invite_person(
        consortium, role=Role.READER, email="d@exemple.fr", name="Driss", by=coordinator
    )
    accepted.accepted_at = datetime.now(UTC)
    db.session.commit()
    login(client, coordinator.email)

    response = client.get("/consortia/cap-remob-idf/invitations")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for invitation, state in [
        (pending, "pending"),
        (expired, "expired"),
        (revoked, "revoked"),
        (accepted, "accepted"),
    ]:
        assert f'data-invitation="{invitation.id}" data-state="{state}"' in page
    text = body(response)
    assert "En attente : 1" in text
    assert "Expirée : 1" in text
    assert "Annulée : 1" in text
    assert "Acceptée : 1" in text
    assert page.count(">Renvoyer</button>") == 2  # pending and expired
    assert "Inviter une organisation à rejoindre le consortium" in text


def test_director_sees_only_the_invitations_of_its_partner(
    client: FlaskClient, consortium: Consortium, coordinator: User, director: User
) -> None:
    invite_colleague(consortium, director)
    invitations.invite_person(
        consortium, role=Role.READER, email="lecteur@exemple.fr", name="L", by=coordinator
    )
    db.session.commit()
    login(client, director.email)
    response = client.get("/consortia/cap-remob-idf/invitations")
    text = body(response)
    assert response.status_code == 200
    assert "camille@plie-sevran.example" in text
    assert "lecteur@exemple.fr" not in text
    assert "Inviter une organisation" not in text
    assert "Inviter un ou une collègue" in text


@pytest.mark.parametrize("role", [Role.CONTRIBUTOR, Role.READER])
def test_contributors_and_readers_have_no_invitations_page(
    client: FlaskClient, consortium: Consortium, role: Role
) -> None:
    member = make_member(consortium, role, "plie-sevran" if role == Role.CONTRIBUTOR else None)
    login(client, member.email)
    assert client.get("/consortia/cap-remob-idf/invitations").status_code == 403


def test_another_consortium_invitations_page_is_not_found(
    client: FlaskClient, consortium: Consortium
) -> None:
    other = make_consortium(partners=1, slug="autre")
    outsider = make_member(other, Role.COORDINATOR, "urtie-idf", email="coord@autre.example")
    login(client, outsider.email)
    assert client.get("/consortia/cap-remob-idf/invitations").status_code == 404


def test_director_invites_a_colleague_from_the_page(
    client: FlaskClient, consortium: Consortium, director: User
) -> None:
    login(client, director.email)
    token = csrf_token(client)
    response = client.post(
        "/consortia/cap-remob-idf/invitations/personne",
        data={
            "csrf_token": token,
            "name": "Camille Martin",
            "email": "camille@plie-sevran.example",
            "role": "contributor",
            # A forged partner: a director always invites to its own one.
            "partner": "atout-plie",
        },
    )
    assert response.status_code == 303
    assert "Invitation envoyée à camille@plie-sevran.example." in body(
        client.get(response.headers["Location"])
    )
    invitation = db.session.scalars(select(Invitation)).one()
    assert invitation.partner is not None
    assert (invitation.partner.code, invitation.role) == ("plie-sevran", Role.CONTRIBUTOR)


def test_a_director_cannot_choose_the_reader_or_coordinator_role(
    client: FlaskClient, consortium: Consortium, director: User
) -> None:
    login(client, director.email)
    token = csrf_token(client)
    response = client.post(
        "/consortia/cap-remob-idf/invitations/personne",
        data={"csrf_token": token, "name": "X", "email": "x@exemple.fr", "role": "coordinator"},
    )
    assert response.status_code == 422
    assert "Choisissez un des rôles proposés." in body(response)
    assert count(Invitation) == 0


def test_duplicate_address_is_explained_next_to_the_field_keeping_the_input(
    client: FlaskClient, consortium: Consortium, coordinator: User
) -> None:
    make_member(consortium, Role.READER, email="deja@exemple.fr")
    login(client, coordinator.email)
    token = csrf_token(client)
    response = client.post(
        "/consortia/cap-remob-idf/invitations/personne",
        data={
            "csrf_token": token,
            "name": "Déjà Là",
            "email": "deja@exemple.fr",
            "role": "contributor",
            "partner": "plie-sevran",
            "message": "Bonjour <b>toi</b>",
        },
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="email-erreur"' in page
    assert "deja@exemple.fr a déjà un rôle dans ce consortium (Lecture)" in body(response)
    assert 'value="Déjà Là"' in page
    assert "Bonjour &lt;b&gt;toi&lt;/b&gt;" in page
    assert count(Invitation) == 0


def test_a_contribution_needs_a_partner(
    client: FlaskClient, consortium: Consortium, coordinator: User
) -> None:
    login(client, coordinator.email)
    token = csrf_token(client)
    response = client.post(
        "/consortia/cap-remob-idf/invitations/personne",
        data={
            "csrf_token": token,
            "name": "X",
            "email": "x@exemple.fr",
            "role": "contributor",
            "partner": "",
        },
    )
    assert response.status_code == 422
    assert "Choisissez le membre du consortium que la personne rejoint." in body(response)


def test_coordinator_invites_an_organisation_from_the_page(
    client: FlaskClient, consortium: Consortium, coordinator: User
) -> None:
    login(client, coordinator.email)
    token = csrf_token(client)
    data = {
        "organisation-csrf_token": token,
        "organisation-organisation_name": "PLIE de Meaux",
        "organisation-departement": "seine-et-marne",
        "organisation-name": "Paul Durand",
        "organisation-email": "paul@plie-meaux.example",
    }
    response = client.post("/consortia/cap-remob-idf/invitations/organisation", data=data)
    assert response.status_code == 422
    assert "Département non reconnu" in body(response)
    assert 'id="organisation-departement-erreur"' in response.get_data(as_text=True)
    assert 'value="PLIE de Meaux"' in response.get_data(as_text=True)
    response = client.post(
        "/consortia/cap-remob-idf/invitations/organisation", data={**data, "organisation-departement": "77"}
    )
    assert response.status_code == 303
    assert db.session.scalars(select(Invitation)).one().organisation_name == "PLIE de Meaux"


def test_directors_cannot_invite_organisations(
    client: FlaskClient, consortium: Consortium, director: User
) -> None:
    login(client, director.email)
    token = csrf_token(client)
    response = client.post(
        "/consortia/cap-remob-idf/invitations/organisation",
        data={
            "organisation-csrf_token": token,
            "organisation-organisation_name": "X",
            "organisation-departement": "77",
            "organisation-name": "X",
            "organisation-email": "x@e.fr",
        },
    )
    assert response.status_code == 403
    assert count(Invitation) == 0


def test_revoke_and_resend_buttons(
    client: FlaskClient, consortium: Consortium, director: User, capsys: pytest.CaptureFixture[str]
) -> None:
    invitation = invite_colleague(consortium, director)
    db.session.commit()
    login(client, director.email)
    token = csrf_token(client)
    base = f"/consortia/cap-remob-idf/invitations/{invitation.id}"
    response = client.post(f"{base}/renvoyer", data={"csrf_token": token})
    assert response.status_code == 303
    assert "Nouveau lien envoyé à camille@plie-sevran.example" in body(
        client.get(response.headers["Location"])
    )
    assert "/invitation/" in capsys.readouterr().out  # delivered on the console after the commit
    response = client.post(f"{base}/annuler", data={"csrf_token": token})
    assert "Invitation de camille@plie-sevran.example annulée" in body(
        client.get(response.headers["Location"])
    )
    response = client.post(f"{base}/annuler", data={"csrf_token": token})
    assert "Cette invitation a déjà été annulée : rien n'a été modifié." in body(
        client.get(response.headers["Location"])
    )
    db.session.refresh(invitation)
    assert invitation.send_count == 2
    assert invitation.revoked_at is not None


def test_a_director_cannot_touch_another_partners_invitation(
    client: FlaskClient, consortium: Consortium, coordinator: User, director: User
) -> None:
    other = invitations.invite_person(
        consortium,
        role=Role.CONTRIBUTOR,
        email="x@atout.example",
        name="X",
        partner=partner_by_code(consortium, "atout-plie"),
        by=coordinator,
    )
    db.session.commit()
    login(client, director.email)
    token = csrf_token(client)
    response = client.post(
        f"/consortia/cap-remob-idf/invitations/{other.id}/annuler", data={"csrf_token": token}
    )
    assert response.status_code == 403
    db.session.refresh(other)
    assert other.revoked_at is None
