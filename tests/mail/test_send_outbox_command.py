"""`flask send-outbox`: one delivery round from the command line (cron); exit 1 when a message is given up."""

from __future__ import annotations

import pytest
from flask import Flask

from app.extensions import db
from app.mail import delivery
from app.mail.models import MessageStatus, OutboxMessage


def add_message(attempts: int = 0) -> OutboxMessage:
    message = OutboxMessage(
        kind="test", to="anne@exemple.fr", subject="Objet", text_body="Bonjour", html_body="<p>Bonjour</p>"
    )
    message.attempts = attempts
    db.session.add(message)
    db.session.commit()
    return message


def test_send_outbox_sends_what_is_due_and_reports_it(app: Flask) -> None:
    message = add_message()
    result = app.test_cli_runner().invoke(args=["send-outbox"])
    assert result.exit_code == 0, result.output
    assert "Courriels : 1 envoyé(s), 0 à réessayer, 0 en échec définitif." in result.output
    db.session.refresh(message)
    assert message.status == MessageStatus.SENT


def test_send_outbox_exits_1_when_a_message_is_given_up(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(message: OutboxMessage) -> None:
        raise OSError("réseau injoignable")

    monkeypatch.setattr(delivery, "_send", refuse)
    add_message(attempts=len(delivery.RETRY_DELAYS))  # its last chance
    result = app.test_cli_runner().invoke(args=["send-outbox", "--limit", "10"])
    assert result.exit_code == 1
    assert "0 envoyé(s), 0 à réessayer, 1 en échec définitif." in result.output
