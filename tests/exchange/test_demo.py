"""The demo document dated from the day it is loaded (seed-demo), the example keeping its own dates."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.exchange.demo import dated_document
from app.exchange.serialisation import is_sign_off_valid
from app.exchange.validation import load_document
from tests.factories import DEMO_DOCUMENT

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("today", "deadline", "start", "end"),
    [
        (date(2026, 12, 7), date(2027, 1, 18), date(2027, 2, 1), date(2030, 1, 31)),
        (date(2027, 5, 31), date(2027, 7, 12), date(2027, 8, 1), date(2030, 7, 31)),
        # A start in January would give three budget years instead of four: February then.
        (date(2026, 11, 1), date(2026, 12, 13), date(2027, 2, 1), date(2030, 1, 31)),
    ],
)
def test_the_deadline_is_six_weeks_ahead_and_the_36_months_start_after_it(
    today: date, deadline: date, start: date, end: date
) -> None:
    document = dated_document(DEMO_DOCUMENT.read_bytes(), today, NOW)

    assert document.call.submission_deadline == deadline
    assert (document.consortium.project_start, document.consortium.project_end) == (start, end)
    assert document.budget_model.years == tuple(range(start.year, start.year + 4))
    for partner in document.partners:
        assert set(partner.budget) == set(document.budget_model.years)


def test_sign_offs_keep_their_state_and_are_in_the_past_and_the_summary_names_the_new_period() -> None:
    original = load_document(DEMO_DOCUMENT.read_bytes())
    document = dated_document(DEMO_DOCUMENT.read_bytes(), date(2026, 12, 7), NOW)

    before = [is_sign_off_valid(original, partner) for partner in original.partners]
    after = [is_sign_off_valid(document, partner) for partner in document.partners]
    assert after == before
    assert sum(after) == 3
    assert all(p.sign_off.at < NOW for p in document.partners if p.sign_off is not None)
    summary = next(section for section in document.sections if section.code == "resume")
    assert "De février 2027 à janvier 2030" in (summary.content or "")
    assert "2019" not in (summary.content or "")
