"""How a partner's figures are saved, cell by cell: the budget grid, staff and indicator targets alike.

Each cell a person saves states the version it started from: a conditional UPDATE (or an INSERT
for a cell that had no row) writes it only if nobody changed it meanwhile. A grid is saved in one
transaction: when one cell conflicts, nothing of the grid is written (the caller rolls back).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from app.audit import EventKind, audit_value, record_event
from app.auth.models import User
from app.budget.models import (
    BudgetAmount,
    IndicatorValue,
    StaffLine,
)
from app.consortia.models import Partner
from app.database import utcnow
from app.errors import Conflict, Invalid, NotAllowed
from app.extensions import db
from app.permissions import can_edit_partner_figures

ZERO = Decimal("0.00")

MAX_FTE = Decimal("1000")

MAX_COUNT = 999_999_999

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
class Table:
    model: type[Any]
    keys: tuple[str, ...]
    values: tuple[str, ...]
    stamps: bool  # the table records who changed a row last


AMOUNTS = Table(BudgetAmount, ("year", "kind", "code"), ("amount",), True)

STAFF = Table(StaffLine, ("function",), ("fte", "annual_cost"), False)

INDICATORS = Table(IndicatorValue, ("code", "year"), ("value",), False)


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


def current_rows(table: Table, partner: Partner) -> dict[Key, Any]:
    rows = db.session.scalars(
        select(table.model)
        .where(table.model.partner_id == partner.id)
        .execution_options(populate_existing=True)
    )
    return {tuple(getattr(row, name) for name in table.keys): row for row in rows}


def _value_of(table: Table, row: Any) -> Value:
    return tuple(getattr(row, name) for name in table.values)


def _conflict(table: Table, partner: Partner, key: Key) -> CellConflict:
    row = current_rows(table, partner).get(key)
    if row is None:  # pragma: no cover - a conflict always comes from an existing row
        return CellConflict(key, (), 0, None)
    by_name = None
    if table.stamps and row.updated_by_id is not None:
        user = db.session.get(User, row.updated_by_id)
        by_name = user.name if user is not None else None
    return CellConflict(key, _value_of(table, row), row.version, by_name)


def write_cells(table: Table, partner: Partner, edits: Iterable[CellEdit], by: User) -> list[Change]:
    """Write the cells that changed, each conditionally; raise GridConflict listing every conflict."""
    rows = current_rows(table, partner)
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
                        insert(model)
                        .values(
                            partner_id=partner.id,
                            **dict(zip(table.keys, edit.key, strict=True)),
                            **values,
                            **extra,
                            **stamp,
                            version=1,
                        )
                        .execution_options(content_of=partner.consortium_id)
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
                .execution_options(synchronize_session=False, content_of=partner.consortium_id)
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


def audit_changes(
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
