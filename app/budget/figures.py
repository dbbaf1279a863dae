"""Read a consortium's figures from the database into the plain values calculations work on.

A constant number of queries whatever the number of partners: one per table, never one per partner.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TypeVar

from sqlalchemy import select

from app.budget import calculations as calc
from app.budget.models import (
    WHOLE_PROJECT,
    AmountKind,
    BudgetAmount,
    ExpenseCategory,
    Funder,
    IndicatorDefinition,
    IndicatorValue,
    SignOff,
    StaffLine,
)
from app.consortia.models import Consortium, ConsortiumStatus, Partner, PartnerStatus
from app.extensions import db
from app.richtext import visible_length
from app.sections.models import Section
from app.sections.states import part_state
from app.templating import paris_today

T = TypeVar("T")


@dataclass(frozen=True)
class ConsortiumData:
    """Everything about a consortium's figures, loaded once: the ORM rows and their plain form."""

    consortium: Consortium
    partners: tuple[Partner, ...]
    categories: tuple[ExpenseCategory, ...]
    funders: tuple[Funder, ...]
    indicators: tuple[IndicatorDefinition, ...]
    sign_offs: dict[int, SignOff]  # latest sign-off per partner id
    figures: calc.ConsortiumFigures


def call_rules(consortium: Consortium) -> calc.CallRules:
    """The call's rules as plain values."""
    call = consortium.call
    share_range = None
    if call.main_funder_share_min is not None and call.main_funder_share_max is not None:
        share_range = (call.main_funder_share_min, call.main_funder_share_max)
    return calc.CallRules(
        min_total_cost=call.min_total_cost,
        min_duration_months=call.min_duration_months,
        max_duration_months=call.max_duration_months,
        main_funder=call.main_funder,
        main_funder_share_range=share_range,
        min_local_cofunding_share=call.min_local_cofunding_share,
        balance_tolerance=call.balance_tolerance or Decimal("0.00"),
        submission_deadline=call.submission_deadline,
    )


def budget_model(
    consortium: Consortium, categories: Sequence[ExpenseCategory], funders: Sequence[Funder]
) -> calc.BudgetModel:
    """The consortium's budget model as plain values."""
    indirect = None
    if consortium.indirect_category and consortium.indirect_rate is not None:
        indirect = calc.IndirectCostRule(
            category=consortium.indirect_category,
            rate=consortium.indirect_rate,
            base_categories=tuple(consortium.indirect_base or ()),
        )
    return calc.BudgetModel(
        years=tuple(consortium.years),
        expense_categories=tuple(calc.ExpenseCategory(c.code, c.label, c.computed) for c in categories),
        funders=tuple(calc.Funder(f.code, f.label, f.group.value) for f in funders),
        indirect_costs=indirect,
    )


def _rows(model: type[T], consortium: Consortium) -> tuple[T, ...]:
    return tuple(
        db.session.scalars(
            select(model).where(model.consortium_id == consortium.id).order_by(model.position)  # type: ignore[attr-defined]
        )
    )


@dataclass(frozen=True)
class Rows:
    """The few ORM rows pages show besides the figures: partners, budget lines, indicators, sign-offs."""

    partners: tuple[Partner, ...]
    categories: tuple[ExpenseCategory, ...]
    funders: tuple[Funder, ...]
    indicators: tuple[IndicatorDefinition, ...]
    sign_offs: dict[int, SignOff]  # latest sign-off per partner id


def load_rows(consortium: Consortium) -> Rows:
    """The consortium's partners, categories, funders, indicators and latest sign-offs (5 queries)."""
    partners = tuple(
        db.session.scalars(
            select(Partner).where(Partner.consortium_id == consortium.id).order_by(Partner.position)
        )
    )
    sign_offs: dict[int, SignOff] = {}
    found = db.session.scalars(
        select(SignOff)
        .join(Partner, Partner.id == SignOff.partner_id)
        .where(Partner.consortium_id == consortium.id)
        .order_by(SignOff.recorded_at, SignOff.id)
    )
    for sign_off in found:
        sign_offs[sign_off.partner_id] = sign_off
    return Rows(
        partners,
        _rows(ExpenseCategory, consortium),
        _rows(Funder, consortium),
        _rows(IndicatorDefinition, consortium),
        sign_offs,
    )


def load(consortium: Consortium, sections: Sequence[calc.SectionFigures] = ()) -> ConsortiumData:
    """Load every figure of the consortium, and the section figures given, for calculations."""
    rows = load_rows(consortium)
    return data_of(consortium, rows, plain_figures(consortium, rows, sections))


def data_of(consortium: Consortium, rows: Rows, plain: calc.ConsortiumFigures) -> ConsortiumData:
    return ConsortiumData(
        consortium, rows.partners, rows.categories, rows.funders, rows.indicators, rows.sign_offs, plain
    )


def plain_figures(
    consortium: Consortium, rows: Rows, sections: Sequence[calc.SectionFigures] = ()
) -> calc.ConsortiumFigures:
    """The figures as plain values for the calculations: amounts, indicators and staff read as columns."""
    partner_ids = select(Partner.id).where(Partner.consortium_id == consortium.id).scalar_subquery()
    expenses: dict[int, dict[int, dict[str, Decimal]]] = defaultdict(lambda: defaultdict(dict))
    resources: dict[int, dict[int, dict[str, Decimal]]] = defaultdict(lambda: defaultdict(dict))
    amounts = db.session.execute(
        select(
            BudgetAmount.partner_id,
            BudgetAmount.kind,
            BudgetAmount.year,
            BudgetAmount.code,
            BudgetAmount.amount,
        ).where(BudgetAmount.partner_id.in_(partner_ids))
    )
    for partner_id, kind, year, code, amount in amounts:
        target = expenses if kind == AmountKind.EXPENSE else resources
        target[partner_id][year][code] = amount
    per_year: dict[int, dict[int, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    totals: dict[int, dict[str, int]] = defaultdict(dict)
    values = db.session.execute(
        select(
            IndicatorValue.partner_id, IndicatorValue.year, IndicatorValue.code, IndicatorValue.value
        ).where(IndicatorValue.partner_id.in_(partner_ids))
    )
    for partner_id, year, code, value in values:
        if year == WHOLE_PROJECT:
            totals[partner_id][code] = value
        else:
            per_year[partner_id][year][code] = value
    staff: dict[int, dict[str, Decimal]] = defaultdict(dict)
    lines = db.session.execute(
        select(StaffLine.partner_id, StaffLine.function, StaffLine.fte)
        .where(StaffLine.partner_id.in_(partner_ids))
        .order_by(StaffLine.position)
    )
    for partner_id, function, fte in lines:
        staff[partner_id][function] = fte

    model = budget_model(consortium, rows.categories, rows.funders)
    indicator_defs = tuple(
        calc.IndicatorDef(i.code, i.label, i.kind.value, i.per_year, i.part_of) for i in rows.indicators
    )
    partner_figures = []
    for index, partner in enumerate(rows.partners):
        plain = calc.PartnerFigures(
            id=partner.code,
            name=partner.name,
            index=index,
            active=partner.status == PartnerStatus.ACTIVE,
            expenses=expenses[partner.id],
            resources=resources[partner.id],
            indicators_per_year=per_year[partner.id],
            indicator_totals=totals[partner.id],
            staff_fte=staff[partner.id],
        )
        latest = rows.sign_offs.get(partner.id)
        state = calc.SignOffState.NONE
        if latest is not None:
            digest = calc.figures_digest(model, indicator_defs, plain)
            state = calc.SignOffState.VALID if latest.digest == digest else calc.SignOffState.VOID
        partner_figures.append(replace(plain, sign_off=state))

    return calc.ConsortiumFigures(
        rules=call_rules(consortium),
        model=model,
        indicators=indicator_defs,
        project_start=consortium.project_start,
        project_end=consortium.project_end,
        partners=tuple(partner_figures),
        sections=tuple(sections),
        today=paris_today(),
        submitted=consortium.status is ConsortiumStatus.SUBMITTED,
    )


def section_figures(
    sections: list[Section], texts: dict[tuple[int, int | None], str]
) -> tuple[calc.SectionFigures, ...]:
    """What the checks need to know of each section (limits, length and state of the shared text)."""
    figures = []
    for index, section in enumerate(sections):
        length = visible_length(texts.get((section.id, None), ""))
        figures.append(
            calc.SectionFigures(
                code=section.code,
                title=section.title,
                index=index,
                scope=section.scope.value,
                generated=section.generated,
                max_chars=section.max_chars,
                shared_length=length,
                shared_state=part_state(length, section.status).value,
            )
        )
    return tuple(figures)
