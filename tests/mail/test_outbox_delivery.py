"""Delivering the outbox: console backend, retries with backoff, giving up, claims, sending after requests."""

from __future__ import annotations

import smtplib
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from app.audit import AuditEvent
from app.consortia.models import Role
from app.extensions import db
from app.mail import delivery
from app.mail.delivery import RETRY_DELAYS, DeliveryReport, deliver_due, send_queued_mail
from app.mail.models import MessageStatus, OutboxMessage
from tests.factories import csrf_token, login, make_consortium, make_member, make_user


def add_message(
    to: str = "anne@exemple.fr", subject: str = "Invitation à rejoindre « Cap »"
) -> OutboxMessage:
    message = OutboxMessage(
        kind="test",
        to=to,
        subject=subject,
        text_body="Bonjour Anne,\nVoici le lien : http://localhost/invitation/abc\n",
        html_body="<p>Bonjour Anne,</p>",
    )
    db.session.add(message)
    db.session.commit()
    return message


def refuse(message: OutboxMessage) -> None:
    raise smtplib.SMTPServerDisconnected("connexion perdue")


def make_due(message: OutboxMessage) -> None:
    message.next_attempt_at = datetime.now(UTC) - timedelta(seconds=1)
    db.session.commit()


def test_without_mail_server_messages_are_printed_readably_and_marked_sent(
    capsys: pytest.CaptureFixture[str],
) -> None:
    message = add_message()
    assert deliver_due() == DeliveryReport(sent=1, retried=0, failed=0)
    out = capsys.readouterr().out
    assert "À : anne@exemple.fr" in out
    assert "Objet : Invitation à rejoindre « Cap »" in out
    assert "Voici le lien : http://localhost/invitation/abc" in out
    db.session.refresh(message)
    assert message.status == MessageStatus.SENT
    assert message.attempts == 1
    assert message.sent_at is not None
    assert deliver_due() == DeliveryReport(0, 0, 0), "a sent message is never sent again"


def test_failures_are_retried_later_with_growing_delays_then_given_up(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(delivery, "_send", refuse)
    message = add_message()
    for attempt, minutes in enumerate(RETRY_DELAYS, start=1):
        before = datetime.now(UTC)
        assert deliver_due() == DeliveryReport(sent=0, retried=1, failed=0)
        db.session.refresh(message)
        assert (message.status, message.attempts) == (MessageStatus.PENDING, attempt)
        assert message.last_error == "SMTPServerDisconnected: connexion perdue"
        wait = message.next_attempt_at - before
        assert timedelta(minutes=minutes) <= wait < timedelta(minutes=minutes, seconds=30)
        assert deliver_due() == DeliveryReport(0, 0, 0), "not due yet"
        make_due(message)

    assert deliver_due() == DeliveryReport(sent=0, retried=0, failed=1)
    db.session.refresh(message)
    assert (message.status, message.attempts) == (MessageStatus.FAILED, len(RETRY_DELAYS) + 1)
    assert "abandonné" in caplog.text
    make_due(message)
    assert deliver_due() == DeliveryReport(0, 0, 0), "a failed message waits for an administrator"


def test_a_message_that_breaks_unexpectedly_does_not_stop_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = add_message("casse@exemple.fr")
    fine = add_message("bien@exemple.fr")
    sent: list[str] = []

    def send(message: OutboxMessage) -> None:
        if message.to == "casse@exemple.fr":
            raise UnicodeEncodeError("ascii", "é", 0, 1, "adresse")
        sent.append(message.to)

    monkeypatch.setattr(delivery, "_send", send)
    assert deliver_due() == DeliveryReport(sent=1, retried=1, failed=0)
    assert sent == ["bien@exemple.fr"]
    db.session.refresh(broken)
    db.session.refresh(fine)
    assert broken.last_error.startswith("UnicodeEncodeError")
    assert fine.status == MessageStatus.SENT


def test_a_claimed_message_cannot_be_claimed_again() -> None:
    message = add_message()
    now = datetime.now(UTC)
    assert delivery._claim(message.id, now) is True
    assert delivery._claim(message.id, now) is False


def test_two_deliveries_running_at_once_send_each_message_once(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [add_message(f"personne{i}@exemple.fr").id for i in range(12)]
    sent: list[int] = []
    lock = threading.Lock()

    def slow_send(message: OutboxMessage) -> None:
        with lock:
            sent.append(message.id)
        time.sleep(0.005)

    monkeypatch.setattr(delivery, "_send", slow_send)
    barrier = threading.Barrier(2)
    reports: list[DeliveryReport] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with app.app_context():
                barrier.wait()
                reports.append(deliver_due())
                db.session.remove()
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    db.session.commit()  # reading the ids began a transaction: on SQLite it would hold the write lock
    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(sent) == sorted(ids), "every message sent, none twice"
    assert sum(report.sent for report in reports) == len(ids)
    statuses = set(db.session.scalars(select(OutboxMessage.status)))
    assert statuses == {MessageStatus.SENT}


def test_a_worker_that_died_after_claiming_lets_the_message_be_sent_later() -> None:
    message = add_message()
    assert delivery._claim(message.id, datetime.now(UTC))
    assert deliver_due() == DeliveryReport(0, 0, 0), "claimed by a worker: left alone"
    make_due(message)  # the claim has run out
    assert deliver_due() == DeliveryReport(1, 0, 0)


def test_sending_after_a_request_never_raises(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def database_gone(limit: int = 100) -> DeliveryReport:
        raise OperationalError("SELECT", {}, Exception("connexion perdue"))

    monkeypatch.setattr(delivery, "deliver_due", database_gone)
    send_queued_mail()
    assert "restent dans la file d'attente" in caplog.text


def test_a_failing_mail_server_never_breaks_the_page_that_queued_the_mail(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    consortium = make_consortium()
    make_member(consortium, Role.DIRECTOR, "plie-sevran", email="dir@sevran.example")
    login(client, "dir@sevran.example")
    monkeypatch.setattr(delivery, "_send", refuse)
    response = client.post(
        "/consortia/cap-remob-idf/invitations/personne",
        data={
            "csrf_token": csrf_token(client),
            "name": "Camille",
            "email": "camille@sevran.example",
            "role": "contributor",
        },
    )
    assert response.status_code == 303
    message = db.session.scalars(select(OutboxMessage)).one()
    assert (message.status, message.attempts) == (MessageStatus.PENDING, 1)
    assert message.last_error == "SMTPServerDisconnected: connexion perdue"


def test_an_administrator_puts_a_failed_message_back_with_a_full_set_of_retries() -> None:
    admin = make_user("admin@exemple.fr", admin=True)
    message = add_message()
    message.status = MessageStatus.FAILED
    message.attempts = len(RETRY_DELAYS) + 1
    db.session.commit()
    assert delivery.retry(message, by=admin) is True
    assert (message.status, message.attempts) == (MessageStatus.PENDING, 0)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "mail.retried")).one()
    assert event.actor_id == admin.id
    assert event.data["old"] == {"status": "failed", "attempts": 6}
    assert delivery.retry(message, by=admin) is False, "only a failed message can be put back"
