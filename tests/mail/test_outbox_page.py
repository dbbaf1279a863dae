"""The administrators' outbox page: every e-mail with its state, failures retried by hand."""

from __future__ import annotations

import html
import re

import pytest
from flask import Flask
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


# --- one message, read by an administrator ------------------------------------------------------


def test_an_administrator_reads_a_real_invitation_with_its_link_and_the_look_is_logged(
    client: FlaskClient, admin: None
) -> None:
    from sqlalchemy import select

    from app.audit import AuditEvent, EventKind
    from app.auth.models import User
    from app.invitations.services import invite_person

    consortium = make_consortium()
    coordinator = make_member(consortium, Role.COORDINATOR, "urtie-idf", email="coord@urtie.example")
    invite_person(consortium, role=Role.READER, email="lectrice@exemple.fr", name="Lectrice", by=coordinator)
    db.session.commit()
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.to == "lectrice@exemple.fr"))
    assert message is not None

    listing = client.get("/admin/courriels").get_data(as_text=True)
    assert f'href="/admin/courriels/{message.id}"' in listing
    response = client.get(f"/admin/courriels/{message.id}")

    assert response.status_code == 200
    text = body(response)
    assert "lectrice@exemple.fr" in text
    assert "Version texte" in text
    assert "Version HTML" in text
    [link] = [found for found in re.findall(r"https?://\S+", message.text_body) if "/invitation/" in found]
    assert f'href="{link}"' in response.get_data(as_text=True)  # the link to resend by hand
    admin_id = db.session.scalar(select(User.id).where(User.email == "admin@consortio.example"))
    [seen] = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == EventKind.MAIL_VIEWED.value))
    assert (seen.actor_id, seen.data["message_id"], seen.consortium_id) == (
        admin_id,
        message.id,
        consortium.id,
    )


def test_a_messages_html_is_shown_without_script_style_or_image(client: FlaskClient, admin: None) -> None:
    message = add_message("cible@exemple.fr", MessageStatus.SENT)
    message.html_body = (
        "<html><head><title>Titre caché</title><style>p{color:red}</style></head><body>"
        '<p onclick="x()">Bonjour <a href="javascript:alert(1)">piège</a> <a href="https://exemple.fr/ok">ok</a></p>'
        '<img src="https://traceur.example/pixel.gif"><script>alert(1)</script></body></html>'
    )
    db.session.commit()

    page = client.get(f"/admin/courriels/{message.id}").get_data(as_text=True)

    assert "<script>alert(1)" not in page
    assert "onclick" not in page
    assert "javascript:" not in page
    assert "traceur.example" not in page
    assert "Titre caché" not in page
    assert 'href="https://exemple.fr/ok"' in page


def test_a_message_is_for_administrators_only_and_an_unknown_one_is_not_found(
    app: Flask, client: FlaskClient, admin: None
) -> None:
    message = add_message("echec@exemple.fr", MessageStatus.FAILED)
    assert client.get("/admin/courriels/999999").status_code == 404
    consortium = make_consortium()
    make_member(consortium, Role.COORDINATOR, "urtie-idf", email="coord@urtie.example")
    coordinator = app.test_client()
    login(coordinator, "coord@urtie.example")
    assert coordinator.get(f"/admin/courriels/{message.id}").status_code == 403
    assert "Bonjour" not in coordinator.get(f"/admin/courriels/{message.id}").get_data(as_text=True)


def test_the_outbox_goes_page_by_page_and_an_odd_page_number_reads_as_the_first(
    client: FlaskClient, admin: None
) -> None:
    for number in range(51):
        add_message(f"personne{number}@exemple.fr", MessageStatus.SENT)

    first = body(client.get("/admin/courriels"))
    second = body(client.get("/admin/courriels?page=2"))

    assert "personne50@exemple.fr" in first
    assert "Plus anciens →" in first
    assert "personne0@exemple.fr" in second
    assert "personne0@exemple.fr" not in first
    for odd in ("0", "-1", "abc", "1" * 40):
        assert body(client.get(f"/admin/courriels?page={odd}")) == first
