"""Every kind of event has its French label, its group and a describer that reads any stored data."""

from __future__ import annotations

from typing import Any

import pytest

from app.activity.labels import GROUP_LABELS, HIDDEN_KINDS, KINDS, describe, group_of, label_of
from app.audit import EventKind


def names(what: str, key: Any) -> str:
    return f"{what}:{key}"


@pytest.mark.parametrize("kind", list(EventKind))
def test_every_kind_is_shown_in_a_group_or_hidden(kind: EventKind) -> None:
    if kind in HIDDEN_KINDS:
        assert kind not in KINDS
    else:
        assert group_of(kind) in GROUP_LABELS
        assert not label_of(kind).startswith("Autre action")


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_describer_reads_an_event_with_no_data_or_odd_data(kind: str) -> None:
    describe(kind, {}, names)
    describe(kind, {"old": None, "new": [1, "x"], "changes": {"title": ["a", "b"]}, "data": 3}, names)


def test_a_kind_stored_by_another_version_still_reads() -> None:
    description = describe("futur.inconnu", {"old": "a", "new": "b"}, names)

    assert label_of("futur.inconnu") == "Autre action (futur.inconnu)"
    assert [(c.what, c.old, c.new) for c in description.changes] == [("Valeur", "a", "b")]


def test_an_amount_change_reads_as_the_line_year_and_amounts_in_french() -> None:
    data = {
        "side": "resource",
        "code": "fse",
        "year": 2020,
        "old": {"amount": "10.5"},
        "new": {"amount": "1200"},
    }

    description = describe(EventKind.BUDGET_AMOUNT_CHANGED, data, names)

    assert description.subject == "Ressource · funder:fse · 2020"
    assert [(c.what, c.old, c.new) for c in description.changes] == [
        ("Montant", "10,50\u00a0€", "1\u202f200,00\u00a0€")
    ]
