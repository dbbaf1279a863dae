"""Reminders: what each partner's e-mail lists, to whom it goes, the log, and the scheduled command."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.annexes.models import AnnexKind, RequiredAnnex
from app.audit import AuditEvent
from app.auth.models import User
from app.consortia.models import Consortium, ConsortiumStatus, Partner, Role
from app.coordination import reminders, services
from app.coordination.models import Milestone, Reminder
from app.errors import Invalid, NotAllowed
from app.extensions import db
from app.mail.models import OutboxMessage
from tests.factories import make_consortium, make_member

TODAY = date(2026, 3, 1)


def _consortium(partners: int = 3) -> Consortium:
    consortium = make_consortium(partners)
    consortium.call.submission_deadline = date(2026, 3, 31)
    db.session.commit()
    return consortium


def _milestone(
    consortium: Consortium, by: User, covers: list[str], due: str = "2026-03-05", remind: str = "5"
) -> Milestone:
    draft = services.read_draft(
        consortium,
        title="Budgets signés",
        due_date=due,
        covers=covers,
        remind_days_before=remind,
        today=TODAY,
    )
    milestone = services.add_milestone(consortium, draft, by=by)
    db.session.commit()
    return milestone


def _outbox() -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_preview_lists_exactly_what_each_partner_owes(app: Flask) -> None:
    consortium = _consortium(3)
    coordinator = make_member(consortium, Role.COORDINATOR, email="coord@exemple.fr")
    with app.test_request_context():
        messages = reminders.plan(consortium, reminders.ALL, by=coordinator, today=TODAY)
        assert {m.partner.code for m in messages} == {p.code for p in consortium.partners}
        lead = next(m for m in messages if m.partner.code == consortium.partners[0].code)
        text = lead.text_body
    labels = [item.label for item in lead.items]
    assert "Engagements signés par la direction" in labels
    for item in lead.items:
        assert item.label in text
        assert item.url.startswith("http")
        assert item.url in text
    assert "Relance envoyée par" in text
    # One line per item, its link on the next: readable in any mail client.
    lines = text.splitlines()
    for item in lead.items:
        index = lines.index(f"- {item.label} : {item.state_label.lower()}")
        assert lines[index + 1].strip() == item.url
    assert lead.partner.name in lead.subject
    assert lead.recipients == tuple(sorted(c["email"] for c in consortium.partners[0].contacts))
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_send_to_one_partner_queues_its_email_and_logs_it() -> None:
    consortium = _consortium(3)
    coordinator = make_member(consortium, Role.COORDINATOR, email="coord@exemple.fr")
    partner = consortium.partners[1]
    director = make_member(consortium, Role.DIRECTOR, partner.code, email="dir@exemple.fr")
    make_member(consortium, Role.CONTRIBUTOR, partner.code, email="contrib@exemple.fr")
    make_member(consortium, Role.READER, email="lecteur@exemple.fr")
    result = reminders.send(consortium, partner.code, by=coordinator, today=TODAY)
    db.session.commit()
    assert result.sent == [partner.name]
    messages = _outbox()
    # Directors and contributors with accounts, not the contacts, not the readers.
    assert sorted(m.to for m in messages) == ["contrib@exemple.fr", director.email]
    assert all(m.kind == "reminder" for m in messages)
    reminder = db.session.scalar(select(Reminder))
    assert reminder is not None
    assert reminder.partner_id == partner.id
    assert not reminder.automatic
    assert reminder.sent_by_id == coordinator.id
    assert reminder.sent_on == TODAY
    assert sorted(reminder.recipients) == ["contrib@exemple.fr", "dir@exemple.fr"]
    for item in reminder.items:
        assert item["label"] in messages[0].text_body
        assert item["label"] in messages[0].html_body
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.kind == "reminder.sent"))
    assert event is not None
    assert event.partner_id == partner.id
    assert event.actor_id == coordinator.id


def test_send_to_all_reaches_each_partner_with_its_own_items() -> None:
    consortium = _consortium(3)
    coordinator = make_member(consortium, Role.COORDINATOR)
    result = reminders.send(consortium, reminders.ALL, by=coordinator, today=TODAY)
    db.session.commit()
    assert len(result.sent) == 3
    by_partner = {r.partner_id: r for r in db.session.scalars(select(Reminder))}
    for partner in consortium.partners:
        mails = [m for m in _outbox() if m.to in {c["email"] for c in partner.contacts}]
        assert mails
        assert all(partner.name in m.subject for m in mails)
        listed = [item["label"] for item in by_partner[partner.id].items]
        assert all(label in mails[0].text_body for label in listed)
    # The lead never signed; the others did: only the lead's e-mail asks for a signature.
    signature = "Engagements signés par la direction"
    lead_mail = next(m for m in _outbox() if m.to in {c["email"] for c in consortium.partners[0].contacts})
    other_mail = next(m for m in _outbox() if m.to in {c["email"] for c in consortium.partners[1].contacts})
    assert signature in lead_mail.text_body
    assert signature not in other_mail.text_body


def test_send_per_milestone_lists_only_its_kinds() -> None:
    consortium = _consortium(3)
    coordinator = make_member(consortium, Role.COORDINATOR)
    milestone = _milestone(consortium, coordinator, ["sign_off"])
    result = reminders.send(consortium, reminders.ALL, milestone_id=milestone.id, by=coordinator, today=TODAY)
    db.session.commit()
    assert result.sent == [consortium.partners[0].name]
    reminder = db.session.scalar(select(Reminder))
    assert reminder is not None
    assert reminder.milestone_id == milestone.id
    assert [item["kind"] for item in reminder.items] == ["sign_off"]
    mail = _outbox()[0]
    assert "Budgets signés" in mail.text_body
    assert "5 mars 2026" in mail.text_body


def test_partner_without_any_address_gets_a_clear_message_and_nothing_is_sent() -> None:
    consortium = _consortium(3)
    coordinator = make_member(consortium, Role.COORDINATOR)
    partner = consortium.partners[1]
    partner.contacts = []
    db.session.commit()
    with pytest.raises(Invalid) as error:
        reminders.send(consortium, partner.code, by=coordinator, today=TODAY)
    assert "aucune adresse e-mail" in str(error.value)
    db.session.rollback()
    assert _outbox() == []
    assert db.session.scalar(select(Reminder)) is None


def test_sending_to_all_skips_partners_without_address_and_says_so() -> None:
    consortium = _consortium(3)
    coordinator = make_member(consortium, Role.COORDINATOR)
    partner = consortium.partners[1]
    partner.contacts = []
    db.session.commit()
    result = reminders.send(consortium, reminders.ALL, by=coordinator, today=TODAY)
    assert result.without_address == [partner.name]
    assert partner.id not in {r.partner_id for r in db.session.scalars(select(Reminder))}


def test_partner_that_owes_nothing_gets_nothing() -> None:
    consortium = _consortium(3)
    coordinator = make_member(consortium, Role.COORDINATOR)
    milestone = _milestone(consortium, coordinator, ["sign_off"])
    with pytest.raises(Invalid) as error:
        reminders.send(
            consortium, consortium.partners[1].code, milestone_id=milestone.id, by=coordinator, today=TODAY
        )
    assert "n'a plus rien à fournir" in str(error.value)
    assert _outbox() == []


def test_only_the_coordination_sends_reminders() -> None:
    consortium = _consortium(2)
    director = make_member(consortium, Role.DIRECTOR, consortium.partners[1].code)
    with pytest.raises(NotAllowed):
        reminders.send(consortium, reminders.ALL, by=director, today=TODAY)
    assert _outbox() == []


def test_names_are_shown_literally_in_the_email() -> None:
    consortium = _consortium(2)
    coordinator = make_member(consortium, Role.COORDINATOR)
    partner = consortium.partners[1]
    partner.organisation.name = '"><script>alert(1)</script>{{7*7}}'
    db.session.commit()
    reminders.send(consortium, partner.code, by=coordinator, today=TODAY)
    mail = _outbox()[0]
    assert "<script>" not in mail.html_body
    assert "&lt;script&gt;" in mail.html_body
    assert "{{7*7}}" in mail.text_body
    assert "49" not in mail.subject


def _run_scheduled(day: date) -> reminders.SendResult:
    return reminders.send_scheduled(day)


def test_scheduled_reminders_go_out_within_the_window_only() -> None:
    consortium = _consortium(3)
    coordinator = make_member(consortium, Role.COORDINATOR)
    _milestone(consortium, coordinator, ["sign_off"], due="2026-03-10", remind="3")
    assert _run_scheduled(date(2026, 3, 6)).sent == []
    result = _run_scheduled(date(2026, 3, 7))
    assert result.sent == [f"{consortium.partners[0].name} (Budgets signés)"]
    reminder = db.session.scalar(select(Reminder))
    assert reminder is not None
    assert reminder.automatic
    assert reminder.sent_by_id is None
    assert "automatiquement" in _outbox()[0].text_body
    assert _run_scheduled(date(2026, 3, 11)).sent == []


def test_scheduled_reminder_never_twice_the_same_day() -> None:
    consortium = _consortium(3)
    coordinator = make_member(consortium, Role.COORDINATOR)
    _milestone(consortium, coordinator, ["sign_off"], due="2026-03-10", remind="3")
    first = _run_scheduled(date(2026, 3, 8))
    mails = len(_outbox())
    second = _run_scheduled(date(2026, 3, 8))
    assert len(first.sent) == 1
    assert second.sent == []
    assert len(second.already_sent) == 1
    assert len(_outbox()) == mails
    assert db.session.scalar(select(func.count()).select_from(Reminder)) == 1
    # The next day it goes again.
    assert len(_run_scheduled(date(2026, 3, 9)).sent) == 1


def test_a_manual_reminder_does_not_block_the_scheduled_one() -> None:
    consortium = _consortium(2)
    coordinator = make_member(consortium, Role.COORDINATOR)
    milestone = _milestone(consortium, coordinator, ["sign_off"], due="2026-03-10", remind="3")
    reminders.send(
        consortium, reminders.ALL, milestone_id=milestone.id, by=coordinator, today=date(2026, 3, 8)
    )
    db.session.commit()
    assert len(_run_scheduled(date(2026, 3, 8)).sent) == 1


def test_cli_prints_a_french_summary(app: Flask) -> None:
    consortium = _consortium(3)
    coordinator = make_member(consortium, Role.COORDINATOR)
    _milestone(consortium, coordinator, ["sign_off"], due="2026-03-10", remind="3")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["send-reminders", "--today", "2026-03-09"])
    assert result.exit_code == 0, result.output
    assert "Relances automatiques du 9 mars 2026 : 1 membre(s) relancé(s)" in result.output
    again = runner.invoke(args=["send-reminders", "--today", "2026-03-09"])
    assert "0 membre(s) relancé(s)" in again.output
    assert "1 déjà relancé(s) aujourd'hui" in again.output
    bad = runner.invoke(args=["send-reminders", "--today", "9 mars"])
    assert bad.exit_code != 0
    assert "AAAA-MM-JJ" in bad.output


def test_log_names_sender_or_automatic() -> None:
    consortium = _consortium(2)
    coordinator = make_member(consortium, Role.COORDINATOR)
    coordinator.name = "Claire Coordination"
    milestone = _milestone(consortium, coordinator, ["sign_off"], due="2026-03-10", remind="3")
    reminders.send(consortium, reminders.ALL, by=coordinator, today=TODAY)
    db.session.commit()
    _run_scheduled(date(2026, 3, 9))
    log = reminders.log_of(consortium)
    assert {entry.sender for entry in log} == {"Claire Coordination", "envoi automatique"}
    assert any(entry.milestone_title == milestone.title for entry in log)
    assert all(isinstance(entry.partner_name, str) and entry.partner_name for entry in log)
    assert db.session.get(Partner, log[0].reminder.partner_id) is not None


def test_two_concurrent_runs_send_each_reminder_once(app: Flask) -> None:
    consortium = _consortium(4)
    coordinator = make_member(consortium, Role.COORDINATOR)
    _milestone(consortium, coordinator, ["annex", "sign_off", "budget"], due="2026-03-10", remind="3")
    db.session.add(RequiredAnnex(consortium_id=consortium.id, kind=AnnexKind.STATUTES))
    db.session.commit()
    day = date(2026, 3, 8)
    start = threading.Barrier(2)
    results: list[reminders.SendResult] = []
    errors: list[BaseException] = []

    def run() -> None:
        with app.app_context():
            try:
                start.wait()
                results.append(reminders.send_scheduled(day))
            except BaseException as error:  # reported below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    sent = [label for result in results for label in result.sent]
    skipped = [label for result in results for label in result.already_sent]
    assert len(sent) == 4
    assert len(set(sent)) == 4
    assert sorted(skipped) == sorted(sent)
    assert db.session.scalar(select(func.count()).select_from(Reminder)) == 4
    recipients = sum(len(p.contacts) for p in consortium.partners)
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == recipients


def test_no_scheduled_reminder_once_the_dossier_is_filed() -> None:
    consortium = _consortium(2)
    coordinator = make_member(consortium, Role.COORDINATOR)
    _milestone(consortium, coordinator, ["sign_off"], due="2026-03-10", remind="3")
    consortium.status = ConsortiumStatus.SUBMITTED
    db.session.commit()
    assert _run_scheduled(date(2026, 3, 9)).sent == []
    assert _outbox() == []


def test_deleting_a_milestone_keeps_its_reminders_in_the_log() -> None:
    consortium = _consortium(2)
    coordinator = make_member(consortium, Role.COORDINATOR)
    milestone = _milestone(consortium, coordinator, ["sign_off"])
    reminders.send(consortium, reminders.ALL, milestone_id=milestone.id, by=coordinator, today=TODAY)
    services.remove_milestone(milestone, consortium, by=coordinator)
    db.session.commit()
    db.session.expire_all()
    reminder = db.session.scalar(select(Reminder))
    assert reminder is not None
    assert reminder.milestone_id is None
    assert [entry.partner_name for entry in reminders.log_of(consortium)] == [consortium.partners[0].name]
