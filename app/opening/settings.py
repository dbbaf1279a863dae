"""A consortium's settings: its project (title, period), its call's rules and its indirect-cost rule.

Opening a consortium checks and writes the call with the same rules. A change that would orphan
entered figures (a year leaving the period, a line becoming computed) is refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from app.audit import EventKind, audit_value, record_event
from app.auth.models import User
from app.budget.lines import (
    SETTINGS_REFUSAL,
    blocking_amounts,
    categories_of,
    drop_zero_rows,
    funders_of,
    names_in_brief,
)
from app.budget.models import AmountKind, BudgetAmount, ExpenseCategory, IndicatorValue
from app.consortia.models import Call, Consortium, Organisation, Partner
from app.consortia.services import require_manager
from app.consortia.validation import MAX_ACRONYM_LENGTH, MAX_TITLE_LENGTH, Errors, check_text, clean_line
from app.extensions import db
from app.money import MAX_AMOUNT
from app.opening.defaults import FLAT_RATES, IndirectRule, defaults
from app.templating import french_date, paris_today

MAX_DURATION_MONTHS = 240
# A period spanning more calendar years than this is a typing mistake, not a project.
MAX_PROJECT_YEARS = 10

# --- Inputs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallRulesInput:
    """The checks a call drives; None means the call sets no such rule. Rates are between 0 and 1."""

    min_total_cost: Decimal | None = None
    min_duration_months: int | None = None
    max_duration_months: int | None = None
    main_funder: str | None = None
    main_funder_share_min: Decimal | None = None
    main_funder_share_max: Decimal | None = None
    min_local_cofunding_share: Decimal | None = None
    balance_tolerance: Decimal | None = None


@dataclass(frozen=True)
class CallInput:
    """A call described by the coordinator."""

    name: str
    submission_deadline: date | None
    rules: CallRulesInput


@dataclass(frozen=True)
class SettingsInput:
    """The settings form: the project, its call and the indirect-cost rule (None keeps a custom rule)."""

    title: str
    acronym: str
    project_start: date
    project_end: date
    call: CallInput
    indirect_rule: IndirectRule | None


# --- Reading --------------------------------------------------------------------------------------


def years_between(start: date, end: date) -> list[int]:
    """Every calendar year sharing at least one day with the period."""
    return list(range(start.year, end.year + 1))


def current_indirect_rule(consortium: Consortium) -> IndirectRule | None:
    """The standard rule the consortium follows, or None for another (imported) rate or base."""
    if consortium.indirect_category is None or consortium.indirect_rate is None:
        return IndirectRule.ACTUAL
    base = set(consortium.indirect_base or ())
    for rule, flat in FLAT_RATES.items():
        if flat.rate == consortium.indirect_rate and set(flat.base) == base:
            return rule
    return None


# --- Checks, shared with opening ----------------------------------------------------------------


def check_period(errors: Errors, start: date, end: date) -> None:
    """Note what is wrong with a project period."""
    if end < start:
        errors.add("project_end", _("La fin du projet doit être postérieure à son début."))
    elif end.year - start.year + 1 > MAX_PROJECT_YEARS:
        errors.add(
            "project_end",
            _(
                "La période couvre plus de %(count)s années civiles : vérifiez les dates.",
                count=MAX_PROJECT_YEARS,
            ),
        )


def check_deadline(
    errors: Errors, deadline: date | None, project_start: date, *, changed: bool = True
) -> None:
    """Note a submission deadline already past (when it is being set) or after the project's start."""
    if deadline is None:
        return
    if changed and deadline < paris_today():
        errors.add(
            "submission_deadline",
            _(
                "La date limite de dépôt (%(date)s) est déjà passée : indiquez celle de l'appel auquel "
                "ce dossier répond.",
                date=french_date(deadline),
            ),
        )
    elif project_start < deadline:
        errors.add(
            "project_start",
            _(
                "Le projet commencerait le %(start)s, avant la date limite de dépôt (%(deadline)s) : "
                "un projet commence après le dépôt de son dossier.",
                start=french_date(project_start),
                deadline=french_date(deadline),
            ),
        )


def _is_rate(value: Decimal | None) -> bool:
    return value is None or Decimal(0) <= value <= Decimal(1)


def check_call(errors: Errors, call: CallInput, funder_codes: Iterable[str]) -> None:
    """Note what is wrong with a call's name and rules."""
    check_text(errors, "call_name", call.name, maximum=MAX_TITLE_LENGTH)
    rules = call.rules
    for field, amount in (
        ("min_total_cost", rules.min_total_cost),
        ("balance_tolerance", rules.balance_tolerance),
    ):
        if amount is not None and not Decimal(0) <= amount <= MAX_AMOUNT:
            errors.add(field, _("Saisissez un montant positif."))
    for field, months in (
        ("min_duration_months", rules.min_duration_months),
        ("max_duration_months", rules.max_duration_months),
    ):
        if months is not None and not 1 <= months <= MAX_DURATION_MONTHS:
            errors.add(field, _("Saisissez un nombre de mois entre 1 et %(max)s.", max=MAX_DURATION_MONTHS))
    if (
        rules.min_duration_months is not None
        and rules.max_duration_months is not None
        and rules.min_duration_months > rules.max_duration_months
        and "max_duration_months" not in errors
    ):
        errors.add(
            "max_duration_months", _("La durée maximale doit être au moins égale à la durée minimale.")
        )
    for field, rate in (
        ("main_funder_share_min", rules.main_funder_share_min),
        ("main_funder_share_max", rules.main_funder_share_max),
        ("min_local_cofunding_share", rules.min_local_cofunding_share),
    ):
        if not _is_rate(rate):
            errors.add(field, _("Saisissez un pourcentage entre 0 et 100."))
    low, high = rules.main_funder_share_min, rules.main_funder_share_max
    if (low is None) != (high is None):
        missing = "main_funder_share_max" if high is None else "main_funder_share_min"
        errors.add(missing, _("Indiquez les deux bornes de la part du financeur principal, ou aucune."))
    elif low is not None and high is not None and low > high and _is_rate(low) and _is_rate(high):
        errors.add(
            "main_funder_share_max", _("La part maximale doit être au moins égale à la part minimale.")
        )
    if rules.main_funder is not None and rules.main_funder not in set(funder_codes):
        errors.add("main_funder", _("Choisissez un financeur de la liste."))


def apply_call(call: Call, source: CallInput) -> dict[str, tuple[Any, Any]]:
    """Write the call's name, deadline and rules; return what changed (old, new)."""
    rules = source.rules
    values: dict[str, Any] = {
        "name": source.name,
        "submission_deadline": source.submission_deadline,
        "min_total_cost": rules.min_total_cost,
        "min_duration_months": rules.min_duration_months,
        "max_duration_months": rules.max_duration_months,
        "main_funder": rules.main_funder,
        "main_funder_share_min": rules.main_funder_share_min,
        "main_funder_share_max": rules.main_funder_share_max,
        "min_local_cofunding_share": rules.min_local_cofunding_share,
        "balance_tolerance": rules.balance_tolerance,
    }
    changes: dict[str, tuple[Any, Any]] = {}
    for name, value in values.items():
        old = getattr(call, name)
        if old != value:
            changes[f"call.{name}"] = (old, value)
            setattr(call, name, value)
    return changes


def _audit_changes(changes: dict[str, tuple[Any, Any]]) -> dict[str, dict[str, Any]]:
    return {name: {"old": audit_value(old), "new": audit_value(new)} for name, (old, new) in changes.items()}


# --- Changing the settings ------------------------------------------------------------------------


def update_settings(consortium: Consortium, settings: SettingsInput, *, by: User) -> dict[str, Any]:
    """Change the project, its call's rules and the indirect-cost rule, refusing what would orphan figures."""
    require_manager(consortium, by, SETTINGS_REFUSAL)
    errors = Errors()
    title, acronym = clean_line(settings.title), clean_line(settings.acronym)
    check_text(errors, "title", title, maximum=MAX_TITLE_LENGTH)
    check_text(errors, "acronym", acronym, maximum=MAX_ACRONYM_LENGTH, required=False)
    check_period(errors, settings.project_start, settings.project_end)
    call_input = CallInput(
        clean_line(settings.call.name), settings.call.submission_deadline, settings.call.rules
    )
    check_call(errors, call_input, (funder.code for funder in funders_of(consortium)))
    deadline = call_input.submission_deadline
    # A deadline that passed since it was set is the board's concern, not a reason to refuse other changes.
    dates_changed = (deadline, settings.project_start) != (
        consortium.call.submission_deadline,
        consortium.project_start,
    )
    if "project_start" not in errors and dates_changed:
        check_deadline(
            errors, deadline, settings.project_start, changed=deadline != consortium.call.submission_deadline
        )

    period_changed = (settings.project_start, settings.project_end) != (
        consortium.project_start,
        consortium.project_end,
    )
    new_years = (
        years_between(settings.project_start, settings.project_end) if period_changed else consortium.years
    )
    removed_years = sorted(set(consortium.years) - set(new_years))
    if removed_years and "project_end" not in errors:
        _check_removed_years(errors, consortium, removed_years)

    categories = {category.code: category for category in categories_of(consortium)}
    rule_plan = None
    if settings.indirect_rule is not None and settings.indirect_rule != current_indirect_rule(consortium):
        rule_plan = _plan_indirect_rule(errors, consortium, settings.indirect_rule, categories)
    errors.raise_if_any()

    changes: dict[str, tuple[Any, Any]] = {}
    for name, value in (
        ("title", title),
        ("acronym", acronym),
        ("project_start", settings.project_start),
        ("project_end", settings.project_end),
    ):
        if getattr(consortium, name) != value:
            changes[name] = (getattr(consortium, name), value)
            setattr(consortium, name, value)
    if list(new_years) != list(consortium.years):
        changes["years"] = (list(consortium.years), list(new_years))
        consortium.years = list(new_years)
        if removed_years:
            drop_zero_rows(consortium, BudgetAmount.year.in_(removed_years))
    changes.update(apply_call(consortium.call, call_input))
    if rule_plan is not None:
        changes.update(_apply_indirect_rule(consortium, rule_plan, categories))
    if changes:
        record_event(
            EventKind.CONSORTIUM_SETTINGS_CHANGED,
            actor_id=by.id,
            consortium_id=consortium.id,
            changes=_audit_changes(changes),
        )
    db.session.flush()
    return changes


def _check_removed_years(errors: Errors, consortium: Consortium, years: list[int]) -> None:
    amounts = blocking_amounts(consortium, BudgetAmount.year.in_(years))
    targets = _blocking_indicator_values(consortium, years)
    if not amounts and not targets:
        return
    field = "project_end" if max(years) >= consortium.project_end.year else "project_start"
    listed = ", ".join(str(year) for year in years)
    parts = []
    if amounts:
        parts.append(
            ngettext("%(num)d montant saisi", "%(num)d montants saisis", len(amounts))
            + " ("
            + names_in_brief(amounts)
            + ")"
        )
    if targets:
        parts.append(
            ngettext("%(num)d objectif d'indicateur", "%(num)d objectifs d'indicateurs", len(targets))
            + " ("
            + names_in_brief(targets)
            + ")"
        )
    errors.add(
        field,
        ngettext(
            "Impossible : l'année %(years)s sortirait de la période alors qu'elle porte %(what)s. "
            "Remettez-les à zéro d'abord, ou gardez cette année dans la période.",
            "Impossible : les années %(years)s sortiraient de la période alors qu'elles portent %(what)s. "
            "Remettez-les à zéro d'abord, ou gardez ces années dans la période.",
            len(years),
            years=listed,
            what=_(" et ").join(parts),
        ),
    )


def _blocking_indicator_values(consortium: Consortium, years: Iterable[int]) -> list[str]:
    rows = db.session.execute(
        select(Organisation.name)
        .select_from(IndicatorValue)
        .join(Partner, Partner.id == IndicatorValue.partner_id)
        .join(Organisation, Organisation.id == Partner.organisation_id)
        .where(
            Partner.consortium_id == consortium.id,
            IndicatorValue.value != 0,
            IndicatorValue.year.in_(list(years)),
        )
        .order_by(Partner.position)
    )
    return [name for (name,) in rows]


@dataclass(frozen=True)
class _RulePlan:
    rule: IndirectRule
    category: str
    create_category: bool


def _plan_indirect_rule(
    errors: Errors, consortium: Consortium, rule: IndirectRule, categories: dict[str, ExpenseCategory]
) -> _RulePlan:
    settings = defaults()
    code = consortium.indirect_category or settings.indirect_category
    flat = FLAT_RATES.get(rule)
    if flat is None:
        return _RulePlan(rule, code, create_category=False)
    missing = [base for base in flat.base if base not in categories or base == code]
    if missing:
        errors.add(
            "indirect_rule",
            _(
                "Cette règle calcule le forfait sur des catégories absentes du modèle (%(codes)s) : "
                "choisissez une autre règle.",
                codes=", ".join(missing),
            ),
        )
    category = categories.get(code)
    if category is not None and not category.computed:
        blocking = blocking_amounts(
            consortium, BudgetAmount.kind == AmountKind.EXPENSE, BudgetAmount.code == code
        )
        if blocking:
            errors.add(
                "indirect_rule",
                ngettext(
                    "Impossible de passer au forfait : la ligne « %(label)s » porte %(num)d montant saisi "
                    "en frais réels (%(names)s). Remettez-le à zéro d'abord.",
                    "Impossible de passer au forfait : la ligne « %(label)s » porte %(num)d montants saisis "
                    "en frais réels (%(names)s). Remettez-les à zéro d'abord.",
                    len(blocking),
                    label=category.label,
                    names=names_in_brief(blocking),
                ),
            )
    return _RulePlan(rule, code, create_category=category is None)


def _apply_indirect_rule(
    consortium: Consortium, plan: _RulePlan, categories: dict[str, ExpenseCategory]
) -> dict[str, tuple[Any, Any]]:
    settings = defaults()
    old = current_indirect_rule(consortium)
    changes: dict[str, tuple[Any, Any]] = {
        "indirect_rule": (
            old.value if old else f"{consortium.indirect_rate} × {consortium.indirect_base}",
            plan.rule.value,
        )
    }
    flat = FLAT_RATES.get(plan.rule)
    category = categories.get(plan.category)
    if category is None and flat is not None:
        category = ExpenseCategory(
            consortium_id=consortium.id,
            code=plan.category,
            label=settings.flat_rate_label,
            computed=True,
            position=max((c.position for c in categories.values()), default=-1) + 1,
        )
        db.session.add(category)
        changes["category_added"] = (None, plan.category)
    if category is not None:
        computed = flat is not None
        if category.computed != computed:
            # Typed zeros of a line that becomes computed say nothing; the check refused the rest.
            drop_zero_rows(
                consortium, BudgetAmount.kind == AmountKind.EXPENSE, BudgetAmount.code == category.code
            )
            changes[f"category.{category.code}.computed"] = (category.computed, computed)
            category.computed = computed
        # The default label names the way it is counted: follow the switch, keep a label of one's own.
        label = category.label
        if flat is None and label == settings.flat_rate_label:
            label = settings.actual_costs_label
        elif flat is not None and label == settings.actual_costs_label:
            label = settings.flat_rate_label
        if label != category.label:
            changes[f"category.{category.code}.label"] = (category.label, label)
            category.label = label
    if flat is None:
        consortium.indirect_category = None
        consortium.indirect_rate = None
        consortium.indirect_base = None
    else:
        consortium.indirect_category = plan.category
        consortium.indirect_rate = flat.rate
        consortium.indirect_base = list(flat.base)
    return changes
