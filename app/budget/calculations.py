"""Budget calculations: every derived figure, error and warning of the exchange format.

Pure functions over plain values: no database, no Flask app. Amounts are `Decimal` euros.
One concept in one file on purpose: the consolidation and its findings are read together, line by
line, against the exchange format's rules.
"""

from __future__ import annotations

import calendar
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from enum import StrEnum
from functools import lru_cache
from typing import Final, Literal, get_args

from babel.numbers import format_decimal
from flask_babel import gettext

from app.money import CENT, format_eur, format_share, from_cents, to_cents


def _(message: str, **values: object) -> str:
    """A finding's French text. The application speaks French only (BABEL_DEFAULT_LOCALE, no
    catalogue), so each message goes through Babel once, not once per partner and consolidation."""
    text = _translated(message)
    return text % values if values else text


@lru_cache(maxsize=512)
def _translated(message: str) -> str:
    return gettext(message)


ZERO = Decimal("0.00")
TENTH = Decimal("0.1")
# The exchange format's funder groups; `app.budget.models.FunderGroup` is their database enum.
FunderGroup = Literal["etat", "ue", "collectivites", "autres_publics", "prives", "autofinancement"]
FUNDER_GROUPS: Final[tuple[str, ...]] = get_args(FunderGroup)
NATIONAL_FUNDER_GROUPS = frozenset({"etat", "ue"})  # everything else counts as local co-funding
PARTICIPANTS_INDICATOR = "entrees"
SHARED_SCOPES = frozenset({"shared", "shared_and_per_partner"})
# Enough digits for amounts of 10^14 cents times rates, and for shares that are only rounded for display.
PRECISION = 60


class SignOffState(StrEnum):
    NONE = "none"
    VALID = "valid"
    VOID = "void"


@dataclass(frozen=True)
class CallRules:
    min_total_cost: Decimal | None = None
    min_duration_months: int | None = None
    max_duration_months: int | None = None
    main_funder: str | None = None
    main_funder_share_range: tuple[Decimal, Decimal] | None = None
    min_local_cofunding_share: Decimal | None = None
    balance_tolerance: Decimal = Decimal("0.00")
    submission_deadline: date | None = None


@dataclass(frozen=True)
class ExpenseCategory:
    code: str
    label: str
    computed: bool = False


@dataclass(frozen=True)
class Funder:
    code: str
    label: str
    group: str  # one of FUNDER_GROUPS


@dataclass(frozen=True)
class IndirectCostRule:
    category: str
    rate: Decimal
    base_categories: tuple[str, ...]


@dataclass(frozen=True)
class BudgetModel:
    years: tuple[int, ...]
    expense_categories: tuple[ExpenseCategory, ...]
    funders: tuple[Funder, ...]
    indirect_costs: IndirectCostRule | None


@dataclass(frozen=True)
class IndicatorDef:
    code: str
    label: str
    kind: str
    per_year: bool
    part_of: str | None


@dataclass(frozen=True)
class PartnerFigures:
    id: str
    name: str
    index: int  # position in the exchange document's "partners" list, used in paths
    active: bool
    expenses: Mapping[int, Mapping[str, Decimal]]  # year -> category -> amount; missing = 0
    resources: Mapping[int, Mapping[str, Decimal]]  # year -> funder -> amount; missing = 0
    indicators_per_year: Mapping[int, Mapping[str, int]]
    indicator_totals: Mapping[str, int]
    staff_fte: Mapping[str, Decimal]
    sign_off: SignOffState = SignOffState.NONE


@dataclass(frozen=True)
class SectionFigures:
    code: str
    title: str
    index: int  # position in the exchange document's "sections" list
    scope: str  # shared | per_partner | shared_and_per_partner
    generated: bool
    max_chars: int | None
    shared_length: int  # visible characters of the shared text
    shared_state: str  # empty | written | to_review | validated (app.sections.states)


@dataclass(frozen=True)
class ConsortiumFigures:
    rules: CallRules
    model: BudgetModel
    indicators: tuple[IndicatorDef, ...]
    project_start: date
    project_end: date
    partners: tuple[PartnerFigures, ...]
    sections: tuple[SectionFigures, ...] = ()
    # The day the findings are for (a passed deadline); None leaves the clock out.
    today: date | None = None
    submitted: bool = False


@dataclass(frozen=True)
class Finding:
    code: str  # stable snake_case code
    severity: str  # "error" | "warning"
    message: str  # plain French, amounts via format_eur
    path: str  # JSON path in the exchange document
    partner: str | None = None
    year: int | None = None


@dataclass(frozen=True)
class PartnerTotals:
    id: str
    name: str
    active: bool
    expenses: Mapping[int, Mapping[str, Decimal]]  # every year × every category, computed one filled in
    resources: Mapping[int, Mapping[str, Decimal]]  # every year × every funder
    expenses_by_year: Mapping[int, Decimal]
    resources_by_year: Mapping[int, Decimal]
    total_expenses: Decimal
    total_resources: Decimal
    unbalanced_years: tuple[int, ...]
    balanced: bool
    participants: int
    fte: Decimal
    sign_off: SignOffState


@dataclass(frozen=True)
class Consolidation:
    partners: tuple[PartnerTotals, ...]  # every partner in input order; withdrawn ones count nowhere
    total_cost: Decimal
    total_resources: Decimal
    by_category: Mapping[str, Mapping[int, Decimal]]  # active partners only
    by_funder: Mapping[str, Mapping[int, Decimal]]
    by_funder_group: Mapping[str, Decimal]
    expenses_by_year: Mapping[int, Decimal]
    resources_by_year: Mapping[int, Decimal]
    main_funder_share: Decimal | None  # exact, rounded only for display
    local_cofunding_share: Decimal | None
    participants: int
    cost_per_participant: Decimal | None  # half-up to the cent
    fte: Decimal
    participants_per_fte: Decimal | None  # half-up to 0.1
    duration_months: int
    errors: tuple[Finding, ...]
    warnings: tuple[Finding, ...]


def flat_rate(rate: Decimal, base: Iterable[Decimal]) -> Decimal:
    """Indirect costs as a flat rate of the base categories, half-up to the cent."""
    with localcontext() as context:
        context.prec = PRECISION
        return (rate * sum(base, ZERO)).quantize(CENT, ROUND_HALF_UP)


def split_evenly(amount: Decimal, parts: int) -> tuple[Decimal, ...]:
    """An amount shared into equal parts to the cent, the last part taking the leftover cents."""
    share, leftover = divmod(to_cents(amount.quantize(CENT, ROUND_HALF_UP)), parts)
    return tuple(from_cents(share + (leftover if i == parts - 1 else 0)) for i in range(parts))


def complete_expenses(
    model: BudgetModel, expenses: Mapping[int, Mapping[str, Decimal]]
) -> dict[int, dict[str, Decimal]]:
    """Every model year and category, zeros included, the computed category recomputed from its base."""
    rule = model.indirect_costs
    # A computed category is never typed: whatever value came in is stale, so it is ignored.
    computed = {category.code for category in model.expense_categories if category.computed}
    if rule is not None:
        computed.add(rule.category)
    completed: dict[int, dict[str, Decimal]] = {}
    with localcontext() as context:  # flat_rate's precision, set once for every year
        context.prec = PRECISION
        for year in model.years:
            typed = expenses.get(year, {})
            row = {
                category.code: ZERO if category.code in computed else typed.get(category.code, ZERO)
                for category in model.expense_categories
            }
            if rule is not None and rule.category in row:
                base = sum((row.get(code, ZERO) for code in rule.base_categories), ZERO)
                row[rule.category] = (rule.rate * base).quantize(CENT, ROUND_HALF_UP)
            completed[year] = row
    return completed


def complete_resources(
    model: BudgetModel, resources: Mapping[int, Mapping[str, Decimal]]
) -> dict[int, dict[str, Decimal]]:
    """Every model year and funder, zeros included."""
    codes = [funder.code for funder in model.funders]
    completed: dict[int, dict[str, Decimal]] = {}
    for year in model.years:
        typed = resources.get(year, {})
        completed[year] = {code: typed.get(code, ZERO) for code in codes}
    return completed


def canonical_figures(
    model: BudgetModel, indicators: Iterable[IndicatorDef], partner: PartnerFigures
) -> dict[str, object]:
    """A partner's figures in the exchange format's canonical export form (what a sign-off certifies)."""
    expenses = complete_expenses(model, partner.expenses)
    resources = complete_resources(model, partner.resources)
    indicator_list = tuple(indicators)
    return {
        "budget": {
            str(year): {
                "expenses": {code: str(amount.quantize(CENT)) for code, amount in expenses[year].items()},
                "resources": {code: str(amount.quantize(CENT)) for code, amount in resources[year].items()},
            }
            for year in model.years
        },
        "staff_fte": {function: str(fte.quantize(CENT)) for function, fte in partner.staff_fte.items()},
        "indicators": {
            "per_year": {
                str(year): {
                    i.code: partner.indicators_per_year.get(year, {}).get(i.code, 0)
                    for i in indicator_list
                    if i.per_year
                }
                for year in model.years
            },
            "totals": {
                i.code: partner.indicator_totals.get(i.code, 0) for i in indicator_list if not i.per_year
            },
        },
    }


def digest_of(figures: Mapping[str, object]) -> str:
    """SHA-256 (hex) of canonical figures, serialised exactly as the exchange format prescribes."""
    payload = json.dumps(figures, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def figures_digest(model: BudgetModel, indicators: Iterable[IndicatorDef], partner: PartnerFigures) -> str:
    """The digest a sign-off of these figures must carry to stay valid."""
    return digest_of(canonical_figures(model, indicators, partner))


def add_months(day: date, months: int) -> date:
    """The same day some months later, moved back to the last day of a shorter month."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def duration_months(start: date, end: date) -> int:
    """Months begun in the period, end included: 2019-09-01 → 2022-08-31 is 36, one day more is 37."""
    after_end = end + timedelta(days=1)
    months = (after_end.year - start.year) * 12 + after_end.month - start.month
    if add_months(start, months) > after_end:
        months -= 1
    if add_months(start, months) < after_end:
        months += 1  # a month begun counts as a month
    return max(months, 0)


def is_duration_within(start: date, end: date, minimum: int | None, maximum: int | None) -> bool:
    """Whether the period, end included, lasts at least `minimum` and at most `maximum` months."""
    after_end = end + timedelta(days=1)
    if minimum is not None and after_end < add_months(start, minimum):
        return False
    return maximum is None or after_end <= add_months(start, maximum)


def is_year_in_period(year: int, start: date, end: date) -> bool:
    """Whether a calendar year shares at least one day with the period."""
    return date(year, 1, 1) <= end and start <= date(year, 12, 31)


def consolidate(figures: ConsortiumFigures) -> Consolidation:
    """The consortium's financing plan and indicators summed over active partners, with its findings."""
    with localcontext() as context:
        context.prec = PRECISION
        return _consolidate(figures)


@dataclass(frozen=True)
class _IndicatorShape:
    """What the totals and checks need of the indicator definitions, worked out once per consolidation."""

    totals_only: frozenset[str]  # indicators entered as one total over the project
    # (sub-indicator, its parent): both yearly (compared year by year), or not (over the project).
    yearly_pairs: tuple[tuple[IndicatorDef, IndicatorDef], ...]
    project_pairs: tuple[tuple[IndicatorDef, IndicatorDef], ...]


def _shape_of(indicators: tuple[IndicatorDef, ...]) -> _IndicatorShape:
    definitions = {indicator.code: indicator for indicator in indicators}
    pairs = [
        (child, definitions[child.part_of])
        for child in indicators
        if child.part_of is not None and child.part_of in definitions
    ]
    return _IndicatorShape(
        totals_only=frozenset(indicator.code for indicator in indicators if not indicator.per_year),
        yearly_pairs=tuple(pair for pair in pairs if pair[0].per_year and pair[1].per_year),
        project_pairs=tuple(pair for pair in pairs if not (pair[0].per_year and pair[1].per_year)),
    )


def _consolidate(figures: ConsortiumFigures) -> Consolidation:
    model, rules = figures.model, figures.rules
    shape = _shape_of(tuple(figures.indicators))
    partners = tuple(_partner_totals(figures, partner, shape) for partner in figures.partners)
    active = [totals for totals in partners if totals.active]
    by_category = {
        category.code: {year: _sum(t.expenses[year][category.code] for t in active) for year in model.years}
        for category in model.expense_categories
    }
    by_funder = {
        funder.code: {year: _sum(t.resources[year][funder.code] for t in active) for year in model.years}
        for funder in model.funders
    }
    groups = dict.fromkeys((*FUNDER_GROUPS, *(funder.group for funder in model.funders)), ZERO)
    for funder in model.funders:
        groups[funder.group] += _sum(by_funder[funder.code].values())
    total_cost = _sum(t.total_expenses for t in active)
    main_funder_share = None
    if rules.main_funder is not None and total_cost:
        main_funder_share = _sum(by_funder.get(rules.main_funder, {}).values()) / total_cost
    local = _sum(amount for group, amount in groups.items() if group not in NATIONAL_FUNDER_GROUPS)
    participants = sum(t.participants for t in active)
    fte = _sum(t.fte for t in active)
    local_cofunding_share = local / total_cost if total_cost else None
    cost_per_participant = (total_cost / participants).quantize(CENT, ROUND_HALF_UP) if participants else None
    # Stable order: consortium first, then partners in document order, then sections.
    findings = list(_consortium_findings(figures, total_cost, main_funder_share, local_cofunding_share))
    for partner, totals in zip(figures.partners, partners, strict=True):
        if partner.active:
            findings.extend(_partner_findings(figures, partner, totals, shape))
    findings.extend(_section_findings(figures.sections))
    return Consolidation(
        partners=partners,
        total_cost=total_cost,
        total_resources=_sum(t.total_resources for t in active),
        by_category=by_category,
        by_funder=by_funder,
        by_funder_group=groups,
        expenses_by_year={year: _sum(t.expenses_by_year[year] for t in active) for year in model.years},
        resources_by_year={year: _sum(t.resources_by_year[year] for t in active) for year in model.years},
        main_funder_share=main_funder_share,
        local_cofunding_share=local_cofunding_share,
        participants=participants,
        cost_per_participant=cost_per_participant,
        fte=fte,
        participants_per_fte=(participants / fte).quantize(TENTH, ROUND_HALF_UP) if fte else None,
        duration_months=duration_months(figures.project_start, figures.project_end),
        errors=tuple(finding for finding in findings if finding.severity == "error"),
        warnings=tuple(finding for finding in findings if finding.severity == "warning"),
    )


def _partner_totals(
    figures: ConsortiumFigures, partner: PartnerFigures, shape: _IndicatorShape
) -> PartnerTotals:
    model = figures.model
    expenses = complete_expenses(model, partner.expenses)
    resources = complete_resources(model, partner.resources)
    expenses_by_year = {year: _sum(expenses[year].values()) for year in model.years}
    resources_by_year = {year: _sum(resources[year].values()) for year in model.years}
    tolerance = figures.rules.balance_tolerance
    unbalanced = tuple(
        year for year in model.years if abs(expenses_by_year[year] - resources_by_year[year]) > tolerance
    )
    return PartnerTotals(
        id=partner.id,
        name=partner.name,
        active=partner.active,
        expenses=expenses,
        resources=resources,
        expenses_by_year=expenses_by_year,
        resources_by_year=resources_by_year,
        total_expenses=_sum(expenses_by_year.values()),
        total_resources=_sum(resources_by_year.values()),
        unbalanced_years=unbalanced,
        balanced=not unbalanced,
        participants=_indicator_total(figures, partner, PARTICIPANTS_INDICATOR, shape),
        fte=_sum(partner.staff_fte.values()),
        sign_off=partner.sign_off,
    )


def indicator_total(figures: ConsortiumFigures, partner: PartnerFigures, indicator: IndicatorDef) -> int:
    """A partner's indicator over the whole project: its yearly values summed, or its single total."""
    return _indicator_total(figures, partner, indicator.code, _shape_of((indicator,)))


def _indicator_total(
    figures: ConsortiumFigures, partner: PartnerFigures, code: str, shape: _IndicatorShape
) -> int:
    """An indicator over the whole project: its yearly values summed, or its single total."""
    if code in shape.totals_only:
        return partner.indicator_totals.get(code, 0)
    return sum(partner.indicators_per_year.get(year, {}).get(code, 0) for year in figures.model.years)


def _consortium_findings(
    figures: ConsortiumFigures,
    total_cost: Decimal,
    main_funder_share: Decimal | None,
    local_cofunding_share: Decimal | None,
) -> Iterator[Finding]:
    rules, start, end = figures.rules, figures.project_start, figures.project_end
    if not is_duration_within(start, end, rules.min_duration_months, rules.max_duration_months):
        yield _error(
            "duration_out_of_bounds",
            _(
                "La période du projet (du %(start)s au %(end)s) sort de la durée demandée par l'appel : "
                "%(bounds)s.",
                start=_day(start),
                end=_day(end),
                bounds=_duration_bounds(rules.min_duration_months, rules.max_duration_months),
            ),
            "consortium.project_end",
        )
    yield from _deadline_findings(figures)
    if rules.min_total_cost is not None and total_cost < rules.min_total_cost:
        yield _error(
            "total_cost_below_minimum",
            _(
                "Le coût total du projet (%(total)s) est inférieur au minimum demandé par l'appel "
                "(%(minimum)s).",
                total=format_eur(total_cost),
                minimum=format_eur(rules.min_total_cost),
            ),
            "call.rules.min_total_cost",
        )
    share_range = rules.main_funder_share_range
    if share_range is not None and main_funder_share is not None:
        low, high = share_range
        if not low <= main_funder_share <= high:
            yield _warning(
                "main_funder_share_out_of_range",
                _(
                    "%(funder)s finance %(share)s du coût total ; l'appel attend entre %(low)s et %(high)s.",
                    funder=_funder_label(figures.model, rules.main_funder),
                    share=format_share(main_funder_share),
                    low=format_share(low),
                    high=format_share(high),
                ),
                "call.rules.main_funder_share_range",
            )
    minimum = rules.min_local_cofunding_share
    if minimum is not None and local_cofunding_share is not None and local_cofunding_share < minimum:
        yield _warning(
            "local_cofunding_below_minimum",
            _(
                "Les cofinancements hors État et fonds européens couvrent %(share)s du coût total ; "
                "l'appel attend au moins %(minimum)s.",
                share=format_share(local_cofunding_share),
                minimum=format_share(minimum),
            ),
            "call.rules.min_local_cofunding_share",
        )


def _partner_findings(
    figures: ConsortiumFigures, partner: PartnerFigures, totals: PartnerTotals, shape: _IndicatorShape
) -> Iterator[Finding]:
    start, end = figures.project_start, figures.project_end
    for year in figures.model.years:
        path = f"partners[{partner.index}].budget.{year}"
        amounts = [*totals.expenses[year].values(), *totals.resources[year].values()]
        if not is_year_in_period(year, start, end) and any(amounts):
            yield _error(
                "amount_outside_period",
                _(
                    "%(partner)s : des montants sont saisis pour %(year)s, année hors de la période "
                    "du projet (du %(start)s au %(end)s).",
                    partner=partner.name,
                    year=year,
                    start=_day(start),
                    end=_day(end),
                ),
                path,
                partner,
                year,
            )
        if year in totals.unbalanced_years:
            yield _error(
                "unbalanced_year",
                _unbalanced_message(
                    partner.name, year, totals.expenses_by_year[year], totals.resources_by_year[year]
                ),
                path,
                partner,
                year,
            )
    yield from _indicator_findings(figures, partner, shape)
    if partner.sign_off is SignOffState.NONE:
        yield _warning(
            "sign_off_missing",
            _("%(partner)s : la direction n'a pas encore validé ses chiffres.", partner=partner.name),
            f"partners[{partner.index}].sign_off",
            partner,
        )
    elif partner.sign_off is SignOffState.VOID:
        yield _warning(
            "sign_off_void",
            _(
                "%(partner)s : les chiffres ont changé depuis leur validation par la direction ; "
                "une nouvelle validation est nécessaire.",
                partner=partner.name,
            ),
            f"partners[{partner.index}].sign_off",
            partner,
        )


def _unbalanced_message(name: str, year: int, expenses: Decimal, resources: Decimal) -> str:
    if expenses > resources:
        return _(
            "%(partner)s, %(year)s : le plan de financement n'est pas équilibré, il manque %(difference)s "
            "de ressources (dépenses %(expenses)s, ressources %(resources)s).",
            partner=name,
            year=year,
            difference=format_eur(expenses - resources),
            expenses=format_eur(expenses),
            resources=format_eur(resources),
        )
    return _(
        "%(partner)s, %(year)s : le plan de financement n'est pas équilibré, les ressources dépassent "
        "les dépenses de %(difference)s (dépenses %(expenses)s, ressources %(resources)s).",
        partner=name,
        year=year,
        difference=format_eur(resources - expenses),
        expenses=format_eur(expenses),
        resources=format_eur(resources),
    )


def _indicator_findings(
    figures: ConsortiumFigures, partner: PartnerFigures, shape: _IndicatorShape
) -> Iterator[Finding]:
    """A sub-indicator above its parent: year by year when both are yearly, else over the project."""
    for year in figures.model.years:
        values = partner.indicators_per_year.get(year, {})
        for child, parent in shape.yearly_pairs:
            if values.get(child.code, 0) > values.get(parent.code, 0):
                yield _error(
                    "indicator_above_parent",
                    _(
                        "%(partner)s, %(year)s : « %(child)s » (%(child_value)s) dépasse "
                        "« %(parent)s » (%(parent_value)s).",
                        partner=partner.name,
                        year=year,
                        child=child.label,
                        child_value=values.get(child.code, 0),
                        parent=parent.label,
                        parent_value=values.get(parent.code, 0),
                    ),
                    f"partners[{partner.index}].indicators.per_year.{year}.{child.code}",
                    partner,
                    year,
                )
    for child, parent in shape.project_pairs:
        child_value = _indicator_total(figures, partner, child.code, shape)
        parent_value = _indicator_total(figures, partner, parent.code, shape)
        if child_value > parent_value:
            yield _error(
                "indicator_above_parent",
                _(
                    "%(partner)s : « %(child)s » (%(child_value)s) dépasse "
                    "« %(parent)s » (%(parent_value)s).",
                    partner=partner.name,
                    child=child.label,
                    child_value=child_value,
                    parent=parent.label,
                    parent_value=parent_value,
                ),
                # A yearly sub-indicator of a project-wide parent has no single key; point at its years.
                f"partners[{partner.index}].indicators.totals.{child.code}"
                if not child.per_year
                else f"partners[{partner.index}].indicators.per_year",
                partner,
            )


def _section_findings(sections: Iterable[SectionFigures]) -> Iterator[Finding]:
    for section in sections:
        if section.scope not in SHARED_SCOPES:
            continue
        if section.max_chars is not None and section.shared_length > section.max_chars:
            yield _warning(
                "section_over_limit",
                _(
                    "Chapitre « %(title)s » : le texte commun compte %(length)s caractères pour %(limit)s "
                    "au maximum.",
                    title=section.title,
                    length=_count(section.shared_length),
                    limit=_count(section.max_chars),
                ),
                f"sections[{section.index}].content",
            )
        if not section.generated and section.shared_state == "empty":
            yield _warning(
                "section_todo",
                _("Chapitre « %(title)s » : le texte commun n'est pas encore commencé.", title=section.title),
                f"sections[{section.index}].status",
            )


def _deadline_findings(figures: ConsortiumFigures) -> Iterator[Finding]:
    """A draft whose deadline has passed, or a project that would start before the dossier is filed."""
    deadline = figures.rules.submission_deadline
    if deadline is None:
        return
    if figures.today is not None and deadline < figures.today and not figures.submitted:
        yield _warning(
            "deadline_passed",
            _(
                "La date limite de dépôt (%(deadline)s) est passée. Si l'appel a été prolongé, "
                "indiquez la nouvelle date dans les paramètres du consortium.",
                deadline=_day(deadline),
            ),
            "call.submission_deadline",
        )
    if figures.project_start < deadline:
        yield _warning(
            "project_starts_before_deadline",
            _(
                "Le projet commence le %(start)s, avant la date limite de dépôt (%(deadline)s) : "
                "vérifiez les dates du projet et celle de l'appel.",
                start=_day(figures.project_start),
                deadline=_day(deadline),
            ),
            "consortium.project_start",
        )


def _error(
    code: str, message: str, path: str, partner: PartnerFigures | None = None, year: int | None = None
) -> Finding:
    return Finding(code, "error", message, path, partner.id if partner else None, year)


def _warning(
    code: str, message: str, path: str, partner: PartnerFigures | None = None, year: int | None = None
) -> Finding:
    return Finding(code, "warning", message, path, partner.id if partner else None, year)


def _sum(amounts: Iterable[Decimal]) -> Decimal:
    return sum(amounts, ZERO)


def _day(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def _count(number: int) -> str:
    return format_decimal(number, locale="fr_FR")


def _funder_label(model: BudgetModel, code: str | None) -> str:
    return next((funder.label for funder in model.funders if funder.code == code), code or "")


def _duration_bounds(minimum: int | None, maximum: int | None) -> str:
    if minimum is not None and maximum is not None:
        return _("de %(minimum)s à %(maximum)s mois", minimum=minimum, maximum=maximum)
    if minimum is not None:
        return _("au moins %(minimum)s mois", minimum=minimum)
    return _("au plus %(maximum)s mois", maximum=maximum)
