"""A partner's staff in full-time equivalents by function, and the staff costs they suggest for the budget."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import gettext as _
from sqlalchemy import select

from app.audit import EventKind
from app.auth.models import User
from app.budget import calculations as calc
from app.budget import sign_off
from app.budget.models import (
    AmountKind,
    StaffLine,
)
from app.commitments.cells import (
    MAX_FTE,
    STAFF,
    ZERO,
    CellEdit,
    Change,
    Value,
    audit_changes,
    check_can_edit,
    write_cells,
)
from app.commitments.services import BudgetGrid, budget_grid, save_budget
from app.consortia.models import Consortium, Partner
from app.errors import Invalid
from app.extensions import db
from app.money import CENT, format_eur, format_number

# The standard functions a partner may add to its staff (it keeps any other it already has).
STANDARD_FUNCTIONS: dict[str, str] = {
    "referents_parcours": "Référents de parcours",
    "charge_relations_entreprises": "Chargé(e) de relations entreprises",
    "coordination_projet": "Coordination du projet",
    "coordination_territoriale": "Coordination territoriale",
    "autres_fonctions": "Autres fonctions",
}


@dataclass(frozen=True)
class StaffRow:
    """One function of the partner's staff: FTE, loaded annual cost per FTE, version (0: no row yet)."""

    function: str
    label: str
    fte: Decimal | None
    annual_cost: Decimal | None
    version: int

    @property
    def yearly_cost(self) -> Decimal | None:
        """FTE × annual cost, when both are known."""
        if self.fte is None or self.annual_cost is None:
            return None
        return (self.fte * self.annual_cost).quantize(CENT, ROUND_HALF_UP)


@dataclass(frozen=True)
class StaffSuggestion:
    """The staff cost a year should carry: the yearly cost prorated to the project's months that year."""

    year: int
    months: int
    yearly_cost: Decimal
    amount: Decimal
    current: Decimal
    version: int


def function_label(function: str) -> str:
    """A staff function in plain French (its code when it is not a standard one)."""
    label = STANDARD_FUNCTIONS.get(function)
    return _(label) if label else function.replace("_", " ").capitalize()


def staff_rows(partner: Partner) -> list[StaffRow]:
    """The partner's functions, then the standard ones it does not have yet (empty)."""
    lines = sorted(
        db.session.scalars(select(StaffLine).where(StaffLine.partner_id == partner.id)),
        key=lambda line: line.position,
    )
    rows = [
        StaffRow(line.function, function_label(line.function), line.fte, line.annual_cost, line.version)
        for line in lines
    ]
    present = {line.function for line in lines}
    rows.extend(
        StaffRow(code, function_label(code), None, None, 0)
        for code in STANDARD_FUNCTIONS
        if code not in present
    )
    return rows


def save_staff(partner: Partner, edits: Sequence[CellEdit], *, by: User) -> list[Change]:
    """Save the changed staff lines (FTE, annual cost) of a partner in one transaction."""
    check_can_edit(partner, by)
    known = {row.function for row in staff_rows(partner)}
    for edit in edits:
        if edit.key[0] not in known:
            raise Invalid(_("Cette fonction n'existe pas : choisissez une des fonctions proposées."))
        fte, cost = edit.value
        if fte is None or fte < 0 or fte > MAX_FTE:
            raise Invalid(_("Nombre d'ETP invalide : saisissez un nombre positif, par exemple 1,5."))
        if cost is not None and cost < 0:
            raise Invalid(_("Montant invalide : les montants négatifs ne sont pas autorisés."))
    was_valid = sign_off.is_valid(partner)
    changes = write_cells(STAFF, partner, edits, by)
    for change in changes:
        audit_changes(
            EventKind.BUDGET_STAFF_CHANGED, partner, by, change, ("fte", "annual_cost"), ("function",)
        )
    if changes:
        db.session.flush()
        sign_off.void_if_changed(partner, by=by, was_valid=was_valid)
    return changes


def describe_staff(value: Value) -> str:
    """A stored staff line for a conflict message."""
    fte, cost = value
    text = _("%(fte)s ETP", fte=format_number(fte))
    if cost is not None:
        text += _(" à %(cost)s par ETP et par an", cost=format_eur(cost))
    return text


def staff_category(grid: BudgetGrid) -> str | None:
    """The expense category that carries staff costs: « personnel », else the indirect costs' base."""
    codes = [category.code for category in grid.categories if category.code not in grid.computed_codes]
    if "personnel" in codes:
        return "personnel"
    rule = grid.model.indirect_costs
    if rule is not None and rule.base_categories and rule.base_categories[0] in codes:
        return rule.base_categories[0]
    return None


def months_in_year(consortium: Consortium, year: int) -> int:
    """Months of the project begun in a calendar year (September–December: 4)."""
    start = max(consortium.project_start, date(year, 1, 1))
    end = min(consortium.project_end, date(year, 12, 31))
    if end < start:
        return 0
    return min(calc.duration_months(start, end), 12)


def staff_suggestions(partner: Partner, rows: Sequence[StaffRow], grid: BudgetGrid) -> list[StaffSuggestion]:
    """For each year, the staff cost suggested by FTE × annual cost, prorated to the project's months."""
    costs = [row.yearly_cost for row in rows if row.yearly_cost is not None]
    category = staff_category(grid)
    if not costs or category is None:
        return []
    yearly = sum(costs, ZERO)
    suggestions = []
    for year in grid.years:
        months = months_in_year(partner.consortium, year)
        key = (year, AmountKind.EXPENSE.value, category)
        suggestions.append(
            StaffSuggestion(
                year,
                months,
                yearly,
                (yearly * months / 12).quantize(CENT, ROUND_HALF_UP),
                grid.amounts.get(key, ZERO),
                grid.versions.get(key, 0),
            )
        )
    return suggestions


def apply_staff_suggestion(
    partner: Partner, years: Iterable[int], versions: Mapping[int, int], *, by: User
) -> list[Change]:
    """Copy the suggested staff cost into the budget's staff line for the given years."""
    check_can_edit(partner, by)
    grid = budget_grid(partner)
    category = staff_category(grid)
    suggestions = {s.year: s for s in staff_suggestions(partner, staff_rows(partner), grid)}
    wanted = [year for year in years if year in suggestions]
    if category is None or not wanted:
        raise Invalid(_("Aucune suggestion à appliquer : indiquez des ETP et un coût annuel par ETP."))
    edits = [
        CellEdit(
            (year, AmountKind.EXPENSE.value, category), (suggestions[year].amount,), versions.get(year, 0)
        )
        for year in wanted
    ]
    return save_budget(partner, edits, by=by)
