"""The call for volunteers: public page, requests, accepting (organisation reused or created), declining."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from werkzeug.test import TestResponse

from app.audit import AuditEvent
from app.auth.models import User
from app.consortia import services as consortia_services
from app.consortia.models import (
    Consortium,
    Invitation,
    Organisation,
    Partner,
    PartnerStatus,
    RequestStatus,
    Role,
    VolunteerRequest,
)
from app.consortia.validation import FieldInvalid
from app.errors import Conflict, NotAllowed
from app.extensions import db
from app.mail.models import OutboxMessage
from app.volunteering import services as volunteering_services
from app.volunteering.services import Volunteering
from tests.factories import csrf_token, login, make_consortium, make_member, make_user

VALID_SIRET = "73282932000074"
WRONG_CHECK_DIGIT = "73282932000075"


def body(response: TestResponse) -> str:
    """The text a person reads on the page: no tags, entities decoded, spaces folded."""
    inline = re.sub(r"</?(?:a|b|bdi|code|em|span|strong)\b[^>]*>", "", response.get_data(as_text=True))
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", inline)).split())


def raw(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def count(model: type[Any]) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def events(kind: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.kind == kind)))


def volunteering(**changes: Any) -> Volunteering:
    data = Volunteering(
        organisation_name="PLIE des Boucles de la Marne",
        organisation_kind="PLIE (association)",
        departement="94",
        territory="Champigny, Chennevières, Villiers",
        siret="",
        address="1 place de la Mairie\n94500 Champigny-sur-Marne",
        contact_name="Nadia Benali",
        contact_role="Directrice du PLIE",
        email="Nadia.Benali@plie-boucles.example",
        participants_per_year=150,
        territories_qpv="Bois l'Abbé, Mordacs",
        motivation="Nous accompagnons déjà 400 personnes.",
    )
    return replace(data, **changes)


@pytest.fixture
def consortium() -> Consortium:
    consortium = make_consortium()
    consortium.volunteering_open = True
    db.session.commit()
    return consortium


@pytest.fixture
def coordinator(consortium: Consortium) -> User:
    return make_member(consortium, Role.COORDINATOR, "urtie-idf", email="coordination@urtie.example")


def form_data(**changes: str) -> dict[str, str]:
    data = {
        "organisation_name": "PLIE des Boucles de la Marne",
        "organisation_kind": "PLIE (association)",
        "departement": "94",
        "territory": "Champigny",
        "siret": "",
        "address": "1 place de la Mairie",
        "contact_name": "Nadia Benali",
        "contact_role": "Directrice",
        "email": "nadia.benali@plie-boucles.example",
        "participants_per_year": "150",
        "territories_qpv": "Bois l'Abbé",
        "motivation": "Nous accompagnons déjà 400 personnes.",
    }
    data.update(changes)
    return data


def post_volunteer(client: FlaskClient, slug: str, **changes: str) -> TestResponse:
    token = csrf_token(client, "/connexion")
    return client.post(f"/candidature/{slug}", data={**form_data(**changes), "csrf_token": token})


# --- opening and closing the call -----------------------------------------------------------------


def test_coordinator_opens_and_closes_the_call_leaving_audit_events(
    consortium: Consortium, coordinator: User
) -> None:
    volunteering_services.set_volunteering(consortium, is_open=False, by=coordinator)
    assert consortium.volunteering_open is False
    volunteering_services.set_volunteering(consortium, is_open=True, by=coordinator)
    assert consortium.volunteering_open is True
    assert [e.data["new"] for e in events("volunteering.opened")] == [{"open": True}]
    assert [e.data["new"] for e in events("volunteering.closed")] == [{"open": False}]


def test_a_director_cannot_open_the_call(consortium: Consortium) -> None:
    director = make_member(consortium, Role.DIRECTOR, "plie-sevran")
    consortium.volunteering_open = False
    with pytest.raises(NotAllowed):
        volunteering_services.set_volunteering(consortium, is_open=True, by=director)


def test_intro_is_kept_as_plain_text_without_control_characters(
    consortium: Consortium, coordinator: User
) -> None:
    volunteering_services.set_volunteering_intro(
        consortium, "  Bienvenue\r\n\r\nAu\u202eprogramme\x07 <b>!</b>  ", by=coordinator
    )
    assert consortium.volunteering_intro == "Bienvenue\n\nAuprogramme <b>!</b>"
    assert events("volunteering.intro_changed")[0].data["new"] == consortium.volunteering_intro


# --- submitting a request -------------------------------------------------------------------------


def test_request_is_recorded_pending_and_coordinators_are_told_by_email(
    consortium: Consortium, coordinator: User
) -> None:
    request = volunteering_services.submit_volunteer_request(consortium, volunteering())
    assert request.status == RequestStatus.PENDING
    assert request.email == "nadia.benali@plie-boucles.example"
    assert request.organisation_key == "nom:plie des boucles de la marne|94"
    assert request.participants_per_year == 150
    assert request.address == "1 place de la Mairie\n94500 Champigny-sur-Marne"
    message = db.session.scalar(select(OutboxMessage))
    assert message is not None
    assert message.to == coordinator.email
    assert message.kind == "volunteer.received"
    assert "PLIE des Boucles de la Marne" in message.subject
    assert "http://localhost/consortia/cap-remob-idf/candidatures" in message.text_body
    assert events("volunteer.requested")[0].data["organisation"] == "PLIE des Boucles de la Marne"


def test_closed_call_records_nothing(consortium: Consortium) -> None:
    consortium.volunteering_open = False
    with pytest.raises(Conflict, match="fermé"):
        volunteering_services.submit_volunteer_request(consortium, volunteering())
    assert count(VolunteerRequest) == 0
    assert count(OutboxMessage) == 0


def test_siret_with_a_wrong_check_digit_is_refused_on_its_field(consortium: Consortium) -> None:
    with pytest.raises(FieldInvalid) as caught:
        volunteering_services.submit_volunteer_request(consortium, volunteering(siret=WRONG_CHECK_DIGIT))
    assert caught.value.field == "siret"
    assert "SIRET n'est pas valide" in str(caught.value)
    assert count(VolunteerRequest) == 0


@pytest.mark.parametrize("typed", ["732 829 320 00074", "732\u00a0829\u202f320 00074"])
def test_siret_typed_with_spaces_is_accepted_without_them(consortium: Consortium, typed: str) -> None:
    request = volunteering_services.submit_volunteer_request(consortium, volunteering(siret=typed))
    assert request.siret == VALID_SIRET
    assert request.organisation_key == f"siret:{VALID_SIRET}"


@pytest.mark.parametrize("typed", ["٧٣٢٨٢٩٣٢٠٠٠٠٧٤", "7328293200007", "abc"])
def test_siret_in_other_digits_or_length_is_refused(consortium: Consortium, typed: str) -> None:
    with pytest.raises(FieldInvalid):
        volunteering_services.submit_volunteer_request(consortium, volunteering(siret=typed))


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("94", "94"), ("94, 91", "94/91"), ("94 et 91", "94/91"), ("idf", "IDF"), ("9", "09"), ("2a", "2A")],
)
def test_departements_are_stored_in_one_form(consortium: Consortium, typed: str, stored: str) -> None:
    assert (
        volunteering_services.submit_volunteer_request(
            consortium, volunteering(departement=typed)
        ).departement
        == stored
    )


@pytest.mark.parametrize("typed", ["99", "Seine-Saint-Denis", "  "])
def test_unknown_departement_is_refused_on_its_field(consortium: Consortium, typed: str) -> None:
    with pytest.raises(FieldInvalid) as caught:
        volunteering_services.submit_volunteer_request(consortium, volunteering(departement=typed))
    assert caught.value.field == "departement"


def test_invalid_email_is_refused_on_its_field(consortium: Consortium) -> None:
    with pytest.raises(FieldInvalid) as caught:
        volunteering_services.submit_volunteer_request(consortium, volunteering(email="nadia@"))
    assert caught.value.field == "email"


def test_second_pending_request_for_the_same_organisation_is_refused_politely(consortium: Consortium) -> None:
    volunteering_services.submit_volunteer_request(consortium, volunteering())
    with pytest.raises(Conflict, match="déjà en attente"):
        volunteering_services.submit_volunteer_request(
            consortium,
            volunteering(
                organisation_name="  plie DES boucles   de la marne ", email="autre@plie-boucles.example"
            ),
        )
    assert count(VolunteerRequest) == 1


def test_same_siret_under_another_name_is_the_same_organisation(consortium: Consortium) -> None:
    volunteering_services.submit_volunteer_request(consortium, volunteering(siret=VALID_SIRET))
    with pytest.raises(Conflict, match="déjà en attente"):
        volunteering_services.submit_volunteer_request(
            consortium, volunteering(organisation_name="Autre nom", siret=VALID_SIRET)
        )


def test_same_name_with_different_sirets_are_two_organisations(consortium: Consortium) -> None:
    volunteering_services.submit_volunteer_request(consortium, volunteering(siret=VALID_SIRET))
    other = volunteering_services.submit_volunteer_request(consortium, volunteering(siret="35600000000048"))
    assert other.status == RequestStatus.PENDING
    assert count(VolunteerRequest) == 2


def test_partial_unique_index_backs_up_the_check_under_a_double_submit(
    consortium: Consortium, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two submissions that both passed the check before either was saved.
    monkeypatch.setattr(volunteering_services, "_same_organisation", lambda *args: False)
    volunteering_services.submit_volunteer_request(consortium, volunteering())
    with pytest.raises(Conflict, match="déjà en attente"):
        volunteering_services.submit_volunteer_request(consortium, volunteering())
    db.session.commit()  # the session is still usable: the savepoint was rolled back
    assert count(VolunteerRequest) == 1


def test_a_new_request_is_possible_once_the_previous_one_was_declined(
    consortium: Consortium, coordinator: User
) -> None:
    first = volunteering_services.submit_volunteer_request(consortium, volunteering())
    volunteering_services.decline_volunteer_request(first, by=coordinator, message="Pas cette fois.")
    second = volunteering_services.submit_volunteer_request(consortium, volunteering())
    assert second.status == RequestStatus.PENDING


def test_an_organisation_already_member_cannot_volunteer(consortium: Consortium) -> None:
    with pytest.raises(FieldInvalid, match="déjà membre") as caught:
        volunteering_services.submit_volunteer_request(
            consortium, volunteering(organisation_name="PLIE de Sevran", departement="93")
        )
    assert caught.value.field == "organisation_name"


def test_markup_and_emoji_in_names_are_kept_literally(consortium: Consortium) -> None:
    name = '"><script>alert(1)</script> {{7*7}} PLIE 🌱'
    request = volunteering_services.submit_volunteer_request(consortium, volunteering(organisation_name=name))
    assert request.organisation_name == name


# --- accepting ------------------------------------------------------------------------------------


def test_accepting_creates_the_organisation_the_partner_and_invites_the_volunteer_as_director(
    consortium: Consortium, coordinator: User
) -> None:
    request = volunteering_services.submit_volunteer_request(consortium, volunteering(siret=VALID_SIRET))
    last_position = max(p.position for p in consortium.partners)
    organisations = count(Organisation)

    invitation = volunteering_services.accept_volunteer_request(request, by=coordinator)

    assert request.status == RequestStatus.ACCEPTED
    assert request.decided_by_id == coordinator.id
    assert count(Organisation) == organisations + 1
    partner = invitation.partner
    assert partner is not None
    assert request.partner_id == partner.id
    assert partner.consortium_id == consortium.id
    assert partner.status == PartnerStatus.ACTIVE
    assert partner.code == "plie-des-boucles-de-la-marne"
    assert partner.position == last_position + 1
    assert partner.contacts == [{"role": "Directrice du PLIE", "email": "nadia.benali@plie-boucles.example"}]
    organisation = partner.organisation
    assert (organisation.name, organisation.departement, organisation.siret) == (
        "PLIE des Boucles de la Marne",
        "94",
        VALID_SIRET,
    )
    assert organisation.kind == "PLIE (association)"
    assert invitation.role == Role.DIRECTOR
    assert invitation.volunteer_request_id == request.id
    assert invitation.email == request.email
    assert invitation.send_count == 1
    message = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "invitation.volunteer")
    ).one()
    assert message.to == "nadia.benali@plie-boucles.example"
    assert "Cap Remobilisation Île-de-France" in message.subject
    assert re.search(r"http://localhost/invitation/[A-Za-z0-9_-]{40,}", message.text_body)
    accepted = events("volunteer.accepted")[0].data
    assert accepted["organisation_reused"] is False
    assert accepted["partner"] == partner.code


def test_accepting_reuses_a_known_organisation_whose_profile_carries_over(coordinator: User) -> None:
    other = make_consortium(partners=1, slug="deuxieme")
    other.volunteering_open = True
    other_coordinator = make_member(other, Role.COORDINATOR, "urtie-idf", email="coord2@urtie.example")
    sevran = db.session.scalars(select(Organisation).where(Organisation.name == "PLIE de Sevran")).one()
    organisations = count(Organisation)

    request = volunteering_services.submit_volunteer_request(
        other, volunteering(organisation_name="plie de  SEVRAN", departement="93", organisation_kind="autre")
    )
    assert volunteering_services.known_organisation(request) == sevran
    invitation = volunteering_services.accept_volunteer_request(request, by=other_coordinator)

    assert count(Organisation) == organisations
    assert invitation.partner is not None
    assert invitation.partner.organisation_id == sevran.id
    assert sevran.name == "PLIE de Sevran"  # its own profile, not what the request typed
    assert sevran.kind == "PLIE"
    assert events("volunteer.accepted")[0].data["organisation_reused"] is True


def test_accepting_reuses_the_organisation_with_the_same_siret(
    consortium: Consortium, coordinator: User
) -> None:
    known = Organisation(departement="77", siret=VALID_SIRET)
    known.rename("Ancien nom de l'association")
    db.session.add(known)
    request = volunteering_services.submit_volunteer_request(consortium, volunteering(siret=VALID_SIRET))
    invitation = volunteering_services.accept_volunteer_request(request, by=coordinator)
    assert invitation.partner is not None
    assert invitation.partner.organisation_id == known.id


def test_partner_codes_are_unique_slugs_of_the_name(consortium: Consortium) -> None:
    assert consortia_services.partner_code(consortium, "PLIE Sevran") == "plie-sevran-2"
    assert consortia_services.partner_code(consortium, "Élan & Co — Île") == "elan-co-ile"
    assert consortia_services.partner_code(consortium, "🌱🌱") == "membre"
    assert len(consortia_services.partner_code(consortium, "x" * 300)) <= 64


def test_accepting_twice_changes_nothing_the_second_time(consortium: Consortium, coordinator: User) -> None:
    request = volunteering_services.submit_volunteer_request(consortium, volunteering())
    volunteering_services.accept_volunteer_request(request, by=coordinator)
    partners, invitations = count(Partner), count(Invitation)
    with pytest.raises(Conflict, match=r"déjà été acceptée le .* par coordinator test"):
        volunteering_services.accept_volunteer_request(request, by=coordinator)
    assert (count(Partner), count(Invitation)) == (partners, invitations)


def test_a_decision_taken_in_another_tab_meanwhile_wins(consortium: Consortium, coordinator: User) -> None:
    request = volunteering_services.submit_volunteer_request(consortium, volunteering())
    partners = count(Partner)
    # Another tab declined it after this one loaded the request (the loaded object still says pending).
    db.session.execute(
        update(VolunteerRequest)
        .where(VolunteerRequest.id == request.id)
        .values(status=RequestStatus.DECLINED, decided_by_id=coordinator.id)
        .execution_options(synchronize_session=False)
    )
    assert request.status == RequestStatus.PENDING
    with pytest.raises(Conflict, match="déjà été refusée"):
        volunteering_services.accept_volunteer_request(request, by=coordinator)
    assert count(Partner) == partners


def test_accepting_is_refused_when_the_volunteer_already_has_a_role(
    consortium: Consortium, coordinator: User
) -> None:
    make_member(consortium, Role.READER, email="nadia.benali@plie-boucles.example")
    request = volunteering_services.submit_volunteer_request(consortium, volunteering())
    with pytest.raises(Conflict, match="a déjà un rôle dans ce consortium"):
        volunteering_services.accept_volunteer_request(request, by=coordinator)


def test_only_the_coordination_accepts(consortium: Consortium) -> None:
    director = make_member(consortium, Role.DIRECTOR, "plie-sevran")
    request = volunteering_services.submit_volunteer_request(consortium, volunteering())
    with pytest.raises(NotAllowed):
        volunteering_services.accept_volunteer_request(request, by=director)
    assert request.status == RequestStatus.PENDING


# --- declining ------------------------------------------------------------------------------------


def test_declining_needs_a_message(consortium: Consortium, coordinator: User) -> None:
    request = volunteering_services.submit_volunteer_request(consortium, volunteering())
    with pytest.raises(FieldInvalid) as caught:
        volunteering_services.decline_volunteer_request(request, by=coordinator, message="  \n ")
    assert caught.value.field == "message"
    assert request.status == RequestStatus.PENDING


def test_declining_sends_the_message_to_the_volunteer(consortium: Consortium, coordinator: User) -> None:
    request = volunteering_services.submit_volunteer_request(consortium, volunteering())
    volunteering_services.decline_volunteer_request(
        request, by=coordinator, message="Votre territoire est déjà couvert.\nMerci !"
    )
    assert request.status == RequestStatus.DECLINED
    assert request.decision_message == "Votre territoire est déjà couvert.\nMerci !"
    message = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "volunteer.declined")
    ).one()
    assert message.to == request.email
    assert "Votre territoire est déjà couvert." in message.text_body
    assert "Votre territoire est déjà couvert.<br>Merci !" in message.html_body
    assert "http://localhost/candidature/cap-remob-idf" in message.text_body
    assert events("volunteer.declined")[0].data["new"] == {"status": "declined"}


# --- the public page ------------------------------------------------------------------------------


def test_public_page_is_open_to_anonymous_visitors_and_shows_the_intro(
    client: FlaskClient, consortium: Consortium
) -> None:
    consortium.volunteering_intro = "Rejoignez-nous !\n\n<b>Deuxième</b> paragraphe"
    response = client.get("/candidature/cap-remob-idf")
    assert response.status_code == 200
    text = body(response)
    assert "Rejoindre le consortium « Cap Remobilisation Île-de-France »" in text
    assert "<p>Rejoignez-nous !</p>" in raw(response)
    assert "&lt;b&gt;Deuxième&lt;/b&gt; paragraphe" in response.get_data(as_text=True)
    assert "Envoyer ma candidature" in text


def test_unknown_consortium_has_no_public_page(client: FlaskClient) -> None:
    assert client.get("/candidature/inconnu").status_code == 404


def test_closed_call_shows_a_polite_page_and_records_nothing(
    client: FlaskClient, consortium: Consortium
) -> None:
    consortium.volunteering_open = False
    page = client.get("/candidature/cap-remob-idf")
    assert page.status_code == 200
    assert "sont fermées" in body(page)
    assert "Envoyer ma candidature" not in body(page)
    response = post_volunteer(client, "cap-remob-idf")
    assert response.status_code == 409
    assert "aucune information n'a été enregistrée" in body(response)
    assert count(VolunteerRequest) == 0


def test_volunteering_from_the_public_page_leads_to_thanks(
    client: FlaskClient, consortium: Consortium, coordinator: User, capsys: pytest.CaptureFixture[str]
) -> None:
    response = post_volunteer(client, "cap-remob-idf", siret="732 829 320 00074")
    assert response.status_code == 303
    assert response.headers["Location"] == "/candidature/cap-remob-idf/merci"
    assert "Merci, votre candidature a bien été transmise" in body(client.get(response.headers["Location"]))
    request = db.session.scalars(select(VolunteerRequest)).one()
    assert (request.siret, request.participants_per_year) == (VALID_SIRET, 150)
    # Sent after the commit, on the console here (no MAIL_SERVER).
    message = db.session.scalars(select(OutboxMessage)).one()
    assert message.status.value == "sent"
    assert "Nouvelle candidature" in capsys.readouterr().out


def test_wrong_siret_on_the_public_page_is_explained_next_to_the_field_keeping_the_input(
    client: FlaskClient, consortium: Consortium
) -> None:
    response = post_volunteer(client, "cap-remob-idf", siret=WRONG_CHECK_DIGIT, motivation="Texte tapé <3")
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert 'id="siret-erreur"' in text
    assert "SIRET n'est pas valide" in html.unescape(text)
    assert f'value="{WRONG_CHECK_DIGIT}"' in text
    assert "Texte tapé &lt;3" in text
    assert count(VolunteerRequest) == 0


def test_missing_fields_and_bad_numbers_are_explained_in_french(
    client: FlaskClient, consortium: Consortium
) -> None:
    response = post_volunteer(
        client, "cap-remob-idf", organisation_name="", email="", participants_per_year="beaucoup"
    )
    assert response.status_code == 422
    text = body(response)
    assert "Indiquez le nom de l'organisation." in text
    assert "Indiquez votre adresse e-mail : la réponse y sera envoyée." in text
    assert "Indiquez un nombre entier de personnes par an, par exemple 120." in text
    assert count(VolunteerRequest) == 0


def test_participants_written_with_spaces_are_read(client: FlaskClient, consortium: Consortium) -> None:
    assert post_volunteer(client, "cap-remob-idf", participants_per_year="1\u202f200").status_code == 303
    assert db.session.scalars(select(VolunteerRequest)).one().participants_per_year == 1200


def test_a_second_request_from_the_public_page_is_refused_politely(
    client: FlaskClient, consortium: Consortium
) -> None:
    assert post_volunteer(client, "cap-remob-idf").status_code == 303
    response = post_volunteer(client, "cap-remob-idf", email="collegue@plie-boucles.example")
    assert response.status_code == 409
    assert "Votre candidature n'a pas été enregistrée une seconde fois" in body(response)
    assert "Une candidature pour cette organisation est déjà en attente" in body(response)
    assert 'class="alert alert-info"' in raw(response)
    assert 'value="collegue@plie-boucles.example"' in response.get_data(as_text=True)
    assert count(VolunteerRequest) == 1


def test_expired_form_token_keeps_what_was_typed(client: FlaskClient, consortium: Consortium) -> None:
    client.get("/candidature/cap-remob-idf")
    response = client.post("/candidature/cap-remob-idf", data=form_data(), follow_redirects=False)
    assert response.status_code == 400
    assert "Vos saisies sont conservées" in body(response)
    assert 'value="PLIE des Boucles de la Marne"' in response.get_data(as_text=True)
    assert count(VolunteerRequest) == 0


def test_extra_fields_cannot_set_status_or_consortium(client: FlaskClient, consortium: Consortium) -> None:
    other = make_consortium(partners=1, slug="autre")
    response = post_volunteer(client, "cap-remob-idf", status="accepted", consortium_id=str(other.id))
    assert response.status_code == 303
    request = db.session.scalars(select(VolunteerRequest)).one()
    assert (request.status, request.consortium_id) == (RequestStatus.PENDING, consortium.id)


# --- the coordination's requests page -------------------------------------------------------------


def test_requests_page_is_for_the_coordination_only(client: FlaskClient, consortium: Consortium) -> None:
    assert client.get("/consortia/cap-remob-idf/candidatures").status_code == 302  # to the login page
    make_member(consortium, Role.DIRECTOR, "plie-sevran", email="dir@sevran.example")
    login(client, "dir@sevran.example")
    assert client.get("/consortia/cap-remob-idf/candidatures").status_code == 403
    token = csrf_token(client)
    response = client.post(
        "/consortia/cap-remob-idf/candidatures/ouverture", data={"csrf_token": token, "ouvert": "0"}
    )
    assert response.status_code == 403
    db.session.refresh(consortium)
    assert consortium.volunteering_open is True


def test_coordinator_sees_the_share_link_and_closes_then_opens_the_call(
    client: FlaskClient, consortium: Consortium, coordinator: User
) -> None:
    login(client, coordinator.email)
    page = raw(client.get("/consortia/cap-remob-idf/candidatures"))
    assert 'value="http://localhost/candidature/cap-remob-idf"' in page
    assert "Copier le lien" in page
    token = csrf_token(client)
    response = client.post(
        "/consortia/cap-remob-idf/candidatures/ouverture", data={"csrf_token": token, "ouvert": "0"}
    )
    assert response.status_code == 303
    assert "L'appel à candidatures est fermé" in body(client.get(response.headers["Location"]))
    db.session.refresh(consortium)
    assert consortium.volunteering_open is False


def test_coordinator_edits_the_intro_and_a_too_long_one_is_refused_keeping_it(
    client: FlaskClient, consortium: Consortium, coordinator: User
) -> None:
    login(client, coordinator.email)
    token = csrf_token(client)
    url = "/consortia/cap-remob-idf/candidatures/texte"
    assert client.post(url, data={"csrf_token": token, "intro": "Bienvenue aux PLIE"}).status_code == 303
    too_long = "é" * 5001
    response = client.post(url, data={"csrf_token": token, "intro": too_long})
    assert response.status_code == 422
    assert "5000 caractères au plus." in body(response)
    assert too_long in body(response)
    db.session.refresh(consortium)
    assert consortium.volunteering_intro == "Bienvenue aux PLIE"


def test_requests_page_shows_the_request_literally_and_whether_the_organisation_is_known(
    client: FlaskClient, consortium: Consortium, coordinator: User
) -> None:
    volunteering_services.submit_volunteer_request(
        consortium, volunteering(organisation_name='"><script>x()</script> {{7*7}}')
    )
    db.session.commit()
    login(client, coordinator.email)
    response = client.get("/consortia/cap-remob-idf/candidatures")
    raw = response.get_data(as_text=True)
    assert "<script>x()" not in raw
    assert "&#34;&gt;&lt;script&gt;x()&lt;/script&gt; {{7*7}}" in raw
    assert "nouvelle organisation" in body(response)


def test_coordinator_accepts_from_the_page_and_a_second_tab_gets_a_clear_message(
    client: FlaskClient, consortium: Consortium, coordinator: User
) -> None:
    request = volunteering_services.submit_volunteer_request(consortium, volunteering())
    db.session.commit()
    login(client, coordinator.email)
    token = csrf_token(client)
    url = f"/consortia/cap-remob-idf/candidatures/{request.id}/accepter"
    first = client.post(url, data={"csrf_token": token})
    assert first.status_code == 303
    page = body(client.get(first.headers["Location"]))
    assert "Candidature acceptée : « PLIE des Boucles de la Marne » est membre du consortium." in page
    partners, invitations = count(Partner), count(Invitation)

    second = client.post(url, data={"csrf_token": token})  # the same button, in a tab left open
    assert second.status_code == 303
    assert "Cette candidature a déjà été acceptée le" in body(client.get(second.headers["Location"]))
    assert (count(Partner), count(Invitation)) == (partners, invitations)


def test_declining_without_a_message_is_explained_next_to_the_field(
    client: FlaskClient, consortium: Consortium, coordinator: User
) -> None:
    request = volunteering_services.submit_volunteer_request(consortium, volunteering())
    db.session.commit()
    login(client, coordinator.email)
    token = csrf_token(client)
    url = f"/consortia/cap-remob-idf/candidatures/{request.id}/refuser"
    response = client.post(
        url, data={f"refus-{request.id}-csrf_token": token, f"refus-{request.id}-message": " "}
    )
    assert response.status_code == 422
    assert "Écrivez un message à la personne" in body(response)
    assert f'id="refus-{request.id}-message-erreur"' in response.get_data(as_text=True)
    response = client.post(
        url, data={f"refus-{request.id}-csrf_token": token, f"refus-{request.id}-message": "Pas cette année."}
    )
    assert response.status_code == 303
    db.session.refresh(request)
    assert request.status == RequestStatus.DECLINED


def test_a_request_of_another_consortium_is_not_found(
    client: FlaskClient, consortium: Consortium, coordinator: User
) -> None:
    other = make_consortium(partners=1, slug="autre")
    other.volunteering_open = True
    request = volunteering_services.submit_volunteer_request(other, volunteering())
    db.session.commit()
    login(client, coordinator.email)
    token = csrf_token(client)
    response = client.post(
        f"/consortia/cap-remob-idf/candidatures/{request.id}/accepter", data={"csrf_token": token}
    )
    assert response.status_code == 404
    db.session.refresh(request)
    assert request.status == RequestStatus.PENDING


def test_an_admin_without_a_role_can_manage_the_call(client: FlaskClient, consortium: Consortium) -> None:
    make_user("admin@consortio.example", admin=True)
    login(client, "admin@consortio.example")
    assert client.get("/consortia/cap-remob-idf/candidatures").status_code == 200


def test_every_mistake_is_shown_in_the_first_round(client: FlaskClient, consortium: Consortium) -> None:
    response = post_volunteer(
        client, "cap-remob-idf", siret=WRONG_CHECK_DIGIT, departement="99", email="nadia@", motivation=""
    )
    assert response.status_code == 422
    text = body(response)
    assert "Votre candidature n'a pas encore été envoyée : corrigez les champs signalés en rouge" in text
    assert "Ce numéro SIRET n'est pas valide" in text
    assert "Département non reconnu : « 99 »" in text
    assert "Adresse e-mail invalide" in text
    assert "Dites en quelques lignes pourquoi vous souhaitez rejoindre le consortium." in text


def test_direction_overrides_are_stripped_from_names_and_emoji_sequences_kept(consortium: Consortium) -> None:
    request = volunteering_services.submit_volunteer_request(
        consortium,
        volunteering(organisation_name="PLIE\u202e fdp.exe \u200f👩\u200d💻", contact_name="Zoé\x07"),
    )
    assert request.organisation_name == "PLIE fdp.exe 👩\u200d💻"
    assert request.contact_name == "Zoé"


def test_accents_typed_decomposed_or_in_capitals_are_the_same_organisation(consortium: Consortium) -> None:
    volunteering_services.submit_volunteer_request(consortium, volunteering(organisation_name="PLIE d'Évry"))
    with pytest.raises(Conflict, match="déjà en attente"):
        volunteering_services.submit_volunteer_request(
            consortium, volunteering(organisation_name="plie d'E\u0301VRY")
        )
