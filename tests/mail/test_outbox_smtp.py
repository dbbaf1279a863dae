"""Sending by SMTP, against a small SMTP server started on 127.0.0.1 for the test (aiosmtpd)."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from flask import Flask
from sqlalchemy import select

from app.consortia.models import Role
from app.extensions import db
from app.invitations import services as invitations
from app.mail.delivery import DeliveryReport, deliver_due
from app.mail.models import MessageStatus, OutboxMessage
from tests.factories import make_consortium, make_member


@dataclass
class Mailbox:
    """What the test server received, and how it should answer."""

    messages: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    answer: str = "250 Message accepté"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.answer.startswith("250"):
            parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
            assert isinstance(parsed, EmailMessage)
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return self.answer

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if isinstance(data, LoginPassword) and (data.login, data.password) == (b"consortio", b"secret"):
            self.logins.append(data.login.decode())
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def mailbox(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    """An SMTP server on 127.0.0.1 (LOGIN allowed without TLS, as on a local relay); the app points at it."""
    box = Mailbox()
    port = free_port()
    controller = Controller(
        box, hostname="127.0.0.1", port=port, authenticator=box.authenticate, auth_require_tls=False
    )
    controller.start()
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", port)
    monkeypatch.setitem(app.config, "MAIL_USE_TLS", False)
    yield box
    controller.stop()


def invitation_message() -> OutboxMessage:
    """A real invitation e-mail, with a name full of markup and an emoji."""
    consortium = make_consortium()
    coordinator = make_member(consortium, Role.COORDINATOR, "urtie-idf")
    invitations.invite_organisation(
        consortium,
        organisation_name='Élan "><b>PLIE</b> 🌱',
        departement="93",
        name="Zoé Lefèvre",
        email="zoe@plie-elan.example",
        by=coordinator,
    )
    db.session.commit()
    return db.session.scalars(select(OutboxMessage)).one()


def test_a_message_goes_out_by_smtp_in_french_with_text_and_html(mailbox: Mailbox) -> None:
    message = invitation_message()
    assert deliver_due() == DeliveryReport(sent=1, retried=0, failed=0)
    db.session.refresh(message)
    assert message.status == MessageStatus.SENT
    [(sender, recipients, received)] = mailbox.messages
    assert sender == "ne-pas-repondre@consortio.invalid"
    assert recipients == ["zoe@plie-elan.example"]
    assert received["Subject"] == "Invitation à rejoindre le consortium « Cap Remobilisation Île-de-France »"
    assert received["From"] == "Consortio <ne-pas-repondre@consortio.invalid>"
    assert received["Auto-Submitted"] == "auto-generated"
    assert received["Message-ID"].endswith("@consortio.invalid>")
    assert received.get_content_type() == "multipart/alternative"
    text = received.get_body(preferencelist=("plain",))
    html = received.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    assert 'invite « Élan "><b>PLIE</b> 🌱 » à rejoindre' in text.get_content()
    assert "Élan &#34;&gt;&lt;b&gt;PLIE&lt;/b&gt; 🌱" in html.get_content()
    assert "http://localhost/invitation/" in text.get_content()


def test_the_server_logs_in_when_a_user_name_is_configured(
    app: Flask, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "MAIL_USERNAME", "consortio")
    monkeypatch.setitem(app.config, "MAIL_PASSWORD", "secret")
    invitation_message()
    assert deliver_due() == DeliveryReport(1, 0, 0)
    assert mailbox.logins == ["consortio"]


def test_wrong_credentials_leave_the_message_for_a_retry(
    app: Flask, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "MAIL_USERNAME", "consortio")
    monkeypatch.setitem(app.config, "MAIL_PASSWORD", "mauvais")
    message = invitation_message()
    assert deliver_due() == DeliveryReport(0, 1, 0)
    db.session.refresh(message)
    assert message.last_error.startswith("SMTPAuthenticationError")
    assert mailbox.messages == []


def test_a_refusal_by_the_server_is_recorded_and_retried(mailbox: Mailbox) -> None:
    mailbox.answer = "451 Réessayez plus tard"
    message = invitation_message()
    assert deliver_due() == DeliveryReport(0, 1, 0)
    db.session.refresh(message)
    assert message.status == MessageStatus.PENDING
    assert "451" in message.last_error


def test_an_unreachable_server_is_recorded_and_retried(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", free_port())  # nobody listens there
    monkeypatch.setitem(app.config, "MAIL_USE_TLS", False)
    message = invitation_message()
    assert deliver_due() == DeliveryReport(0, 1, 0)
    db.session.refresh(message)
    assert message.last_error.startswith("ConnectionRefusedError")
