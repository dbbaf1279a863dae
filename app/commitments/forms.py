"""Forms of the partner's figures: the grids are read cell by cell through the strict parsers.

Each grid posts, per cell, the typed text, the version the cell started from and its original text,
so a save writes only the cells this person changed, each conditionally on its version.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeVar

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField

from app.commitments.cells import ZERO, CellEdit, Key
from app.money import InvalidAmount, parse_amount

Cell = TypeVar("Cell", Decimal, int)

_GROUPED = re.compile(r"[0-9]{1,3}(?:[ \u00a0\u202f][0-9]{3})+")


class GridForm(FlaskForm):
    """A grid of cells: only the CSRF token is a declared field; cells are read by name."""


class SignOffForm(FlaskForm):
    """The director's certification."""

    certify = BooleanField(_l("Je certifie l'exactitude de ces engagements"))


class InvalidCount(ValueError):
    """A count that cannot be accepted; the message says why."""


def parse_count(text: str) -> int:
    """A count typed by a person: a non-negative integer of ASCII digits (« 1 200 » allowed)."""
    body = text.strip()
    if not body:
        return 0
    if body[0] in "-\u2212":
        raise InvalidCount(_("Nombre invalide : les nombres négatifs ne sont pas autorisés."))
    if any(char.isdigit() and char not in "0123456789" for char in body):
        raise InvalidCount(_("Nombre invalide : utilisez uniquement les chiffres de 0 à 9."))
    if "," in body or "." in body:
        raise InvalidCount(
            _("Nombre invalide : un nombre entier de personnes, sans virgule (par exemple 12).")
        )
    if not (body.isascii() and body.isdigit()) and not _GROUPED.fullmatch(body):
        raise InvalidCount(_("Nombre invalide : saisissez un nombre entier, par exemple 12."))
    digits = "".join(char for char in body if char.isdigit())
    if len(digits.lstrip("0")) > 9:
        raise InvalidCount(_("Nombre trop élevé : 999 999 999 au plus."))
    return int(digits)


def _amount_or_zero(text: str) -> Decimal:
    return ZERO if not text.strip() else parse_amount(text)


def _original(parse: Callable[[str], Cell], text: str | None) -> Cell | None:
    if text is None:
        return None
    try:
        return parse(text)
    except (InvalidAmount, InvalidCount):
        return None


@dataclass
class GridInput:
    """What a grid posted: texts as typed (re-rendered if anything is refused), edits, errors per cell."""

    texts: dict[str, str] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    originals: dict[str, str] = field(default_factory=dict)
    edits: list[CellEdit] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


def _version(formdata: Mapping[str, str], name: str) -> int:
    text = formdata.get(f"v-{name}", "0")
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else 0


def budget_cell_name(key: Key) -> str:
    """The field name of a budget cell: m-<year>-<kind>-<code>."""
    year, kind, code = key
    return f"{year}-{kind}-{code}"


def read_budget(formdata: Mapping[str, str], keys: Iterable[Key]) -> GridInput:
    """Read the budget grid's cells (only the declared ones) through the strict amount parser."""
    return _read_cells(formdata, keys, budget_cell_name, _amount_or_zero)


def _read_cells(
    formdata: Mapping[str, str],
    keys: Iterable[Key],
    name_of: Callable[[Key], str],
    parse: Callable[[str], Cell],
) -> GridInput:
    """Read a grid of one value per cell (only the declared cells), each through the parser."""
    result = GridInput()
    for key in keys:
        name = name_of(key)
        if f"m-{name}" not in formdata:
            continue
        text = formdata[f"m-{name}"][:100]
        result.texts[name] = text
        result.versions[name] = _version(formdata, name)
        original = formdata.get(f"o-{name}")
        if original is not None:
            result.originals[name] = original[:100]
        try:
            value = parse(text)
        except (InvalidAmount, InvalidCount) as error:
            result.errors[name] = str(error)
            continue
        before = _original(parse, original)
        result.edits.append(
            CellEdit(key, (value,), result.versions[name], (before,) if before is not None else None)
        )
    return result


def read_staff(formdata: Mapping[str, str], functions: Iterable[str]) -> GridInput:
    """Read the staff lines: FTE (two decimals) and the optional annual cost per FTE."""
    result = GridInput()
    for function in functions:
        fte_name, cost_name = f"fte-{function}", f"cout-{function}"
        if f"m-{fte_name}" not in formdata:
            continue
        fte_text = formdata[f"m-{fte_name}"][:100]
        cost_text = formdata.get(f"m-{cost_name}", "")[:100]
        result.texts[fte_name], result.texts[cost_name] = fte_text, cost_text
        version = _version(formdata, function)
        result.versions[function] = version
        for name in (fte_name, cost_name):
            if f"o-{name}" in formdata:
                result.originals[name] = formdata[f"o-{name}"][:100]
        values: list[Decimal | None] = []
        for name, text in ((fte_name, fte_text), (cost_name, cost_text)):
            try:
                values.append(parse_amount(text) if text.strip() else None)
            except InvalidAmount as error:
                result.errors[name] = (
                    str(error).replace("Montant", "Nombre") if name == fte_name else str(error)
                )
        if len(values) < 2:
            continue
        fte, cost = values
        if fte is None and cost is not None:
            result.errors[fte_name] = _("Indiquez le nombre d'ETP de cette fonction (0 si aucun).")
            continue
        if fte is None:
            fte = ZERO
        originals = [result.originals.get(fte_name), result.originals.get(cost_name)]
        before: tuple[Decimal | None, ...] | None = None
        if originals[0] is not None:
            try:
                before = (
                    parse_amount(originals[0]) if originals[0].strip() else ZERO,
                    parse_amount(originals[1]) if originals[1] and originals[1].strip() else None,
                )
            except InvalidAmount:
                before = None
        result.edits.append(CellEdit((function,), (fte, cost), version, before))
    return result


def indicator_cell_name(key: Key) -> str:
    """The field name of an indicator target: m-<code>-<year>."""
    return f"{key[0]}-{key[1]}"


def read_indicators(formdata: Mapping[str, str], keys: Iterable[Key]) -> GridInput:
    """Read the indicator targets: non-negative whole numbers."""
    return _read_cells(formdata, keys, indicator_cell_name, parse_count)
