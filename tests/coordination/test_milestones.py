"""Milestones: adding, changing, removing, the checks on their input, and what each still lacks."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.audit import AuditEvent
from app.consortia.models import Consortium, Role
from app.coordination import services
from app.coordination.models import Milestone
from app.coordination.owed import owed_of
from app.errors import Invalid, NotAllowed
from app.extensions import db
from tests.factories import make_consortium, make_member

TODAY = date(2026, 3, 1)


def _consortium(partners: int = 3) -> Consortium:
    consortium = make_consortium(partners)
    consortium.call.submission_deadline = date(2026, 3, 31)
    db.session.commit()
    return consortium


def _draft(consortium: Consortium, **values: object) -> services.MilestoneDraft:
    fields: dict[str, object] = {
        "title": "Textes des partenaires",
        "due_date": "2026-03-15",
        "covers": ["partner_text", "sign_off"],
        "remind_days_before": "3",
    }
    fields.update(values)
    return services.read_draft(consortium, today=TODAY, **fields)  # type: ignore[arg-type]


def test_add_milestone_records_it_and_an_event() -> None:
    consortium = _consortium()
    coordinator = make_member(consortium, Role.COORDINATOR)
    milestone = services.add_milestone(consortium, _draft(consortium), by=coordinator)
    db.session.commit()
    assert milestone.title == "Textes des partenaires"
    assert milestone.due_date == date(2026, 3, 15)
    assert milestone.covers == ["partner_text", "sign_off"]
    assert milestone.remind_days_before == 3
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.kind == "milestone.added"))
    assert event is not None
    assert event.data["title"] == "Textes des partenaires"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"title": "   "}, "Donnez un titre"),
        ({"title": "x" * 201}, "200 caractères"),
        ({"due_date": "2026-02-28"}, "déjà passée"),
        ({"due_date": "2026-04-01"}, "après la date de dépôt"),
        ({"due_date": "15/03/2026"}, "date d'échéance valide"),
        ({"due_date": ""}, "date d'échéance valide"),
        ({"covers": []}, "Cochez au moins un"),
        ({"covers": ["budget", "nimporte"]}, "n'existe pas"),
        ({"remind_days_before": "-2"}, "nombre entier"),
        ({"remind_days_before": "٣"}, "nombre entier"),
        ({"remind_days_before": "9999"}, "nombre entier"),
        ({"title": "a\x00b"}, "caractère interdit"),
    ],
)
def test_bad_milestone_input_is_refused_in_french(values: dict[str, object], message: str) -> None:
    consortium = _consortium(2)
    with pytest.raises(Invalid) as error:
        _draft(consortium, **values)
    assert message in str(error.value)


def test_milestone_may_fall_on_today_and_on_the_deadline() -> None:
    consortium = _consortium(2)
    assert _draft(consortium, due_date="2026-03-01").due_date == TODAY
    assert _draft(consortium, due_date="2026-03-31").due_date == date(2026, 3, 31)


def test_without_call_deadline_any_future_date_is_fine() -> None:
    consortium = _consortium(2)
    consortium.call.submission_deadline = None
    assert _draft(consortium, due_date="2027-01-01").due_date == date(2027, 1, 1)


def test_editing_a_past_milestone_keeps_its_date_allowed() -> None:
    consortium = _consortium(2)
    draft = services.read_draft(
        consortium,
        title="Budgets signés",
        due_date="2026-02-20",
        covers=["sign_off"],
        remind_days_before="",
        today=TODAY,
        previous_due=date(2026, 2, 20),
    )
    assert draft.due_date == date(2026, 2, 20)
    assert draft.remind_days_before is None


def test_update_and_remove_milestone_leave_events() -> None:
    consortium = _consortium(2)
    coordinator = make_member(consortium, Role.COORDINATOR)
    milestone = services.add_milestone(consortium, _draft(consortium), by=coordinator)
    assert services.update_milestone(
        milestone, _draft(consortium, title="Budgets signés"), consortium, by=coordinator
    )
    assert not services.update_milestone(
        milestone, _draft(consortium, title="Budgets signés"), consortium, by=coordinator
    )
    changed = db.session.scalar(select(AuditEvent).where(AuditEvent.kind == "milestone.changed"))
    assert changed is not None
    assert changed.data["changes"]["title"] == {"old": "Textes des partenaires", "new": "Budgets signés"}
    services.remove_milestone(milestone, consortium, by=coordinator)
    db.session.commit()
    assert db.session.scalar(select(Milestone)) is None
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.kind == "milestone.removed")) is not None


def test_only_the_coordination_manages_milestones() -> None:
    consortium = _consortium(2)
    director = make_member(consortium, Role.DIRECTOR, consortium.partners[1].code)
    with pytest.raises(NotAllowed):
        services.add_milestone(consortium, _draft(consortium), by=director)
    assert db.session.scalar(select(Milestone)) is None


def test_lacks_lists_only_the_milestone_kinds_not_done() -> None:
    consortium = _consortium(3)
    coordinator = make_member(consortium, Role.COORDINATOR)
    milestone = services.add_milestone(consortium, _draft(consortium, covers=["sign_off"]), by=coordinator)
    lacks = services.lacks_of(milestone, owed_of(consortium))
    # Partners 2 and 3 of the demo have signed; the lead has not.
    assert [lack.partner.code for lack in lacks] == [consortium.partners[0].code]
    assert [item.kind for item in lacks[0].items] == ["sign_off"]


def test_countdown_reads_like_a_french_planning() -> None:
    assert services.countdown(TODAY + timedelta(days=12), TODAY) == "J-12"
    assert services.countdown(TODAY, TODAY) == "Jour J"
    assert services.countdown(TODAY - timedelta(days=2), TODAY) == "Dépassé de 2 jour(s)"
    assert services.countdown(None, TODAY) == ""


def test_partner_todo_dates_each_item_by_the_nearest_milestone_covering_it() -> None:
    consortium = _consortium(3)
    coordinator = make_member(consortium, Role.COORDINATOR)
    lead = consortium.partners[0]
    services.add_milestone(
        consortium, _draft(consortium, due_date="2026-03-20", covers=["budget", "sign_off"]), by=coordinator
    )
    services.add_milestone(
        consortium, _draft(consortium, due_date="2026-03-10", covers=["sign_off"]), by=coordinator
    )
    todo = services.todo_of(consortium, lead.id, today=TODAY)
    assert todo is not None
    due = {entry.item.kind: entry.due for entry in todo.items}
    assert due["sign_off"] == date(2026, 3, 10)
    # Texts are covered by no milestone: due with the dossier.
    assert due["partner_text"] == date(2026, 3, 31)
    assert todo.nearest is not None
    assert todo.nearest.item.kind == "sign_off"
    assert todo.latest_due == date(2026, 3, 31)
