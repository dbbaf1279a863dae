"""A part's state (empty, written, to review, validated): the same on every page that shows it."""

from __future__ import annotations

import pytest

from app.sections.models import SectionStatus
from app.sections.states import PART_STATE_LABELS, PartState, part_state, section_state

# What each state shows, in French, wherever it is shown.
LABELS = {"empty": "À faire", "written": "En cours", "to_review": "À relire", "validated": "Validé"}


@pytest.mark.parametrize(
    ("length", "status", "state"),
    [
        (0, SectionStatus.TODO, PartState.EMPTY),
        (0, SectionStatus.IN_PROGRESS, PartState.EMPTY),
        (12, SectionStatus.TODO, PartState.WRITTEN),
        (12, SectionStatus.IN_PROGRESS, PartState.WRITTEN),
        (0, SectionStatus.IN_REVIEW, PartState.TO_REVIEW),
        (12, SectionStatus.IN_REVIEW, PartState.TO_REVIEW),
        (0, SectionStatus.VALIDATED, PartState.VALIDATED),
        (12, SectionStatus.VALIDATED, PartState.VALIDATED),
    ],
)
def test_a_text_with_visible_characters_is_written_whatever_its_status_says(
    length: int, status: SectionStatus, state: PartState
) -> None:
    assert part_state(length, status) is state
    assert PART_STATE_LABELS[state] == LABELS[state.value]


@pytest.mark.parametrize(
    ("parts", "state"),
    [
        ((), PartState.EMPTY),
        ((PartState.EMPTY, PartState.EMPTY), PartState.EMPTY),
        ((PartState.EMPTY, PartState.WRITTEN), PartState.WRITTEN),
        ((PartState.EMPTY, PartState.VALIDATED), PartState.WRITTEN),
        ((PartState.TO_REVIEW, PartState.VALIDATED), PartState.TO_REVIEW),
        ((PartState.VALIDATED, PartState.VALIDATED), PartState.VALIDATED),
    ],
)
def test_a_chapter_is_validated_only_when_every_part_is(
    parts: tuple[PartState, ...], state: PartState
) -> None:
    assert section_state(parts) is state
