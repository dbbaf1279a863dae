"""Budget services: the consolidated figures of a consortium."""

from __future__ import annotations

from dataclasses import dataclass

from flask import g, has_request_context, request

from app import content_version
from app.budget import figures
from app.budget.calculations import Consolidation, ConsortiumFigures, consolidate
from app.consortia.models import Consortium
from app.sections import services as sections
from app.templating import paris_today


@dataclass(frozen=True)
class ConsortiumState:
    """A consortium's loaded figures and what they add up to."""

    data: figures.ConsortiumData
    consolidation: Consolidation


def consolidation_of(consortium: Consortium) -> ConsortiumState:
    """Load the consortium's figures and sections and consolidate them (constant number of queries).

    A page that only reads (GET) computes it once: the header's badge, the board and the page's own
    figures share it. A request that writes recomputes it each time, after its changes.
    """
    if not has_request_context() or request.method not in ("GET", "HEAD"):
        return _consolidate(consortium)
    memo: dict[int, ConsortiumState] = g.setdefault("consolidations", {})
    if consortium.id not in memo:
        memo[consortium.id] = _consolidate(consortium)
    return memo[consortium.id]


def totals_of(consortium: Consortium) -> Consolidation:
    """What the consortium's figures add up to, without the rows pages show (the header's badge)."""
    return _plain(consortium)[1]


def _consolidate(consortium: Consortium) -> ConsortiumState:
    """The rows pages show, read each time (a few); the figures and their totals from `_plain`."""
    rows = figures.load_rows(consortium)
    plain, totals = _plain(consortium, rows)
    return ConsortiumState(figures.data_of(consortium, rows, plain), totals)


def _plain(
    consortium: Consortium, rows: figures.Rows | None = None
) -> tuple[ConsortiumFigures, Consolidation]:
    """The figures and their totals, plain values, computed once per content version of the
    consortium (and per day: the checks count days)."""

    def compute() -> tuple[ConsortiumFigures, Consolidation]:
        loaded = rows if rows is not None else figures.load_rows(consortium)
        section_rows = sections.active_sections(consortium)
        texts = sections.current_texts(consortium)
        plain = figures.plain_figures(consortium, loaded, figures.section_figures(section_rows, texts))
        return plain, consolidate(plain)

    return content_version.remembered(consortium, ("consolidation", paris_today()), compute)
