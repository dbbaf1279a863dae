"""The consolidated financing plan laid out as tables and charts, for the page, the .xlsx and the CSV.

Every figure comes from `app.budget.calculations.Consolidation` (through `services.consolidation_of`):
this module only arranges them into rows (a row's total across years is the only sum it adds).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from flask import url_for
from flask_babel import gettext as _

from app.budget import charts
from app.budget.calculations import Consolidation, Finding
from app.budget.models import FUNDER_GROUP_LABELS, FunderGroup
from app.budget.services import ConsortiumState
from app.consortia.models import Consortium
from app.money import format_eur, format_share

ZERO = Decimal("0.00")
BUDGET_ENDPOINT = "commitments.budget"
INDICATORS_ENDPOINT = "commitments.indicators"
_PARTNER_PATH = re.compile(r"\Apartners\[\d+\]\.(?P<rest>.*)\Z")


@dataclass(frozen=True)
class Rate:
    """A share of a total (0.652 for 65,2 %), shown as a percentage; None when there is no total."""

    value: Decimal | None


@dataclass(frozen=True)
class Quantity:
    """A number that is not money (full-time equivalents, participants per FTE), shown with two decimals."""

    value: Decimal | None


Cell = str | int | Decimal | Rate | Quantity | None


@dataclass(frozen=True)
class Table:
    """One view of the plan: a heading row, body rows and an optional total row (first cell a label)."""

    key: str  # file and sheet name, ASCII
    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    footer: tuple[Cell, ...] | None = None
    row_keys: tuple[str, ...] = ()  # partner codes for the partner table, for anchors and links


@dataclass(frozen=True)
class Plan:
    """The consolidated plan: its tables in order and the three charts as SVG markup."""

    tables: tuple[Table, ...]
    charts: dict[str, str]

    def table(self, key: str) -> Table:
        """The table with this key."""
        return next(table for table in self.tables if table.key == key)


def group_label(group: str) -> str:
    """A funder group's French name."""
    try:
        return FUNDER_GROUP_LABELS[FunderGroup(group)]
    except ValueError:
        return group


def _row_total(values: Sequence[Decimal]) -> Decimal:
    return sum(values, ZERO)


def plan_of(state: ConsortiumState) -> Plan:
    """The tables and charts of a consortium's consolidated plan, from its consolidation."""
    totals, model = state.consolidation, state.data.figures.model
    years = model.years
    year_headers = tuple(str(year) for year in years)

    partner_rows, partner_keys = [], []
    for row in totals.partners:
        status = _("actif") if row.active else _("retiré")
        partner_rows.append(
            (
                row.name,
                status,
                *(row.expenses_by_year[year] for year in years),
                row.total_expenses,
                row.total_resources,
                row.participants,
                Quantity(row.fte),
            )
        )
        partner_keys.append(row.id)
    partners = Table(
        "membres",
        _("Dépenses par membre et par année"),
        (
            _("Membre"),
            _("Statut"),
            *year_headers,
            _("Total des dépenses"),
            _("Total des ressources"),
            _("Participants"),
            _("ETP"),
        ),
        tuple(partner_rows),
        (
            _("Total des membres actifs"),
            "",
            *(totals.expenses_by_year[year] for year in years),
            totals.total_cost,
            totals.total_resources,
            totals.participants,
            Quantity(totals.fte),
        ),
        tuple(partner_keys),
    )
    categories = Table(
        "categories",
        _("Dépenses par catégorie et par année"),
        (_("Catégorie de dépenses"), *year_headers, _("Total")),
        tuple(
            (
                category.label + (" " + _("(calculé)") if category.computed else ""),
                *(totals.by_category[category.code][year] for year in years),
                _row_total([totals.by_category[category.code][year] for year in years]),
            )
            for category in model.expense_categories
        ),
        (_("Total des dépenses"), *(totals.expenses_by_year[year] for year in years), totals.total_cost),
    )
    funders = Table(
        "financeurs",
        _("Ressources par financeur et par année"),
        (_("Financeur"), _("Groupe"), *year_headers, _("Total")),
        tuple(
            (
                funder.label,
                group_label(funder.group),
                *(totals.by_funder[funder.code][year] for year in years),
                _row_total([totals.by_funder[funder.code][year] for year in years]),
            )
            for funder in model.funders
        ),
        (
            _("Total des ressources"),
            "",
            *(totals.resources_by_year[year] for year in years),
            totals.total_resources,
        ),
    )
    groups = Table(
        "groupes",
        _("Ressources par groupe de financeurs"),
        (_("Groupe de financeurs"), _("Montant")),
        tuple((group_label(group), amount) for group, amount in totals.by_funder_group.items()),
        (_("Total des ressources"), totals.total_resources),
    )
    rules = state.data.figures.rules
    share_range = rules.main_funder_share_range
    expected_main = (
        _("entre %(low)s et %(high)s", low=format_share(share_range[0]), high=format_share(share_range[1]))
        if share_range
        else "—"
    )
    minimum = rules.min_local_cofunding_share
    key_figures = Table(
        "chiffres-cles",
        _("Chiffres clés"),
        (_("Indicateur"), _("Valeur"), _("Règle de l'appel")),
        (
            (
                _("Coût total"),
                totals.total_cost,
                _("au moins %(minimum)s", minimum=format_eur(rules.min_total_cost))
                if rules.min_total_cost
                else "—",
            ),
            (_("Total des ressources"), totals.total_resources, "—"),
            (_("Part du financeur principal"), Rate(totals.main_funder_share), expected_main),
            (
                _("Part des cofinancements locaux"),
                Rate(totals.local_cofunding_share),
                _("au moins %(minimum)s", minimum=format_share(minimum)) if minimum is not None else "—",
            ),
            (_("Participants"), totals.participants, "—"),
            (_("Coût par participant"), totals.cost_per_participant, "—"),
            (_("Équivalents temps plein (ETP)"), Quantity(totals.fte), "—"),
            (_("Participants par ETP"), Quantity(totals.participants_per_fte), "—"),
            (_("Durée du projet (mois)"), totals.duration_months, "—"),
        ),
    )
    return Plan((key_figures, partners, categories, funders, groups), charts_of(state))


def charts_of(state: ConsortiumState) -> dict[str, str]:
    """The three charts of the plan, as SVG markup: expenses by partner, resources by funder, the years."""
    totals: Consolidation = state.consolidation
    model = state.data.figures.model
    active = [row for row in totals.partners if row.active]
    category_series = [charts.Series(c.code, c.label) for c in model.expense_categories]
    by_partner = [
        (
            row.name,
            {
                c.code: _row_total([row.expenses[year][c.code] for year in model.years])
                for c in model.expense_categories
            },
        )
        for row in active
    ]
    funder_items = [
        (funder.label, _row_total(list(totals.by_funder[funder.code].values()))) for funder in model.funders
    ]
    yearly = [
        (str(year), {"expenses": totals.expenses_by_year[year], "resources": totals.resources_by_year[year]})
        for year in model.years
    ]
    return {
        "partners": charts.stacked_bars(
            "graphique-membres",
            _("Dépenses par catégorie, pour chaque membre actif"),
            _(
                "Barres empilées : pour chaque membre actif, ses dépenses sur toute la durée du projet, "
                "réparties par catégorie ; le total figure au bout de chaque barre. Les montants exacts sont "
                "dans le tableau « Dépenses par membre et par année »."
            ),
            category_series,
            by_partner,
        ),
        "funders": charts.bars(
            "graphique-financeurs",
            _("Ressources par financeur"),
            _(
                "Barres : le montant apporté par chaque financeur sur toute la durée du projet, "
                "écrit au bout de chaque barre. Les montants exacts sont dans le tableau "
                "« Ressources par financeur et par année »."
            ),
            funder_items,
        ),
        "years": charts.grouped_columns(
            "graphique-annees",
            _("Dépenses et ressources par année"),
            _(
                "Colonnes : pour chaque année, les dépenses (à gauche) et les ressources (à droite) "
                "de tous les membres actifs, avec leur montant au-dessus."
            ),
            [charts.Series("expenses", _("Dépenses")), charts.Series("resources", _("Ressources"))],
            yearly,
        ),
    }


def finding_link(finding: Finding, consortium: Consortium) -> str | None:
    """Where to fix a finding: the partner's grid (at the year), its indicators, the chapters, the figures."""
    if finding.partner is not None:
        match = _PARTNER_PATH.match(finding.path)
        rest = match.group("rest") if match else ""
        anchor = None
        if rest.startswith("budget") and finding.year is not None:
            anchor = f"y{finding.year}"
        elif rest.startswith("indicators"):
            return url_for(INDICATORS_ENDPOINT, slug=consortium.slug, partner_code=finding.partner)
        elif rest.startswith("sign_off"):
            anchor = "signature"
        return url_for(BUDGET_ENDPOINT, slug=consortium.slug, partner_code=finding.partner, _anchor=anchor)
    if finding.path.startswith("sections"):
        return url_for("sections.plan", slug=consortium.slug)
    if finding.path.startswith(("consortium.", "call.")):
        return url_for("budget.plan", slug=consortium.slug, _anchor="chiffres-cles")
    return None
