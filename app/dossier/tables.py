"""The dossier's tables as shown: cells formatted in French, column widths fixed (faster layout)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from app.budget.consolidation import Cell, Quantity, Rate, Table
from app.money import format_eur, format_share
from app.templating import french_decimal, french_integer


@dataclass(frozen=True)
class Column:
    label: str
    numeric: bool = False
    width: int = 0  # percent of the table's width; 0 shares what is left


@dataclass(frozen=True)
class TableData:
    """A table as shown: its cells already formatted in French."""

    key: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[str, ...], ...]
    footer: tuple[str, ...] | None = None
    note: str = ""


def cell_text(value: Cell) -> str:
    """A cell of the plan formatted like the pages: euros, percentages, integers, FTE."""
    if value is None:
        return "—"
    if isinstance(value, Rate):
        return format_share(value.value)
    if isinstance(value, Quantity):
        return french_decimal(value.value)
    if isinstance(value, Decimal):
        return format_eur(value)
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, int):
        return french_integer(value)
    return str(value)


def _is_numeric(value: Cell) -> bool:
    return isinstance(value, Rate | Quantity | Decimal | int) and not isinstance(value, bool)


def _widths(count_text: int, count_numeric: int, first: int) -> tuple[int, ...]:
    """Column widths (percent): the first column `first`, other text columns and numbers share the rest."""
    rest = 100 - first
    others = count_text - 1
    weight = others * 1.4 + count_numeric
    unit = rest / weight if weight else 0
    return (first, *([int(unit * 1.4)] * others), *([int(unit)] * count_numeric))


def table_from_plan(
    table: Table, *, keep: Sequence[int] | None = None, drop_columns: Sequence[int] = ()
) -> TableData:
    rows = [row for index, row in enumerate(table.rows) if keep is None or index in keep]
    header = [h for index, h in enumerate(table.header) if index not in drop_columns]
    first_row = rows[0] if rows else (table.footer or ())
    sample = [v for index, v in enumerate(first_row) if index not in drop_columns]
    numeric = [
        index > 0 and (_is_numeric(sample[index]) if index < len(sample) else True)
        for index in range(len(header))
    ]
    text_count = sum(1 for n in numeric if not n)
    first = 28 if len(header) > 5 else 70 if len(header) == 2 else 46
    widths = _widths(text_count, len(header) - text_count, first)
    ordered = iter(widths[1:text_count])
    numbers = iter(widths[text_count:])
    columns = []
    for index, label in enumerate(header):
        if index == 0:
            width = widths[0]
        elif numeric[index]:
            width = next(numbers)
        else:
            width = next(ordered)
        columns.append(Column(label, numeric[index], width))

    def cells(row: Sequence[Cell]) -> tuple[str, ...]:
        return tuple(cell_text(value) for index, value in enumerate(row) if index not in drop_columns)

    return TableData(
        key=table.key,
        title=table.title,
        columns=tuple(columns),
        rows=tuple(cells(row) for row in rows),
        footer=cells(table.footer) if table.footer is not None else None,
    )


def simple_table(
    key: str,
    title: str,
    header: Sequence[str],
    rows: Iterable[Sequence[Cell]],
    footer: Sequence[Cell] | None = None,
    *,
    first: int = 46,
    note: str = "",
) -> TableData:
    rows = [tuple(row) for row in rows]
    count = len(header)
    widths = _widths(1, count - 1, first) if count > 1 else (100,)
    return TableData(
        key=key,
        title=title,
        columns=tuple(Column(label, index > 0, widths[index]) for index, label in enumerate(header)),
        rows=tuple(tuple(cell_text(v) for v in row) for row in rows),
        footer=tuple(cell_text(v) for v in footer) if footer is not None else None,
        note=note,
    )
