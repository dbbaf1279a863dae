"""The notification preferences page (/compte/notifications) and the `send-digests` command."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.audit import AuditEvent
from app.auth.models import User
from app.extensions import db
from app.mail.models import OutboxMessage
from app.notifications import services
from app.notifications.models import Delivery, DigestItem, NotificationKind
from tests.factories import csrf_token, login, make_user

PAGE = "/compte/notifications"


@pytest.fixture
def person(client: FlaskClient) -> User:
    user = make_user("marie@exemple.fr", name="Marie Durand")
    login(client, user.email)
    return user


def form(token: str, **chosen: str) -> dict[str, str]:
    data = {kind.value: "immediate" for kind in NotificationKind}
    data.update(chosen)
    data["csrf_token"] = token
    return data


def test_the_page_offers_each_kind_with_both_choices_in_french(client: FlaskClient, person: User) -> None:
    html = client.get(PAGE).get_data(as_text=True)

    for label in (
        "Mentions",
        "Commentaires sur les sections que j&#39;écris",
        "Signature annulée",
        "Changements de statut",
    ):
        assert label in html
    assert html.count("Immédiatement") == 4
    assert html.count("Résumé quotidien") >= 4
    assert html.count("checked") == 4  # immediately, until the person chooses otherwise


def test_the_top_bar_name_links_to_the_page(client: FlaskClient, person: User) -> None:
    html = client.get("/").get_data(as_text=True)
    assert f'href="{PAGE}"' in html


def test_saving_a_choice_keeps_it_says_so_and_is_logged(client: FlaskClient, person: User) -> None:
    token = csrf_token(client, PAGE)

    response = client.post(PAGE, data=form(token, mention="digest"), follow_redirects=True)

    html = response.get_data(as_text=True)
    assert "Vos préférences de notification sont enregistrées." in html
    assert re.search(r'id="mention-digest"\s+value="digest" checked', html)
    assert re.search(r'id="comment-immediate"\s+value="immediate" checked', html)
    assert services.preferences_of(person)[NotificationKind.MENTION] is Delivery.DIGEST
    assert services.preferences_of(person)[NotificationKind.COMMENT] is Delivery.IMMEDIATE
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "notifications.changed"))
    assert event.actor_id == person.id


def test_a_bad_value_is_refused_in_french_and_nothing_changes(client: FlaskClient, person: User) -> None:
    token = csrf_token(client, PAGE)

    response = client.post(PAGE, data=form(token, comment="chaque-heure"))

    assert response.status_code == 422
    assert "Choisissez « Immédiatement » ou « Résumé quotidien »" in response.get_data(as_text=True)
    assert all(d is Delivery.IMMEDIATE for d in services.preferences_of(person).values())
    assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.kind == "notifications.changed")) is None


def test_a_post_without_the_csrf_token_is_refused(client: FlaskClient, person: User) -> None:
    response = client.post(PAGE, data={kind.value: "digest" for kind in NotificationKind})
    assert response.status_code == 400
    assert all(d is Delivery.IMMEDIATE for d in services.preferences_of(person).values())


def test_the_page_needs_a_login(client: FlaskClient) -> None:
    response = client.get(PAGE)
    assert response.status_code == 302
    assert "/connexion" in response.headers["Location"]


def test_send_digests_command_queues_the_digest_once(app: Flask) -> None:
    person = make_user("paul@exemple.fr", name="Paul Martin")
    db.session.add(
        DigestItem(
            user_id=person.id,
            consortium_id=None,
            kind=NotificationKind.MENTION,
            subject="Un sujet",
            text="Un texte",
            link="https://consortio.example/lien",
            created_at=datetime.now(UTC) - timedelta(hours=1),
        )
    )
    db.session.commit()
    runner = app.test_cli_runner()

    first = runner.invoke(args=["send-digests"])
    second = runner.invoke(args=["send-digests"])

    assert first.exit_code == 0, first.output
    assert "1 courriel(s)" in first.output
    assert "0 courriel(s)" in second.output
    db.session.expire_all()
    [mail] = db.session.scalars(select(OutboxMessage))
    assert (mail.to, mail.kind) == ("paul@exemple.fr", "digest")
    assert "Un texte" in mail.text_body
    assert "Votre compte" in mail.text_body
