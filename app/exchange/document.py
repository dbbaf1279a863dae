"""The consortium exchange format, version 1, as immutable Python values.

A parsed document is complete and canonical: every partner has every model year, every expense
category and funder in each year (zeros included), every indicator value, and the computed
category recomputed. Lists are tuples in the order of the file; mappings keep the model's order.
`extensions` is None when the object had no "extensions" key, else the object kept verbatim.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from app.budget.calculations import FunderGroup, flat_rate

FORMAT_NAME = "consortium-exchange"
FORMAT_VERSION = 1

ConsortiumStatus = Literal["draft", "submitted"]
IndicatorKind = Literal["output", "result"]
SectionScope = Literal["shared", "per_partner", "shared_and_per_partner"]
SectionStatus = Literal["todo", "in_progress", "in_review", "validated"]
PartnerRole = Literal["lead", "member"]
PartnerStatus = Literal["active", "withdrawn"]

# An "extensions" object: arbitrary JSON kept as it came (floats stay floats).
Extensions = Mapping[str, Any]

PARTNER_SECTION_SCOPES: frozenset[str] = frozenset({"per_partner", "shared_and_per_partner"})

_CENT = Decimal("0.01")


@dataclass(frozen=True)
class CallRules:
    """The checks a call imposes; None means the rule was not given (and is not exported)."""

    min_total_cost: Decimal | None = None
    min_duration_months: int | None = None
    max_duration_months: int | None = None
    main_funder: str | None = None
    main_funder_share_range: tuple[Decimal, Decimal] | None = None
    min_local_cofunding_share: Decimal | None = None
    balance_tolerance: Decimal | None = None
    extensions: Extensions | None = None

    @property
    def effective_balance_tolerance(self) -> Decimal:
        """The tolerance checks use: the given one, else zero."""
        return self.balance_tolerance if self.balance_tolerance is not None else Decimal("0.00")


@dataclass(frozen=True)
class Call:
    """The call for projects being answered."""

    code: str
    name: str
    programme: str | None
    operator: str | None
    submission_deadline: date | None
    rules: CallRules
    extensions: Extensions | None = None


@dataclass(frozen=True)
class ConsortiumInfo:
    """The consortium's own fields (the "consortium" object of the format)."""

    slug: str
    title: str
    acronym: str
    lead_partner: str
    status: ConsortiumStatus
    project_start: date
    project_end: date
    extensions: Extensions | None = None


@dataclass(frozen=True)
class ExpenseCategory:
    """A line of expenses; a computed one is the indirect-cost flat rate."""

    code: str
    label: str
    computed: bool = False
    extensions: Extensions | None = None


@dataclass(frozen=True)
class Funder:
    """A source of resources and the group it belongs to."""

    code: str
    label: str
    group: FunderGroup
    extensions: Extensions | None = None


@dataclass(frozen=True)
class IndirectCostRule:
    """Indirect costs as `rate` × the sum of the base categories, half-up to the cent."""

    category: str
    rate: Decimal
    base_categories: tuple[str, ...]
    extensions: Extensions | None = None

    def amount(self, expenses: Mapping[str, Decimal]) -> Decimal:
        """The computed category's amount for one partner-year; missing base categories count zero."""
        return flat_rate(self.rate, (expenses.get(code, Decimal(0)) for code in self.base_categories))


@dataclass(frozen=True)
class BudgetModel:
    """The years, expense categories, funders and indirect-cost rule every partner's budget follows."""

    years: tuple[int, ...]
    expense_categories: tuple[ExpenseCategory, ...]
    funders: tuple[Funder, ...]
    indirect_costs: IndirectCostRule | None
    extensions: Extensions | None = None

    @property
    def category_codes(self) -> tuple[str, ...]:
        """Expense category codes in model order."""
        return tuple(category.code for category in self.expense_categories)

    @property
    def funder_codes(self) -> tuple[str, ...]:
        """Funder codes in model order."""
        return tuple(funder.code for funder in self.funders)

    def complete_year(self, expenses: Mapping[str, Decimal], resources: Mapping[str, Decimal]) -> YearBudget:
        """One year with every category and funder in model order, zeros added, indirect costs recomputed.

        Codes the model does not know are left out.
        """
        zero = Decimal("0.00")
        complete = {code: expenses.get(code, zero).quantize(_CENT) for code in self.category_codes}
        if self.indirect_costs is not None and self.indirect_costs.category in complete:
            complete[self.indirect_costs.category] = self.indirect_costs.amount(complete)
        return YearBudget(
            expenses=complete,
            resources={code: resources.get(code, zero).quantize(_CENT) for code in self.funder_codes},
        )


@dataclass(frozen=True)
class Indicator:
    """An indicator partners commit to, per year or for the whole project, maybe part of another."""

    code: str
    label: str
    kind: IndicatorKind
    per_year: bool
    part_of: str | None
    extensions: Extensions | None = None


@dataclass(frozen=True)
class Section:
    """A chapter of the application, with its shared text (sanitised HTML) if any."""

    code: str
    position: int
    title: str
    guidance: str
    scope: SectionScope
    max_chars: int | None
    max_chars_per_partner: int | None
    generated: bool
    content: str | None
    status: SectionStatus
    extensions: Extensions | None = None


@dataclass(frozen=True)
class Contact:
    """A person to reach at a partner."""

    role: str
    email: str
    extensions: Extensions | None = None


@dataclass(frozen=True)
class SignOff:
    """A director's confirmation of the partner's figures, identified by their digest."""

    by: str
    at: datetime
    digest: str
    extensions: Extensions | None = None


@dataclass(frozen=True)
class YearBudget:
    """A partner's expenses by category code and resources by funder code for one year."""

    expenses: Mapping[str, Decimal]
    resources: Mapping[str, Decimal]


@dataclass(frozen=True)
class PartnerIndicators:
    """A partner's targets: per-year indicators by year, and the others for the whole project."""

    per_year: Mapping[int, Mapping[str, int]]
    totals: Mapping[str, int]


@dataclass(frozen=True)
class Partner:
    """A member of the consortium with its commitments, texts and sign-off."""

    id: str
    name: str
    kind: str
    departement: str
    territory: str
    siret: str | None
    role: PartnerRole
    status: PartnerStatus
    contacts: tuple[Contact, ...]
    staff_fte: Mapping[str, Decimal]
    sections: Mapping[str, str]
    budget: Mapping[int, YearBudget]
    indicators: PartnerIndicators
    sign_off: SignOff | None
    extensions: Extensions | None = None

    @property
    def is_active(self) -> bool:
        """Whether the partner counts in totals, checks and the dossier."""
        return self.status == "active"


@dataclass(frozen=True)
class ExchangeDocument:
    """One whole consortium as the exchange format carries it."""

    exported_at: datetime
    call: Call
    consortium: ConsortiumInfo
    budget_model: BudgetModel
    indicators: tuple[Indicator, ...]
    sections: tuple[Section, ...]
    partners: tuple[Partner, ...]
    extensions: Extensions | None = None

    def partner(self, partner_id: str) -> Partner:
        """The partner with this id; KeyError if there is none."""
        for partner in self.partners:
            if partner.id == partner_id:
                return partner
        raise KeyError(partner_id)
