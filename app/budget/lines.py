"""The budget model's lines: expense categories and funders, written, read, added, renamed, reordered,
removed; a new consortium's whole model (with its indicators) is written by `write_model`.

A line holding entered amounts cannot go, lest they be orphaned; the settings use the same guard
for the years a shorter period drops and for a category the indirect-cost rule turns computed.
One concept (a model's lines and the guard on them), kept in one file.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import delete, exists, func, select

from app.audit import EventKind, record_event
from app.auth.models import User
from app.budget.models import (
    AmountKind,
    BudgetAmount,
    ExpenseCategory,
    Funder,
    FunderGroup,
    IndicatorDefinition,
    IndicatorKind,
    SignOff,
)
from app.consortia.models import Consortium, Organisation, Partner
from app.consortia.services import require_manager
from app.consortia.validation import (
    MAX_SLUG_LENGTH,
    MAX_TITLE_LENGTH,
    Errors,
    check_text,
    clean_line,
    slug_from,
)
from app.errors import Invalid
from app.extensions import db

# Only the coordination changes the settings and the budget model.
SETTINGS_REFUSAL = _l("Seule la coordination du consortium peut modifier ses paramètres.")

# --- Writing a new model ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CategoryRow:
    """An expense category of a model being written (computed: the indirect costs of a flat rate)."""

    code: str
    label: str
    computed: bool = False
    extensions: dict[str, Any] | None = None


@dataclass(frozen=True)
class FunderRow:
    """A funder of a model being written."""

    code: str
    label: str
    group: FunderGroup
    extensions: dict[str, Any] | None = None


@dataclass(frozen=True)
class IndicatorRow:
    """An indicator of a model being written, maybe part of another (`part_of`)."""

    code: str
    label: str
    kind: IndicatorKind
    per_year: bool = True
    part_of: str | None = None
    extensions: dict[str, Any] | None = None


def write_model(
    consortium: Consortium,
    categories: Iterable[CategoryRow],
    funders: Iterable[FunderRow],
    indicators: Iterable[IndicatorRow],
) -> None:
    """Write a new consortium's budget model, in the order given: the wizard's defaults or a document's."""
    for position, category in enumerate(categories):
        db.session.add(
            ExpenseCategory(
                consortium_id=consortium.id,
                code=category.code,
                label=category.label,
                computed=category.computed,
                position=position,
                extensions=category.extensions,
            )
        )
    for position, funder in enumerate(funders):
        db.session.add(
            Funder(
                consortium_id=consortium.id,
                code=funder.code,
                label=funder.label,
                group=funder.group,
                position=position,
                extensions=funder.extensions,
            )
        )
    for position, indicator in enumerate(indicators):
        db.session.add(
            IndicatorDefinition(
                consortium_id=consortium.id,
                code=indicator.code,
                label=indicator.label,
                kind=indicator.kind,
                per_year=indicator.per_year,
                part_of=indicator.part_of,
                position=position,
                extensions=indicator.extensions,
            )
        )


# --- Reading --------------------------------------------------------------------------------------


def categories_of(consortium: Consortium) -> list[ExpenseCategory]:
    """The consortium's expense categories in order."""
    return list(
        db.session.scalars(
            select(ExpenseCategory)
            .where(ExpenseCategory.consortium_id == consortium.id)
            .order_by(ExpenseCategory.position, ExpenseCategory.id)
        )
    )


def funders_of(consortium: Consortium) -> list[Funder]:
    """The consortium's funders in order."""
    return list(
        db.session.scalars(
            select(Funder).where(Funder.consortium_id == consortium.id).order_by(Funder.position, Funder.id)
        )
    )


def _partner_ids(consortium: Consortium) -> Any:
    return select(Partner.id).where(Partner.consortium_id == consortium.id)


def has_amounts(consortium: Consortium) -> bool:
    """Whether any amount has been entered for the consortium (the model is then guarded)."""
    return bool(
        db.session.scalar(select(exists().where(BudgetAmount.partner_id.in_(_partner_ids(consortium)))))
    )


def signed_off_partners(consortium: Consortium) -> int:
    """How many partners have a sign-off, which a change of the model's figures would void."""
    return int(
        db.session.scalar(
            select(func.count(func.distinct(SignOff.partner_id))).where(
                SignOff.partner_id.in_(_partner_ids(consortium))
            )
        )
        or 0
    )


# --- Guards shared with the settings --------------------------------------------------------------


def blocking_amounts(consortium: Consortium, *conditions: Any) -> list[str]:
    """Names of the partners (one per non-zero amount) holding amounts that match the conditions."""
    rows = db.session.execute(
        select(Organisation.name)
        .select_from(BudgetAmount)
        .join(Partner, Partner.id == BudgetAmount.partner_id)
        .join(Organisation, Organisation.id == Partner.organisation_id)
        .where(Partner.consortium_id == consortium.id, BudgetAmount.amount != Decimal(0), *conditions)
        .order_by(Partner.position, BudgetAmount.year)
    )
    return [name for (name,) in rows]


def drop_zero_rows(consortium: Consortium, *conditions: Any) -> None:
    """Rows holding a zero say nothing: they go with the line or year they belonged to."""
    db.session.execute(
        delete(BudgetAmount)
        .where(
            BudgetAmount.partner_id.in_(_partner_ids(consortium)),
            BudgetAmount.amount == Decimal(0),
            *conditions,
        )
        .execution_options(synchronize_session=False)
    )


def names_in_brief(names: Sequence[str]) -> str:
    """« A, B, C et 2 autres membres »: who is concerned, briefly."""
    unique = list(dict.fromkeys(names))
    shown = ", ".join(unique[:3])
    rest = len(unique) - 3
    if rest > 0:
        return shown + " " + ngettext("et %(num)d autre membre", "et %(num)d autres membres", rest)
    return shown


# --- Lines ----------------------------------------------------------------------------------------


def _line_code(
    consortium: Consortium,
    kind: AmountKind,
    label: str,
    rows: Sequence[ExpenseCategory | Funder],
    fallback: str,
) -> str:
    """A code for a new line, made from its label, that no line and no amount kept under an old code uses."""
    taken = {row.code for row in rows} | set(
        db.session.scalars(
            select(BudgetAmount.code).where(
                BudgetAmount.partner_id.in_(_partner_ids(consortium)), BudgetAmount.kind == kind
            )
        )
    )
    base = slug_from(label, separator="_", max_length=MAX_SLUG_LENGTH - 4) or fallback
    candidate, number = base, 1
    while candidate in taken:
        number += 1
        candidate = f"{base}_{number}"
    return candidate


def _check_label(errors: Errors, label: str, others: Iterable[str]) -> None:
    check_text(errors, "label", label, maximum=MAX_TITLE_LENGTH)
    if label and label.casefold() in {other.casefold() for other in others}:
        errors.add("label", _("Une autre ligne porte déjà ce libellé."))


def _remove_row(
    consortium: Consortium,
    rows: list[ExpenseCategory] | list[Funder],
    row: ExpenseCategory | Funder,
    kind: AmountKind,
    keep: str,
) -> None:
    """Take a category or funder out of the model, refused while amounts are entered in it."""
    conditions = (BudgetAmount.kind == kind, BudgetAmount.code == row.code)
    blocking = blocking_amounts(consortium, *conditions)
    if blocking:
        raise Invalid(
            ngettext(
                "Impossible de retirer « %(label)s » : %(num)d montant y est saisi (%(names)s). "
                "Remettez-le à zéro d'abord, ou gardez %(keep)s.",
                "Impossible de retirer « %(label)s » : %(num)d montants y sont saisis (%(names)s). "
                "Remettez-les à zéro d'abord, ou gardez %(keep)s.",
                len(blocking),
                label=row.label,
                names=names_in_brief(blocking),
                keep=keep,
            )
        )
    drop_zero_rows(consortium, *conditions)
    db.session.delete(row)
    rows.remove(row)  # type: ignore[arg-type]
    _renumber(rows)


def _renumber(rows: Sequence[ExpenseCategory | Funder]) -> None:
    for position, row in enumerate(rows):
        row.position = position


def _move(
    consortium: Consortium, rows: list[Any], code: str, offset: int, kind: EventKind, *, by: User
) -> None:
    """Move the row one place up (-1) or down (+1), logged as `kind`; a row at either end stays put."""
    index = rows.index(_find(rows, code))
    target = index + offset
    if offset in (-1, 1) and 0 <= target < len(rows):
        rows[index], rows[target] = rows[target], rows[index]
        _renumber(rows)
        record_event(
            kind, actor_id=by.id, consortium_id=consortium.id, code=code, old=index + 1, new=target + 1
        )
    db.session.flush()


def _find(rows: Sequence[Any], code: str) -> Any:
    row = next((row for row in rows if row.code == code), None)
    if row is None:
        raise Invalid(_("Cette ligne n'existe plus : rechargez la page."))
    return row


def add_category(consortium: Consortium, label: str, *, by: User) -> ExpenseCategory:
    """Add a typed expense category at the end of the model."""
    require_manager(consortium, by, SETTINGS_REFUSAL)
    rows = categories_of(consortium)
    label = clean_line(label)
    errors = Errors()
    _check_label(errors, label, (row.label for row in rows))
    errors.raise_if_any()
    category = ExpenseCategory(
        consortium_id=consortium.id,
        code=_line_code(consortium, AmountKind.EXPENSE, label, rows, "categorie"),
        label=label,
        computed=False,
        position=len(rows),
    )
    db.session.add(category)
    record_event(
        EventKind.BUDGET_MODEL_CATEGORY_ADDED,
        actor_id=by.id,
        consortium_id=consortium.id,
        code=category.code,
        label=label,
    )
    db.session.flush()
    return category


def rename_category(consortium: Consortium, code: str, label: str, *, by: User) -> None:
    """Change a category's label (always allowed: amounts are kept by code)."""
    require_manager(consortium, by, SETTINGS_REFUSAL)
    rows = categories_of(consortium)
    category = _find(rows, code)
    label = clean_line(label)
    errors = Errors()
    _check_label(errors, label, (row.label for row in rows if row.code != code))
    errors.raise_if_any()
    if category.label != label:
        record_event(
            EventKind.BUDGET_MODEL_CATEGORY_RENAMED,
            actor_id=by.id,
            consortium_id=consortium.id,
            code=code,
            old=category.label,
            new=label,
        )
        category.label = label
    db.session.flush()


def move_category(consortium: Consortium, code: str, offset: int, *, by: User) -> None:
    """Move a category one place up (-1) or down (+1)."""
    require_manager(consortium, by, SETTINGS_REFUSAL)
    _move(consortium, categories_of(consortium), code, offset, EventKind.BUDGET_MODEL_CATEGORY_MOVED, by=by)


def remove_category(consortium: Consortium, code: str, *, by: User) -> None:
    """Remove a category, unless amounts are entered in it or the indirect-cost rule relies on it."""
    require_manager(consortium, by, SETTINGS_REFUSAL)
    rows = categories_of(consortium)
    category = _find(rows, code)
    if code == consortium.indirect_category:
        raise Invalid(
            _(
                "« %(label)s » porte le forfait des coûts indirects : choisissez d'abord « frais réels » "
                "dans les règles de calcul des coûts indirects.",
                label=category.label,
            )
        )
    if code in (consortium.indirect_base or ()):
        raise Invalid(
            _(
                "« %(label)s » sert de base au forfait des coûts indirects : choisissez d'abord une autre "
                "règle de calcul.",
                label=category.label,
            )
        )
    if len([row for row in rows if not row.computed]) <= 1 and not category.computed:
        raise Invalid(_("Le budget doit garder au moins une catégorie de dépenses saisie."))
    _remove_row(consortium, rows, category, AmountKind.EXPENSE, _("cette catégorie"))
    record_event(
        EventKind.BUDGET_MODEL_CATEGORY_REMOVED,
        actor_id=by.id,
        consortium_id=consortium.id,
        code=code,
        label=category.label,
    )
    db.session.flush()


def add_funder(consortium: Consortium, label: str, group: FunderGroup, *, by: User) -> Funder:
    """Add a funder at the end of the model."""
    require_manager(consortium, by, SETTINGS_REFUSAL)
    rows = funders_of(consortium)
    label = clean_line(label)
    errors = Errors()
    _check_label(errors, label, (row.label for row in rows))
    errors.raise_if_any()
    funder = Funder(
        consortium_id=consortium.id,
        code=_line_code(consortium, AmountKind.RESOURCE, label, rows, "financeur"),
        label=label,
        group=group,
        position=len(rows),
    )
    db.session.add(funder)
    record_event(
        EventKind.BUDGET_MODEL_FUNDER_ADDED,
        actor_id=by.id,
        consortium_id=consortium.id,
        code=funder.code,
        label=label,
        group=group.value,
    )
    db.session.flush()
    return funder


def update_funder(consortium: Consortium, code: str, label: str, group: FunderGroup, *, by: User) -> None:
    """Change a funder's label and group (always allowed: amounts are kept by code)."""
    require_manager(consortium, by, SETTINGS_REFUSAL)
    rows = funders_of(consortium)
    funder = _find(rows, code)
    label = clean_line(label)
    errors = Errors()
    _check_label(errors, label, (row.label for row in rows if row.code != code))
    errors.raise_if_any()
    changes = {}
    if funder.label != label:
        changes["label"] = {"old": funder.label, "new": label}
        funder.label = label
    if funder.group != group:
        changes["group"] = {"old": funder.group.value, "new": group.value}
        funder.group = group
    if changes:
        record_event(
            EventKind.BUDGET_MODEL_FUNDER_CHANGED,
            actor_id=by.id,
            consortium_id=consortium.id,
            code=code,
            changes=changes,
        )
    db.session.flush()


def move_funder(consortium: Consortium, code: str, offset: int, *, by: User) -> None:
    """Move a funder one place up (-1) or down (+1)."""
    require_manager(consortium, by, SETTINGS_REFUSAL)
    _move(consortium, funders_of(consortium), code, offset, EventKind.BUDGET_MODEL_FUNDER_MOVED, by=by)


def remove_funder(consortium: Consortium, code: str, *, by: User) -> None:
    """Remove a funder, unless amounts are entered for it or it is the call's main funder."""
    require_manager(consortium, by, SETTINGS_REFUSAL)
    rows = funders_of(consortium)
    funder = _find(rows, code)
    if code == consortium.call.main_funder:
        raise Invalid(
            _(
                "« %(label)s » est le financeur principal de l'appel : choisissez-en un autre dans les "
                "règles de l'appel avant de le retirer.",
                label=funder.label,
            )
        )
    if len(rows) <= 1:
        raise Invalid(_("Le budget doit garder au moins un financeur."))
    _remove_row(consortium, rows, funder, AmountKind.RESOURCE, _("ce financeur"))
    record_event(
        EventKind.BUDGET_MODEL_FUNDER_REMOVED,
        actor_id=by.id,
        consortium_id=consortium.id,
        code=code,
        label=funder.label,
        group=funder.group.value,
    )
    db.session.flush()
