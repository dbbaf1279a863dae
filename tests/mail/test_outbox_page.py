"""The administrators' outbox page: every e-mail with its state, failures retried by hand."""

from __future__ import annotations

import html
import re

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app.consortia.models import Role
from app.extensions import db
from app.mail import delivery
from app.mail.models import MessageStatus, OutboxMessage
from tests.factories import csrf_token, login, make_consortium, make_member, make_user


def body(response: TestResponse) -> str:
    """The text a person reads on the page: no tags, entities decoded, spaces folded."""
    inline = re.sub(r"</?(?:a|b|bdi|code|em|span|strong)\b[^>]*>", "", response.get_data(as_text=True))
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", inline)).split())


def add_message(
    to: str, status: MessageStatus, subject: str = "Invitation", error: str = ""
) -> OutboxMessage:
    message = OutboxMessage(
        kind="invitation.person",
        to=to,
        subject=subject,
        text_body="Bonjour",
        html_body="<p>Bonjour</p>",
        status=status,
        attempts=6 if status == MessageStatus.FAILED else 1,
        last_error=error,
    )
    db.session.add(message)
    db.session.commit()
    return message


@pytest.fixture
def admin(client: FlaskClient) -> None:
    make_user("admin@consortio.example", admin=True)
    login(client, "admin@consortio.example")


def test_administrators_see_every_message_with_its_state_attempts_and_error(
    client: FlaskClient, admin: None
) -> None:
    add_message("envoye@exemple.fr", MessageStatus.SENT)
    add_message("echec@exemple.fr", MessageStatus.FAILED, error="SMTPAuthenticationError: (535, 'refusé')")
    add_message("attente@exemple.fr", MessageStatus.PENDING, subject='"><script>x()</script>')
    response = client.get("/admin/courriels")
    assert response.status_code == 200
    text = body(response)
    assert "Courriels" in text
    for address in ("envoye@exemple.fr", "echec@exemple.fr", "attente@exemple.fr"):
        assert address in text
    assert "SMTPAuthenticationError: (535, 'refusé')" in text
    for label in ("Échec 1", "Envoyé 1", "En attente 1"):
        assert label in text
    assert response.get_data(as_text=True).count(">Réessayer</button>") == 1
    assert "<script>x()" not in response.get_data(as_text=True)


def test_the_list_filters_by_state(client: FlaskClient, admin: None) -> None:
    add_message("envoye@exemple.fr", MessageStatus.SENT)
    add_message("echec@exemple.fr", MessageStatus.FAILED)
    text = body(client.get("/admin/courriels?etat=failed"))
    assert "echec@exemple.fr" in text
    assert "envoye@exemple.fr" not in text
    assert "envoye@exemple.fr" in body(client.get("/admin/courriels?etat=inconnu&page=-3"))


def test_retrying_a_failed_message_sends_it(
    client: FlaskClient, admin: None, capsys: pytest.CaptureFixture[str]
) -> None:
    message = add_message("echec@exemple.fr", MessageStatus.FAILED, error="ConnectionRefusedError")
    response = client.post(
        f"/admin/courriels/{message.id}/reessayer", data={"csrf_token": csrf_token(client)}
    )
    assert response.status_code == 303
    assert "Le courriel à echec@exemple.fr a été envoyé." in body(client.get(response.headers["Location"]))
    assert "À : echec@exemple.fr" in capsys.readouterr().out
    db.session.refresh(message)
    assert message.status == MessageStatus.SENT


def test_a_retry_that_fails_again_says_so(
    client: FlaskClient, admin: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(message: OutboxMessage) -> None:
        raise ConnectionRefusedError(111, "Connexion refusée")

    monkeypatch.setattr(delivery, "_send", refuse)
    message = add_message("echec@exemple.fr", MessageStatus.FAILED)
    response = client.post(
        f"/admin/courriels/{message.id}/reessayer", data={"csrf_token": csrf_token(client)}
    )
    text = body(client.get(response.headers["Location"]))
    assert "Le courriel à echec@exemple.fr n'est toujours pas parti" in text
    assert "Il sera réessayé automatiquement." in text
    db.session.refresh(message)
    assert (message.status, message.attempts) == (MessageStatus.PENDING, 1)


def test_retrying_a_message_that_is_no_longer_failed_changes_nothing(
    client: FlaskClient, admin: None
) -> None:
    message = add_message("envoye@exemple.fr", MessageStatus.SENT)
    response = client.post(
        f"/admin/courriels/{message.id}/reessayer", data={"csrf_token": csrf_token(client)}
    )
    assert "Ce courriel n'est plus en échec : rien n'a été modifié." in body(
        client.get(response.headers["Location"])
    )
    assert (
        client.post("/admin/courriels/999999/reessayer", data={"csrf_token": csrf_token(client)}).status_code
        == 404
    )


def test_the_outbox_is_for_administrators_only(client: FlaskClient) -> None:
    message = add_message("echec@exemple.fr", MessageStatus.FAILED)
    assert client.get("/admin/courriels").status_code == 302
    consortium = make_consortium()
    make_member(consortium, Role.COORDINATOR, "urtie-idf", email="coord@urtie.example")
    login(client, "coord@urtie.example")
    assert client.get("/admin/courriels").status_code == 403
    response = client.post(
        f"/admin/courriels/{message.id}/reessayer", data={"csrf_token": csrf_token(client)}
    )
    assert response.status_code == 403
    db.session.refresh(message)
    assert message.status == MessageStatus.FAILED
