"""Entering a partner's figures: the budget grid, staff and indicator targets, cell by cell.

Each cell a person saves states the version it started from: a conditional UPDATE (or an INSERT
for a cell that had no row) writes it only if nobody changed it meanwhile. A grid is saved in one
transaction: when one cell conflicts, nothing of the grid is written (the caller rolls back).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from app.audit import EventKind, audit_value, record_event
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
    StaffLine,
)
from app.consortia.models import Consortium, Partner
from app.database import utcnow
from app.errors import Conflict, Invalid, NotAllowed
from app.extensions import db
from app.money import CENT, format_eur, format_number
from app.permissions import can_edit_partner_figures

ZERO = Decimal("0.00")
MAX_FTE = Decimal("1000")
MAX_COUNT = 999_999_999

# The standard functions a partner may add to its staff (it keeps any other it already has).
STANDARD_FUNCTIONS: dict[str, str] = {
    "referents_parcours": "Référents de parcours",
    "charge_relations_entreprises": "Chargé(e) de relations entreprises",
    "coordination_projet": "Coordination du projet",
    "coordination_territoriale": "Coordination territoriale",
    "autres_fonctions": "Autres fonctions",
}

Key = tuple[Any, ...]
Value = tuple[Any, ...]


@dataclass(frozen=True)
class CellEdit:
    """What a person typed in one cell (or row), the value and version it started from."""

    key: Key
    value: Value
    seen_version: int
    original: Value | None = None


@dataclass(frozen=True)
class CellConflict:
    """A cell someone else changed since it was read: their value, its version and who."""

    key: Key
    theirs: Value
    version: int
    by_name: str | None


class GridConflict(Conflict):
    """Some cells were changed meanwhile by someone else; nothing of the grid was saved."""

    def __init__(self, conflicts: Mapping[Key, CellConflict]) -> None:
        super().__init__(
            _(
                "Rien n'a été enregistré : %(count)s case(s) ont été modifiées entre-temps par une autre "
                "personne. Vos valeurs sont conservées ; comparez-les aux valeurs affichées à côté, puis "
                "enregistrez à nouveau pour garder les vôtres.",
                count=len(conflicts),
            )
        )
        self.conflicts = dict(conflicts)


@dataclass(frozen=True)
class _Table:
    model: type[Any]
    keys: tuple[str, ...]
    values: tuple[str, ...]
    stamps: bool  # the table records who changed a row last


_AMOUNTS = _Table(BudgetAmount, ("year", "kind", "code"), ("amount",), True)
_STAFF = _Table(StaffLine, ("function",), ("fte", "annual_cost"), False)
_INDICATORS = _Table(IndicatorValue, ("code", "year"), ("value",), False)


@dataclass(frozen=True)
class Change:
    """One cell written: its key, old and new values."""

    key: Key
    old: Value | None
    new: Value


def check_can_edit(partner: Partner, by: User) -> None:
    """Refuse editing to people who may not, and for a withdrawn partner."""
    if not can_edit_partner_figures(by, partner):
        raise NotAllowed(
            _(
                "Seules la coordination, la direction et les contributeurs de ce membre "
                "modifient ses chiffres."
            )
        )
    if not partner.is_active:
        raise Invalid(
            _(
                "%(partner)s s'est retiré du consortium : ses chiffres sont conservés mais ne peuvent plus "
                "être modifiés. La coordination peut le réintégrer.",
                partner=partner.name,
            )
        )


def _current_rows(table: _Table, partner: Partner) -> dict[Key, Any]:
    rows = db.session.scalars(
        select(table.model)
        .where(table.model.partner_id == partner.id)
        .execution_options(populate_existing=True)
    )
    return {tuple(getattr(row, name) for name in table.keys): row for row in rows}


def _value_of(table: _Table, row: Any) -> Value:
    return tuple(getattr(row, name) for name in table.values)


def _conflict(table: _Table, partner: Partner, key: Key) -> CellConflict:
    row = _current_rows(table, partner).get(key)
    if row is None:  # pragma: no cover - a conflict always comes from an existing row
        return CellConflict(key, (), 0, None)
    by_name = None
    if table.stamps and row.updated_by_id is not None:
        user = db.session.get(User, row.updated_by_id)
        by_name = user.name if user is not None else None
    return CellConflict(key, _value_of(table, row), row.version, by_name)


def _write(table: _Table, partner: Partner, edits: Iterable[CellEdit], by: User) -> list[Change]:
    """Write the cells that changed, each conditionally; raise GridConflict listing every conflict."""
    rows = _current_rows(table, partner)
    changes: list[Change] = []
    conflicts: dict[Key, CellConflict] = {}
    model = table.model
    stamp = {"updated_by_id": by.id, "updated_at": utcnow()} if table.stamps else {}
    next_position = max((getattr(row, "position", 0) for row in rows.values()), default=0) + 1
    for edit in edits:
        if edit.original is not None and edit.value == edit.original:
            continue  # not touched by this person: whatever is stored now stays
        row = rows.get(edit.key)
        current = _value_of(table, row) if row is not None else None
        if current == edit.value or (row is None and all(v in (None, 0) for v in edit.value)):
            continue
        values = dict(zip(table.values, edit.value, strict=True))
        if row is None:
            extra = {"position": next_position} if model is StaffLine else {}
            next_position += 1
            try:
                with db.session.begin_nested():
                    db.session.execute(
                        insert(model).values(
                            partner_id=partner.id,
                            **dict(zip(table.keys, edit.key, strict=True)),
                            **values,
                            **extra,
                            **stamp,
                            version=1,
                        )
                    )
            except IntegrityError:
                # Someone created this cell between our read and our insert.
                conflicts[edit.key] = _conflict(table, partner, edit.key)
                continue
        elif row.version != edit.seen_version:
            conflicts[edit.key] = _conflict(table, partner, edit.key)
            continue
        else:
            result = db.session.execute(
                update(model)
                .where(model.id == row.id, model.version == edit.seen_version)
                .values(**values, **stamp, version=model.version + 1)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                conflicts[edit.key] = _conflict(table, partner, edit.key)
                continue
        changes.append(Change(edit.key, current, edit.value))
    if conflicts:
        raise GridConflict(conflicts)
    for row in rows.values():
        db.session.expire(row)
    return changes


def _audit(
    kind: EventKind, partner: Partner, by: User, change: Change, names: Sequence[str], keys: Sequence[str]
) -> None:
    old = dict(zip(names, change.old, strict=True)) if change.old is not None else dict.fromkeys(names)
    record_event(
        kind,
        actor_id=by.id,
        consortium_id=partner.consortium_id,
        partner_id=partner.id,
        partner=partner.code,
        **{name: audit_value(value) for name, value in zip(keys, change.key, strict=True)},
        old={name: audit_value(value) for name, value in old.items()},
        new={name: audit_value(value) for name, value in zip(names, change.new, strict=True)},
    )


# --- Budget -------------------------------------------------------------------------------------


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
        changes = _write(_AMOUNTS, partner, typed, by)
    except GridConflict as error:
        error.conflicts = {(k[0], str(k[1]), k[2]): c for k, c in error.conflicts.items()}
        raise
    for change in changes:
        _audit(EventKind.BUDGET_AMOUNT_CHANGED, partner, by, change, ("amount",), ("year", "side", "code"))
    if changes:
        db.session.flush()
        sign_off.void_if_changed(partner, by=by, was_valid=was_valid)
    return changes


def describe_amount(value: Value) -> str:
    """A stored amount for a conflict message."""
    return format_eur(value[0]) if value else format_eur(ZERO)


# --- Staff --------------------------------------------------------------------------------------


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
    changes = _write(_STAFF, partner, edits, by)
    for change in changes:
        _audit(EventKind.BUDGET_STAFF_CHANGED, partner, by, change, ("fte", "annual_cost"), ("function",))
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


# --- Indicator targets --------------------------------------------------------------------------


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
    changes = _write(_INDICATORS, partner, edits, by)
    for change in changes:
        _audit(EventKind.BUDGET_INDICATOR_CHANGED, partner, by, change, ("value",), ("code", "year"))
    if changes:
        db.session.flush()
        sign_off.void_if_changed(partner, by=by, was_valid=was_valid)
    return changes


def describe_count(value: Value) -> str:
    """A stored indicator value for a conflict message."""
    return str(value[0]) if value else "0"
