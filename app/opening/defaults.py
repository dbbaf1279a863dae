"""What a new consortium starts with: the "100 % inclusion" budget model, its indicators, its chapters.

The values live in `defaults.json` beside this file (extracted from the demo document once); the
indirect-cost rules a coordinator chooses among are defined here.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from flask_babel import lazy_gettext as _l

DEFAULTS_FILE = Path(__file__).with_name("defaults.json")


class IndirectRule(enum.StrEnum):
    """The ways indirect costs may be counted: three flat rates, or actual costs typed like the rest."""

    STAFF_15 = "personnel-15"
    DIRECT_20 = "directs-20"
    STAFF_40 = "personnel-40"
    ACTUAL = "frais-reels"


@dataclass(frozen=True)
class FlatRate:
    """A flat rate: `rate` × the sum of the `base` categories."""

    rate: Decimal
    base: tuple[str, ...]


FLAT_RATES: dict[IndirectRule, FlatRate] = {
    IndirectRule.STAFF_15: FlatRate(Decimal("0.15"), ("personnel",)),
    IndirectRule.DIRECT_20: FlatRate(Decimal("0.20"), ("personnel", "fonctionnement", "participants")),
    IndirectRule.STAFF_40: FlatRate(Decimal("0.40"), ("personnel",)),
}

INDIRECT_RULE_LABELS = {
    IndirectRule.STAFF_15: _l("Forfait de 15 % des dépenses directes de personnel"),
    IndirectRule.DIRECT_20: _l(
        "Forfait de 20 % des dépenses directes hors prestations externes (personnel, fonctionnement, "
        "dépenses liées aux participants)"
    ),
    IndirectRule.STAFF_40: _l("Forfait de 40 % des dépenses directes de personnel"),
    IndirectRule.ACTUAL: _l("Frais réels : les coûts indirects sont saisis comme les autres dépenses"),
}


@dataclass(frozen=True)
class DefaultCategory:
    code: str
    label: str
    computed: bool


@dataclass(frozen=True)
class DefaultFunder:
    code: str
    label: str
    group: str


@dataclass(frozen=True)
class DefaultIndicator:
    code: str
    label: str
    kind: str
    per_year: bool
    part_of: str | None


@dataclass(frozen=True)
class DefaultSection:
    code: str
    title: str
    guidance: str
    scope: str
    max_chars: int | None
    max_chars_per_partner: int | None
    generated: bool


@dataclass(frozen=True)
class Defaults:
    """Everything a new consortium is given, as plain immutable values."""

    expense_categories: tuple[DefaultCategory, ...]
    indirect_category: str
    flat_rate_label: str
    actual_costs_label: str
    funders: tuple[DefaultFunder, ...]
    main_funder: str
    indicators: tuple[DefaultIndicator, ...]
    sections: tuple[DefaultSection, ...]


def _read(data: dict[str, Any]) -> Defaults:
    labels = data["indirect_category_labels"]
    return Defaults(
        expense_categories=tuple(
            DefaultCategory(item["code"], item["label"], bool(item.get("computed", False)))
            for item in data["expense_categories"]
        ),
        indirect_category=data["indirect_category"],
        flat_rate_label=labels["flat_rate"],
        actual_costs_label=labels["actual"],
        funders=tuple(DefaultFunder(item["code"], item["label"], item["group"]) for item in data["funders"]),
        main_funder=data["main_funder"],
        indicators=tuple(
            DefaultIndicator(item["code"], item["label"], item["kind"], item["per_year"], item["part_of"])
            for item in data["indicators"]
        ),
        sections=tuple(
            DefaultSection(
                code=item["code"],
                title=item["title"],
                guidance=item["guidance"],
                scope=item["scope"],
                max_chars=item["max_chars"],
                max_chars_per_partner=item["max_chars_per_partner"],
                generated=item["generated"],
            )
            for item in data["sections"]
        ),
    )


@cache
def defaults() -> Defaults:
    """The defaults of a new consortium (read once; immutable)."""
    return _read(json.loads(DEFAULTS_FILE.read_text(encoding="utf-8")))
