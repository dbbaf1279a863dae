"""Budget services: the consolidated figures of a consortium."""

from __future__ import annotations

from dataclasses import dataclass

from app.budget import figures
from app.budget.calculations import Consolidation, consolidate
from app.consortia.models import Consortium
from app.sections import services as sections


@dataclass(frozen=True)
class ConsortiumState:
    """A consortium's loaded figures and what they add up to."""

    data: figures.ConsortiumData
    consolidation: Consolidation


def consolidation_of(consortium: Consortium) -> ConsortiumState:
    """Load the consortium's figures and sections and consolidate them (constant number of queries)."""
    section_rows = sections.active_sections(consortium)
    texts = sections.current_texts(consortium)
    data = figures.load(consortium, figures.section_figures(section_rows, texts))
    return ConsortiumState(data, consolidate(data.figures))
