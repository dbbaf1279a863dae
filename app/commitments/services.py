"""Entering a partner's figures: the budget grid and the indicator targets (staff: `staff.py`).

Cells are saved through `cells.py`, which refuses a stale cell without writing any of the grid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import select

from app.audit import EventKind
from app.auth.models import User
from app.budget import calculations as calc
from app.budget import figures, sign_off
from app.budget.models import (
    WHOLE_PROJECT,
    AmountKind,
    BudgetAmount,
    ExpenseCategory,
    Funder,
    IndicatorDefinition,
    IndicatorValue,
)
from app.commitments.cells import (
    AMOUNTS,
    INDICATORS,
    MAX_COUNT,
    ZERO,
    CellEdit,
    Change,
    GridConflict,
    Key,
    Value,
    audit_changes,
    check_can_edit,
    write_cells,
)
from app.consortia.models import Consortium, Partner
from app.errors import Invalid
from app.extensions import db
from app.money import format_eur


@dataclass(frozen=True)
class BudgetGrid:
    """What the budget grid shows: the model, stored amounts and versions, and what they add up to."""

    consortium: Consortium
    model: calc.BudgetModel
    categories: tuple[ExpenseCategory, ...]
    funders: tuple[Funder, ...]
    amounts: dict[Key, Decimal]  # (year, kind, code) -> stored amount
    versions: dict[Key, int]
    tolerance: Decimal

    @property
    def years(self) -> tuple[int, ...]:
        return self.model.years

    @property
    def computed_codes(self) -> frozenset[str]:
        """Categories that are calculated, never typed."""
        codes = {category.code for category in self.categories if category.computed}
        if self.model.indirect_costs is not None:
            codes.add(self.model.indirect_costs.category)
        return frozenset(codes)

    def editable_keys(self) -> list[Key]:
        """Every typed cell of the grid, in reading order."""
        keys: list[Key] = []
        for category in self.categories:
            if category.code not in self.computed_codes:
                keys.extend((year, AmountKind.EXPENSE.value, category.code) for year in self.years)
        for funder in self.funders:
            keys.extend((year, AmountKind.RESOURCE.value, funder.code) for year in self.years)
        return keys

    def totals(self, amounts: Mapping[Key, Decimal] | None = None) -> GridTotals:
        """Computed categories, subtotals and balances of these amounts (the stored ones by default)."""
        source = self.amounts if amounts is None else amounts
        expenses: dict[int, dict[str, Decimal]] = {year: {} for year in self.years}
        resources: dict[int, dict[str, Decimal]] = {year: {} for year in self.years}
        for (year, kind, code), amount in source.items():
            if year in expenses:
                (expenses if kind == AmountKind.EXPENSE.value else resources)[year][code] = amount
        completed = calc.complete_expenses(self.model, expenses)
        funded = calc.complete_resources(self.model, resources)
        return GridTotals(completed, funded, self.years, self.tolerance)


@dataclass(frozen=True)
class GridTotals:
    """Expenses (computed ones filled in), resources, and their sums per year and over the project."""

    expenses: dict[int, dict[str, Decimal]]
    resources: dict[int, dict[str, Decimal]]
    years: tuple[int, ...]
    tolerance: Decimal
    expenses_by_year: dict[int, Decimal] = field(init=False)
    resources_by_year: dict[int, Decimal] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "expenses_by_year", {y: sum(self.expenses[y].values(), ZERO) for y in self.years}
        )
        object.__setattr__(
            self, "resources_by_year", {y: sum(self.resources[y].values(), ZERO) for y in self.years}
        )

    def balance(self, year: int) -> Decimal:
        """Expenses minus resources in the year."""
        return self.expenses_by_year[year] - self.resources_by_year[year]

    def is_balanced(self, year: int) -> bool:
        """Whether the year balances within the call's tolerance."""
        return abs(self.balance(year)) <= self.tolerance

    @property
    def total_expenses(self) -> Decimal:
        return sum(self.expenses_by_year.values(), ZERO)

    @property
    def total_resources(self) -> Decimal:
        return sum(self.resources_by_year.values(), ZERO)

    @property
    def total_balance(self) -> Decimal:
        return self.total_expenses - self.total_resources

    @property
    def balanced(self) -> bool:
        """Every year balances."""
        return all(self.is_balanced(year) for year in self.years)

    def row_total(self, kind: str, code: str) -> Decimal:
        """A line summed over the years."""
        source = self.expenses if kind == AmountKind.EXPENSE.value else self.resources
        return sum((source[year].get(code, ZERO) for year in self.years), ZERO)


def budget_grid(partner: Partner) -> BudgetGrid:
    """The partner's budget grid as stored now."""
    consortium = partner.consortium
    categories = tuple(
        db.session.scalars(
            select(ExpenseCategory)
            .where(ExpenseCategory.consortium_id == consortium.id)
            .order_by(ExpenseCategory.position)
        )
    )
    funders = tuple(
        db.session.scalars(
            select(Funder).where(Funder.consortium_id == consortium.id).order_by(Funder.position)
        )
    )
    amounts: dict[Key, Decimal] = {}
    versions: dict[Key, int] = {}
    for row in db.session.scalars(select(BudgetAmount).where(BudgetAmount.partner_id == partner.id)):
        key = (row.year, row.kind.value, row.code)
        amounts[key] = row.amount
        versions[key] = row.version
    return BudgetGrid(
        consortium,
        figures.budget_model(consortium, categories, funders),
        categories,
        funders,
        amounts,
        versions,
        figures.call_rules(consortium).balance_tolerance,
    )


def save_budget(partner: Partner, edits: Sequence[CellEdit], *, by: User) -> list[Change]:
    """Save the changed cells of a partner's budget grid (one transaction; conflicts save nothing)."""
    check_can_edit(partner, by)
    grid = budget_grid(partner)
    allowed = set(grid.editable_keys())
    for edit in edits:
        if edit.key not in allowed:
            raise Invalid(_("Cette case du budget n'existe pas ou est calculée : elle ne se saisit pas."))
        (amount,) = edit.value
        if amount < 0:
            raise Invalid(_("Montant invalide : les montants négatifs ne sont pas autorisés."))
    typed = [
        CellEdit((year, AmountKind(kind), code), e.value, e.seen_version, e.original)
        for e in edits
        for (year, kind, code) in [e.key]
    ]
    was_valid = sign_off.is_valid(partner)
    try:
        changes = write_cells(AMOUNTS, partner, typed, by)
    except GridConflict as error:
        error.conflicts = {(k[0], str(k[1]), k[2]): c for k, c in error.conflicts.items()}
        raise
    for change in changes:
        audit_changes(
            EventKind.BUDGET_AMOUNT_CHANGED, partner, by, change, ("amount",), ("year", "side", "code")
        )
    if changes:
        db.session.flush()
        sign_off.void_if_changed(partner, by=by, was_valid=was_valid)
    return changes


def describe_amount(value: Value) -> str:
    """A stored amount for a conflict message."""
    return format_eur(value[0]) if value else format_eur(ZERO)


@dataclass(frozen=True)
class IndicatorGrid:
    """The indicator targets of a partner: definitions, values and versions per (code, year)."""

    definitions: tuple[IndicatorDefinition, ...]
    years: tuple[int, ...]
    values: dict[Key, int]
    versions: dict[Key, int]

    def columns(self, definition: IndicatorDefinition) -> tuple[int, ...]:
        """The years an indicator is set for (year 0: the whole project)."""
        return self.years if definition.per_year else (WHOLE_PROJECT,)

    def editable_keys(self) -> list[Key]:
        """Every cell of the grid, in reading order."""
        return [(d.code, year) for d in self.definitions for year in self.columns(d)]

    def above_parent(self, values: Mapping[Key, int] | None = None) -> dict[Key, str]:
        """Cells whose sub-indicator exceeds its parent, with the message to show next to them."""
        source = self.values if values is None else values
        by_code = {d.code: d for d in self.definitions}
        messages: dict[Key, str] = {}
        for child in self.definitions:
            parent = by_code.get(child.part_of or "")
            if parent is None:
                continue
            pairs: list[tuple[Key, Key | None]]
            if child.per_year and parent.per_year:
                pairs = [((child.code, y), (parent.code, y)) for y in self.years]
            else:
                pairs = [((child.code, WHOLE_PROJECT), None)]
            for child_key, parent_key in pairs:
                child_value = self._total(child, source) if parent_key is None else source.get(child_key, 0)
                parent_value = (
                    self._total(parent, source) if parent_key is None else source.get(parent_key, 0)
                )
                if child_value > parent_value:
                    target = child_key if child_key in self.editable_keys() else (child.code, self.years[0])
                    messages[target] = _(
                        "Dépasse « %(parent)s » (%(child)s pour %(value)s) : un « dont » ne peut pas "
                        "être plus grand que son total.",
                        parent=parent.label,
                        child=child_value,
                        value=parent_value,
                    )
        return messages

    def _total(self, definition: IndicatorDefinition, source: Mapping[Key, int]) -> int:
        return sum(source.get((definition.code, year), 0) for year in self.columns(definition))


def indicator_grid(partner: Partner) -> IndicatorGrid:
    """The partner's indicator targets as stored now."""
    consortium = partner.consortium
    definitions = tuple(
        db.session.scalars(
            select(IndicatorDefinition)
            .where(IndicatorDefinition.consortium_id == consortium.id)
            .order_by(IndicatorDefinition.position)
        )
    )
    values: dict[Key, int] = {}
    versions: dict[Key, int] = {}
    for row in db.session.scalars(select(IndicatorValue).where(IndicatorValue.partner_id == partner.id)):
        values[(row.code, row.year)] = row.value
        versions[(row.code, row.year)] = row.version
    return IndicatorGrid(definitions, tuple(consortium.years), values, versions)


def save_indicators(partner: Partner, edits: Sequence[CellEdit], *, by: User) -> list[Change]:
    """Save the changed indicator targets of a partner in one transaction."""
    check_can_edit(partner, by)
    allowed = set(indicator_grid(partner).editable_keys())
    for edit in edits:
        if edit.key not in allowed:
            raise Invalid(_("Cet indicateur n'existe pas pour cette année."))
        (value,) = edit.value
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_COUNT:
            raise Invalid(_("Nombre invalide : saisissez un nombre entier positif, par exemple 12."))
    was_valid = sign_off.is_valid(partner)
    changes = write_cells(INDICATORS, partner, edits, by)
    for change in changes:
        audit_changes(EventKind.BUDGET_INDICATOR_CHANGED, partner, by, change, ("value",), ("code", "year"))
    if changes:
        db.session.flush()
        sign_off.void_if_changed(partner, by=by, was_valid=was_valid)
    return changes


def describe_count(value: Value) -> str:
    """A stored indicator value for a conflict message."""
    return str(value[0]) if value else "0"
