"""The e-mails: French, text plus HTML, the consortium's name, absolute links, names shown literally (X2)."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from app.consortia import models as consortia_models
from app.consortia.models import Consortium, Role
from app.consortia.services import partner_by_code
from app.extensions import db
from app.invitations import services as invitations
from app.mail.models import OutboxMessage
from app.mail.services import public_link, queue_mail
from app.volunteering import services as volunteering
from tests.factories import make_consortium, make_member

HOSTILE = '"><script>alert(1)</script> {{7*7}} Élan 🌱'


@pytest.fixture
def consortium() -> Consortium:
    consortium = make_consortium()
    consortium.volunteering_open = True
    return consortium


def only_message() -> OutboxMessage:
    return db.session.scalars(select(OutboxMessage)).one()


def volunteer(consortium: Consortium, name: str = HOSTILE) -> consortia_models.VolunteerRequest:
    return volunteering.submit_volunteer_request(
        consortium,
        volunteering.Volunteering(
            organisation_name=name,
            organisation_kind="",
            departement="93",
            territory="",
            siret="",
            address="",
            contact_name="Zoé <i>Lefèvre</i>",
            contact_role="",
            email="zoe@exemple.fr",
            participants_per_year=1200,
            territories_qpv="",
            motivation="",
        ),
    )


def test_a_name_with_markup_is_literal_in_the_text_and_escaped_in_the_html(consortium: Consortium) -> None:
    coordinator = make_member(consortium, Role.COORDINATOR, "urtie-idf")
    invitations.invite_organisation(
        consortium,
        organisation_name=HOSTILE,
        departement="93",
        name="Zoé",
        email="zoe@exemple.fr",
        by=coordinator,
    )
    message = only_message()
    assert f"« {HOSTILE} »" in message.text_body
    assert "<script>" not in message.html_body
    assert "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt; {{7*7}} Élan 🌱" in message.html_body
    assert "{{7*7}}" in message.text_body  # never evaluated as a template


def test_the_coordination_is_told_of_a_request_with_its_details(consortium: Consortium) -> None:
    make_member(consortium, Role.COORDINATOR, "urtie-idf", email="coord@urtie.example")
    volunteer(consortium)
    message = only_message()
    assert (
        message.subject
        == f"Nouvelle candidature au consortium « Cap Remobilisation Île-de-France » : {HOSTILE}"
    )
    assert (
        f"Organisation : {HOSTILE} (93)\nContact : Zoé <i>Lefèvre</i> <zoe@exemple.fr>" in message.text_body
    )
    assert "Participants envisagés par an : 1\u202f200" in message.text_body
    assert "Zoé &lt;i&gt;Lefèvre&lt;/i&gt;" in message.html_body
    assert 'href="http://localhost/consortia/cap-remob-idf/candidatures"' in message.html_body


@pytest.mark.parametrize("reason", ["volunteer", "organisation", "colleague", "reader", "coordinator"])
def test_every_invitation_names_the_consortium_and_carries_an_absolute_link(
    consortium: Consortium, reason: str
) -> None:
    coordinator = make_member(consortium, Role.COORDINATOR, "urtie-idf")
    if reason == "volunteer":
        volunteering.accept_volunteer_request(volunteer(consortium, "PLIE de Meaux"), by=coordinator)
        db.session.delete(
            db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "volunteer.received")).one()
        )
    elif reason == "organisation":
        invitations.invite_organisation(
            consortium,
            organisation_name="PLIE de Meaux",
            departement="77",
            name="Z",
            email="z@e.fr",
            by=coordinator,
        )
    else:
        role = {"colleague": Role.CONTRIBUTOR, "reader": Role.READER, "coordinator": Role.COORDINATOR}[reason]
        invitations.invite_person(
            consortium,
            role=role,
            email="z@e.fr",
            name="Z",
            partner=partner_by_code(consortium, "plie-sevran"),
            by=coordinator,
        )
    db.session.flush()
    message = only_message()
    for body in (message.text_body, message.html_body):
        assert "Cap Remobilisation Île-de-France" in body
        assert "http://localhost/invitation/" in body
        assert "expire le" in body
    assert message.html_body.startswith("<!doctype html>")
    assert '<html lang="fr">' in message.html_body


def test_links_are_built_from_the_public_address(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "PUBLIC_URL", "https://consortio.example.org/urtie/")
    assert (
        public_link("invitations.accept", token="abc") == "https://consortio.example.org/urtie/invitation/abc"
    )
    assert (
        public_link("volunteering.volunteer", slug="cap")
        == "https://consortio.example.org/urtie/candidature/cap"
    )


def test_a_subject_never_spans_two_lines(consortium: Consortium) -> None:
    message = queue_mail(
        "zoe@exemple.fr",
        "volunteer_declined",
        subject="Votre candidature\r\nBcc: tous@exemple.fr",
        kind="test",
        consortium=consortium,
        volunteer=volunteer(consortium, "PLIE X"),
        message="Non.",
        decider="Claire",
        link="http://localhost/",
    )
    assert message.subject == "Votre candidature Bcc: tous@exemple.fr"
