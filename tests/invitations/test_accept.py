"""Accepting an invitation: new account, existing account, another person's session, unusable links."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from werkzeug.test import TestResponse

from app.audit import AuditEvent
from app.auth.models import User
from app.auth.services import find_user
from app.consortia.models import Consortium, Invitation, Organisation, Partner, Role, RoleGrant
from app.consortia.services import partner_by_code
from app.errors import Conflict, NotAllowed
from app.extensions import db
from app.invitations import acceptance
from app.invitations import services as invitations
from app.mail.models import OutboxMessage
from app.permissions import grant_of
from app.volunteering import services as volunteering
from tests.factories import PASSWORD, csrf_token, login, make_consortium, make_member, make_user

LINK = re.compile(r"http://localhost(/invitation/[A-Za-z0-9_-]+)")
NEW_PASSWORD = "une phrase de passe solide"


def body(response: TestResponse) -> str:
    """The text a person reads on the page: no tags, entities decoded, spaces folded."""
    inline = re.sub(r"</?(?:a|b|bdi|code|em|span|strong)\b[^>]*>", "", response.get_data(as_text=True))
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", inline)).split())


def count(model: type[Any]) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def link_sent_to(email: str) -> str:
    """The path of the last invitation link e-mailed to the address."""
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


@pytest.fixture
def invitation(consortium: Consortium, director: User) -> Invitation:
    invitation = invitations.invite_person(
        consortium,
        role=Role.CONTRIBUTOR,
        email="camille@plie-sevran.example",
        name="Camille Martin",
        partner=partner_by_code(consortium, "plie-sevran"),
        by=director,
    )
    db.session.commit()
    return invitation


def create_account(client: FlaskClient, path: str, **changes: str) -> TestResponse:
    token = csrf_token(client, path)
    data = {
        "csrf_token": token,
        "name": "Camille Martin",
        "password": NEW_PASSWORD,
        "password_confirm": NEW_PASSWORD,
    }
    data.update(changes)
    return client.post(path, data=data)


# --- a new person ---------------------------------------------------------------------------------


def test_new_person_sees_what_they_are_invited_to_and_a_form_with_their_name(
    client: FlaskClient, invitation: Invitation
) -> None:
    path = link_sent_to(invitation.email)
    response = client.get(path)
    assert response.status_code == 200
    text = body(response)
    assert "Rejoindre le consortium « Cap Remobilisation Île-de-France »" in text
    assert (
        "director test vous invite à rejoindre l'équipe de PLIE de Sevran avec le rôle contribution" in text
    )
    assert "Créez votre accès" in text
    assert 'value="Camille Martin"' in response.get_data(as_text=True)


def test_opening_the_link_changes_nothing(client: FlaskClient, invitation: Invitation) -> None:
    # Mail scanners open links: only the form's POST accepts.
    client.get(link_sent_to(invitation.email))
    db.session.refresh(invitation)
    assert invitation.accepted_at is None
    assert find_user(invitation.email) is None


def test_new_person_chooses_a_password_and_lands_logged_in_on_the_consortium(
    client: FlaskClient, consortium: Consortium, invitation: Invitation
) -> None:
    path = link_sent_to(invitation.email)
    response = create_account(client, path, name="  Camille   Martin ")
    assert response.status_code == 303
    assert response.headers["Location"] == "/consortia/cap-remob-idf"
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    assert "Bienvenue dans le consortium « Cap Remobilisation Île-de-France » !" in body(page)
    user = find_user("camille@plie-sevran.example")
    assert user is not None
    assert user.name == "Camille Martin"
    grant = grant_of(user, consortium)
    assert grant is not None
    assert grant.role == Role.CONTRIBUTOR
    assert grant.partner is not None
    assert grant.partner.code == "plie-sevran"
    db.session.refresh(invitation)
    assert (invitation.accepted_by_id, invitation.accepted_at is not None) == (user.id, True)
    kinds = [e.kind for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert kinds[-3:] == ["account.created", "role.granted", "invitation.accepted"]


def test_passwords_that_differ_or_are_short_are_explained_and_never_sent_back(
    client: FlaskClient, invitation: Invitation
) -> None:
    path = link_sent_to(invitation.email)
    response = create_account(client, path, password_confirm="autre chose encore")
    assert response.status_code == 422
    assert "Les deux mots de passe ne sont pas identiques." in body(response)
    assert NEW_PASSWORD not in response.get_data(as_text=True)
    assert 'value="Camille Martin"' in response.get_data(as_text=True)
    response = create_account(client, path, password="court", password_confirm="autre")
    assert response.status_code == 422
    assert "Le mot de passe doit compter au moins 10 caractères." in body(response)
    assert "Les deux mots de passe ne sont pas identiques." in body(response)
    assert 'id="password-erreur"' in response.get_data(as_text=True)
    assert find_user(invitation.email) is None


def test_the_link_works_once(client: FlaskClient, app: Any, invitation: Invitation) -> None:
    path = link_sent_to(invitation.email)
    assert create_account(client, path).status_code == 303
    other_browser = app.test_client()
    response = other_browser.get(path)
    assert response.status_code == 410
    assert "Cette invitation a déjà été utilisée le" in body(response)
    assert "Rien n'a été modifié." in body(response)


def test_the_person_who_accepted_is_sent_to_the_consortium_when_reopening_the_link(
    client: FlaskClient, invitation: Invitation
) -> None:
    path = link_sent_to(invitation.email)
    create_account(client, path)
    response = client.get(path)
    assert response.status_code == 303
    assert response.headers["Location"] == "/consortia/cap-remob-idf"


def test_accepting_a_volunteer_invitation_makes_the_volunteer_director_of_the_new_partner(
    client: FlaskClient, consortium: Consortium, coordinator: User
) -> None:
    consortium.volunteering_open = True
    request = volunteering.submit_volunteer_request(
        consortium,
        volunteering.Volunteering(
            organisation_name="PLIE de Meaux",
            organisation_kind="",
            departement="77",
            territory="",
            siret="",
            address="",
            contact_name="Paul Durand",
            contact_role="Directeur",
            email="paul@plie-meaux.example",
            participants_per_year=None,
            territories_qpv="",
            motivation="",
        ),
    )
    volunteering.accept_volunteer_request(request, by=coordinator)
    db.session.commit()
    create_account(client, link_sent_to("paul@plie-meaux.example"), name="Paul Durand")
    user = find_user("paul@plie-meaux.example")
    assert user is not None
    grant = grant_of(user, consortium)
    assert grant is not None
    assert grant.role == Role.DIRECTOR
    assert grant.partner_id == request.partner_id


def test_accepting_an_organisation_invitation_creates_its_partner(
    client: FlaskClient, consortium: Consortium, coordinator: User
) -> None:
    invitations.invite_organisation(
        consortium,
        organisation_name="PLIE de Meaux",
        departement="77",
        name="Paul Durand",
        email="paul@plie-meaux.example",
        by=coordinator,
    )
    db.session.commit()
    partners = count(Partner)
    assert create_account(client, link_sent_to("paul@plie-meaux.example")).status_code == 303
    assert count(Partner) == partners + 1
    partner = partner_by_code(consortium, "plie-de-meaux")
    assert partner is not None
    assert partner.organisation.departement == "77"
    assert partner.contacts == [{"role": "Direction", "email": "paul@plie-meaux.example"}]
    user = find_user("paul@plie-meaux.example")
    assert user is not None
    grant = grant_of(user, consortium)
    assert grant is not None
    assert (grant.role, grant.partner_id) == (Role.DIRECTOR, partner.id)


def test_an_invited_organisation_already_known_is_reused(
    client: FlaskClient, consortium: Consortium, coordinator: User
) -> None:
    other = make_consortium(partners=1, slug="deuxieme")
    other_coordinator = make_member(other, Role.COORDINATOR, "urtie-idf", email="coord2@urtie.example")
    sevran = db.session.scalars(select(Organisation).where(Organisation.name == "PLIE de Sevran")).one()
    invitations.invite_organisation(
        other,
        organisation_name="PLIE DE SEVRAN",
        departement="93",
        name="Dominique",
        email="dominique@plie-sevran.example",
        by=other_coordinator,
    )
    db.session.commit()
    organisations = count(Organisation)
    create_account(client, link_sent_to("dominique@plie-sevran.example"))
    assert count(Organisation) == organisations
    partner = partner_by_code(other, "plie-de-sevran")
    assert partner is not None
    assert partner.organisation_id == sevran.id


# --- someone with an account ----------------------------------------------------------------------


def test_existing_account_is_asked_to_log_in_then_joins(
    client: FlaskClient, consortium: Consortium, invitation: Invitation
) -> None:
    make_user("camille@plie-sevran.example", name="Camille M.")
    path = link_sent_to(invitation.email)
    response = client.get(path)
    assert "Vous avez déjà un compte Consortio" in body(response)
    assert f'href="/connexion?next={path}"' in response.get_data(as_text=True)
    assert "Créez votre accès" not in body(response)

    page = client.get(f"/connexion?next={path}")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True))
    assert token is not None
    response = client.post(
        "/connexion",
        data={
            "email": "camille@plie-sevran.example",
            "password": PASSWORD,
            "next": path,
            "csrf_token": token.group(1),
        },
    )
    assert response.headers["Location"] == path
    page = client.get(path)
    assert "Vous êtes connecté·e en tant que Camille M." in body(page)
    response = client.post(path, data={"csrf_token": csrf_token(client, path)})
    assert response.status_code == 303
    user = find_user("camille@plie-sevran.example")
    assert user is not None
    grant = grant_of(user, consortium)
    assert grant is not None
    assert grant.role == Role.CONTRIBUTOR


def test_posting_a_new_password_for_an_existing_account_is_refused(
    client: FlaskClient, invitation: Invitation
) -> None:
    user = make_user("camille@plie-sevran.example")
    old_hash = user.password_hash
    path = link_sent_to(invitation.email)
    response = create_account(client, path)
    assert response.status_code == 200  # the login prompt, not the form
    assert "Vous avez déjà un compte Consortio" in body(response)
    db.session.refresh(user)
    assert user.password_hash == old_hash


def test_an_account_without_password_gets_one_through_the_invitation(
    client: FlaskClient, consortium: Consortium, invitation: Invitation
) -> None:
    from app.auth import services as accounts

    accounts.create_user("camille@plie-sevran.example", name="Ancien nom", password=None)
    db.session.commit()
    assert create_account(client, link_sent_to(invitation.email)).status_code == 303
    user = find_user("camille@plie-sevran.example")
    assert user is not None
    assert user.name == "Camille Martin"
    assert user.password_hash
    assert count(User) == 2  # the director and Camille: no second account


def test_a_link_opened_while_logged_in_as_another_person_grants_nothing(
    client: FlaskClient, consortium: Consortium, invitation: Invitation, director: User
) -> None:
    login(client, director.email)
    path = link_sent_to(invitation.email)
    response = client.get(path)
    assert response.status_code == 200
    text = body(response)
    assert "Cette invitation est destinée à une autre personne" in text
    assert (
        "Elle est adressée à camille@plie-sevran.example, mais vous êtes connecté·e en tant que director test"
        in text
    )
    assert "Me déconnecter et continuer" in text
    response = client.post(path, data={"csrf_token": csrf_token(client)})
    assert response.status_code == 403
    db.session.refresh(invitation)
    assert invitation.accepted_at is None
    grant = grant_of(director, consortium)
    assert grant is not None
    assert grant.role == Role.DIRECTOR

    response = client.post(f"{path}/changer-de-compte", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 303
    assert response.headers["Location"] == path
    page = client.get(path)
    assert "Vous êtes déconnecté : vous pouvez maintenant accepter l'invitation." in body(page)
    assert "Créez votre accès" in body(page)


def test_someone_who_already_has_a_role_keeps_it_and_the_link_stays_unused(consortium: Consortium) -> None:
    coordinator = make_member(consortium, Role.COORDINATOR, "urtie-idf", email="coordination@urtie.example")
    reader = invitations.invite_person(
        consortium, role=Role.READER, email="obs@exemple.fr", name="Obs", by=coordinator
    )
    user = make_member(consortium, Role.CONTRIBUTOR, "atout-plie", email="obs2@exemple.fr")
    reader.email = user.email  # granted a role after being invited
    with pytest.raises(Conflict, match="Vous avez déjà un rôle dans ce consortium"):
        acceptance.accept_invitation(reader, user=user)
    assert reader.accepted_at is None


def test_the_service_refuses_another_persons_account(consortium: Consortium, invitation: Invitation) -> None:
    intruder = make_user("intrus@exemple.fr")
    with pytest.raises(NotAllowed, match=r"adressée à camille@plie-sevran\.example"):
        acceptance.accept_invitation(invitation, user=intruder)
    assert count(RoleGrant) == 1  # the director's only


def test_acceptance_raced_by_another_browser_grants_nothing(
    consortium: Consortium, invitation: Invitation
) -> None:
    user = make_user("camille@plie-sevran.example")
    db.session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id)
        .values(accepted_at=datetime.now(UTC))
        .execution_options(synchronize_session=False)
    )
    assert invitation.accepted_at is None  # what this request loaded
    with pytest.raises(invitations.InvitationUnusable, match="déjà été utilisée"):
        acceptance.accept_invitation(invitation, user=user)
    assert grant_of(user, consortium) is None


def test_a_partner_withdrawn_meanwhile_cannot_be_joined(
    consortium: Consortium, invitation: Invitation
) -> None:
    from app.consortia.models import PartnerStatus

    assert invitation.partner is not None
    invitation.partner.status = PartnerStatus.WITHDRAWN
    user = make_user("camille@plie-sevran.example")
    with pytest.raises(Conflict, match="s'est retiré du consortium"):
        acceptance.accept_invitation(invitation, user=user)


# --- links that cannot be used --------------------------------------------------------------------


def test_unknown_link_is_not_found_in_french(client: FlaskClient) -> None:
    response = client.get("/invitation/nimportequoi")
    assert response.status_code == 404
    assert "Ce lien d'invitation n'existe pas." in body(response)
    response = client.post("/invitation/nimportequoi", data={"csrf_token": csrf_token(client, "/connexion")})
    assert response.status_code == 404


def test_expired_link_says_so_and_changes_nothing(client: FlaskClient, invitation: Invitation) -> None:
    invitation.expires_at = datetime.now(UTC) - timedelta(minutes=1)
    db.session.commit()
    path = link_sent_to(invitation.email)
    assert client.get(path).status_code == 410
    response = create_account(client, path)
    assert response.status_code == 410
    assert "Cette invitation a expiré le" in body(response)
    assert "Demandez à la personne qui vous l'a envoyée de vous la renvoyer" in body(response)
    assert find_user(invitation.email) is None


def test_revoked_link_says_so(client: FlaskClient, invitation: Invitation, director: User) -> None:
    path = link_sent_to(invitation.email)
    invitations.revoke_invitation(invitation, by=director)
    db.session.commit()
    response = client.get(path)
    assert response.status_code == 410
    assert "Cette invitation a été annulée le" in body(response)


def test_the_old_link_after_a_resend_is_unknown(
    client: FlaskClient, invitation: Invitation, director: User
) -> None:
    old = link_sent_to(invitation.email)
    invitations.resend_invitation(invitation, by=director)
    db.session.commit()
    assert client.get(old).status_code == 404
    new = link_sent_to(invitation.email)
    assert create_account(client, new).status_code == 303


def test_a_link_expiring_between_the_page_and_the_form_keeps_nothing(
    client: FlaskClient, invitation: Invitation
) -> None:
    path = link_sent_to(invitation.email)
    token = csrf_token(client, path)
    invitation.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    db.session.commit()
    response = client.post(
        path,
        data={"csrf_token": token, "name": "C", "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
    )
    assert response.status_code == 410
    assert find_user(invitation.email) is None
