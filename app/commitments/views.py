"""Pages where a partner enters its commitments: budget, staff, indicators (signing them: sign_off_views)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from app import content_version
from app.budget import sign_off
from app.commitments import cells
from app.commitments import services as entry
from app.commitments import staff as staffing
from app.commitments.forms import (
    GridForm,
    GridInput,
    SignOffForm,
    budget_cell_name,
    indicator_cell_name,
    read_budget,
    read_indicators,
    read_staff,
)
from app.consortia.models import Consortium, Partner
from app.consortia.services import visible_consortium
from app.errors import DomainError, NotAllowed
from app.extensions import db
from app.members.services import partner_of
from app.money import format_number
from app.permissions import can_edit_partner_figures, can_manage_consortium, can_sign_off
from app.security import checks_csrf_in_form
from app.templating import paris_today

bp = Blueprint("commitments", __name__)

BASE = "/consortia/<slug>/membres/<partner_code>"


def load_partner(slug: str, partner_code: str) -> tuple[Consortium, Partner]:
    consortium = visible_consortium(slug, current_user)
    return consortium, partner_of(consortium, partner_code)


def _require_edit(partner: Partner) -> None:
    if not can_edit_partner_figures(current_user, partner):
        raise NotAllowed(
            _(
                "Seules la coordination, la direction et les contributeurs de ce membre "
                "modifient ses chiffres."
            )
        )


def _expired() -> str:
    return _("Votre session a expiré. Votre saisie est conservée : enregistrez à nouveau.")


def _conflict_messages(
    error: cells.GridConflict, name_of: Callable[[Any], str], describe: Callable[[Any], str]
) -> tuple[dict[str, str], dict[str, int]]:
    messages: dict[str, str] = {}
    versions: dict[str, int] = {}
    for key, conflict in error.conflicts.items():
        name = name_of(key)
        theirs = describe(conflict.theirs)
        if conflict.by_name:
            messages[name] = _(
                "Modifié entre-temps par %(name)s : %(value)s", name=conflict.by_name, value=theirs
            )
        else:
            messages[name] = _("Modifié entre-temps par une autre personne : %(value)s", value=theirs)
        versions[name] = conflict.version
    return messages, versions


def _common(consortium: Consortium, partner: Partner) -> dict[str, Any]:
    return {
        "consortium": consortium,
        "partner": partner,
        "can_edit": can_edit_partner_figures(current_user, partner) and partner.is_active,
        "can_sign": can_sign_off(current_user, partner) and partner.is_active,
        "manages_consortium": can_manage_consortium(current_user, consortium),
        "signature": sign_off.shown_state(partner),
        "sign_form": SignOffForm(formdata=None),
    }


def _grid_viewer(common: dict[str, Any]) -> dict[str, Any]:
    """What of the viewer a grid shows: the partner and the right to edit, all its cache key holds."""
    return {"partner": common["partner"], "can_edit": common["can_edit"]}


# --- Budget -------------------------------------------------------------------------------------


@bp.get(BASE + "/budget")
def budget(slug: str, partner_code: str) -> ResponseReturnValue:
    """Le budget d'un membre : dépenses et ressources par année, solde, total."""
    consortium, partner = load_partner(slug, partner_code)
    return _render_budget(consortium, partner, None, GridInput(), GridForm(formdata=None))


def _cells(
    typed: GridInput, cells: Iterable[tuple[str, str, int]]
) -> tuple[dict[str, str], dict[str, int], dict[str, str]]:
    """Per cell name: the text shown, the version it started from and the text it started from; what the
    person typed when the form comes back (refused or in conflict), else what is stored."""
    texts, versions, originals = {}, {}, {}
    for name, stored, version in cells:
        texts[name] = typed.texts.get(name, stored)
        versions[name] = typed.versions.get(name, version)
        originals[name] = typed.originals.get(name, stored)
    return texts, versions, originals


def _render_budget(
    consortium: Consortium,
    partner: Partner,
    grid: entry.BudgetGrid | None,
    typed: GridInput,
    form: GridForm,
    conflicts: dict[str, str] | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    """The budget page; its grid as stored (`grid` None) is rendered once per content version."""
    common = _common(consortium, partner)
    shown = _grid_viewer(common)

    def parts() -> tuple[Markup, Markup]:
        context = _grid_context(consortium, grid or entry.budget_grid(partner), typed, conflicts)
        return (
            Markup(render_template("commitments/_budget_intro.html", **context)),
            Markup(render_template("commitments/_budget_grid.html", **shown, **context)),
        )

    if grid is None:
        key = ("budget-grid", paris_today(), partner.id, shown["can_edit"])
        intro, grid_table = content_version.remembered(consortium, key, parts)
    else:
        intro, grid_table = parts()
    return render_template(
        "commitments/budget.html", **common, intro=intro, grid_table=grid_table, form=form
    ), status


def _grid_context(
    consortium: Consortium, grid: entry.BudgetGrid, typed: GridInput, conflicts: dict[str, str] | None
) -> dict[str, Any]:
    texts, versions, originals = _cells(
        typed,
        (
            (
                budget_cell_name(key),
                format_number(grid.amounts[key]) if key in grid.amounts else "",
                grid.versions.get(key, 0),
            )
            for key in grid.editable_keys()
        ),
    )
    amounts: dict[cells.Key, Decimal] = dict(grid.amounts)
    for edit in typed.edits:
        amounts[edit.key] = edit.value[0]
    rule = grid.model.indirect_costs
    return {
        "grid": grid,
        "grid_totals": grid.totals(amounts),
        "texts": texts,
        "versions": versions,
        "originals": originals,
        "errors": typed.errors,
        "conflicts": conflicts or {},
        "cell_name": budget_cell_name,
        "rate": rule.rate if rule else None,
        "base_categories": rule.base_categories if rule else (),
        "tolerance_cents": int(grid.tolerance * 100),
        "months": {year: staffing.months_in_year(consortium, year) for year in grid.years},
    }


@bp.post(BASE + "/budget")
@checks_csrf_in_form
def save_budget(slug: str, partner_code: str) -> ResponseReturnValue:
    """Enregistrer la grille du budget (une seule transaction)."""
    consortium, partner = load_partner(slug, partner_code)
    _require_edit(partner)
    grid = entry.budget_grid(partner)
    form = GridForm()
    typed = read_budget(request.form, grid.editable_keys())
    if not form.validate():
        form.form_errors.append(_expired())
        return _render_budget(consortium, partner, grid, typed, form, status=400)
    if typed.errors:
        form.form_errors.append(
            _(
                "Rien n'a été enregistré : corrigez les cases signalées en rouge. "
                "Vos autres saisies sont conservées."
            )
        )
        return _render_budget(consortium, partner, grid, typed, form, status=422)
    try:
        changes = entry.save_budget(partner, typed.edits, by=current_user)
    except cells.GridConflict as error:
        db.session.rollback()
        messages, versions = _conflict_messages(error, budget_cell_name, entry.describe_amount)
        typed.versions.update(versions)
        form.form_errors.append(str(error))
        return _render_budget(consortium, partner, entry.budget_grid(partner), typed, form, messages, 409)
    except DomainError as error:
        db.session.rollback()
        form.form_errors.append(str(error))
        return _render_budget(consortium, partner, grid, typed, form, status=error.status_code)
    db.session.commit()
    _flash_saved(len(changes))
    return redirect(url_for(".budget", slug=slug, partner_code=partner_code), 303)


def _flash_saved(count: int) -> None:
    if count:
        flash(_("Enregistré : %(count)s case(s) modifiée(s).", count=count), "success")
    else:
        flash(_("Aucune modification à enregistrer."), "info")


# --- Staff --------------------------------------------------------------------------------------


@bp.get(BASE + "/personnel")
def staff(slug: str, partner_code: str) -> ResponseReturnValue:
    """Le personnel d'un membre : ETP par fonction et coût annuel chargé (suggère la ligne de personnel)."""
    consortium, partner = load_partner(slug, partner_code)
    return _render_staff(consortium, partner, GridInput(), GridForm(formdata=None))


def _render_staff(
    consortium: Consortium,
    partner: Partner,
    typed: GridInput,
    form: GridForm,
    conflicts: dict[str, str] | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    rows = staffing.staff_rows(partner)
    texts, versions, originals = {}, {}, {}
    for row in rows:
        fte = format_number(row.fte) if row.fte is not None else ""
        cost = format_number(row.annual_cost) if row.annual_cost is not None else ""
        for name, stored in ((f"fte-{row.function}", fte), (f"cout-{row.function}", cost)):
            texts[name] = typed.texts.get(name, stored)
            originals[name] = typed.originals.get(name, stored)
        versions[row.function] = typed.versions.get(row.function, row.version)
    grid = entry.budget_grid(partner)
    category = staffing.staff_category(grid)
    return (
        render_template(
            "commitments/staff.html",
            **_common(consortium, partner),
            rows=rows,
            texts=texts,
            versions=versions,
            originals=originals,
            errors=typed.errors,
            conflicts=conflicts or {},
            form=form,
            suggestions=staffing.staff_suggestions(partner, rows, grid),
            staff_category=next((c for c in grid.categories if c.code == category), None),
            apply_form=GridForm(formdata=None),
        ),
        status,
    )


@bp.post(BASE + "/personnel")
@checks_csrf_in_form
def save_staff(slug: str, partner_code: str) -> ResponseReturnValue:
    """Enregistrer les ETP et coûts annuels par fonction."""
    consortium, partner = load_partner(slug, partner_code)
    _require_edit(partner)
    form = GridForm()
    typed = read_staff(request.form, [row.function for row in staffing.staff_rows(partner)])
    if not form.validate():
        form.form_errors.append(_expired())
        return _render_staff(consortium, partner, typed, form, status=400)
    if typed.errors:
        form.form_errors.append(_("Rien n'a été enregistré : corrigez les cases signalées en rouge."))
        return _render_staff(consortium, partner, typed, form, status=422)
    try:
        changes = staffing.save_staff(partner, typed.edits, by=current_user)
    except cells.GridConflict as error:
        db.session.rollback()
        messages, versions = _conflict_messages(error, lambda key: f"fte-{key[0]}", staffing.describe_staff)
        typed.versions.update({name.removeprefix("fte-"): v for name, v in versions.items()})
        form.form_errors.append(str(error))
        return _render_staff(consortium, partner, typed, form, messages, 409)
    except DomainError as error:
        db.session.rollback()
        form.form_errors.append(str(error))
        return _render_staff(consortium, partner, typed, form, status=error.status_code)
    db.session.commit()
    _flash_saved(len(changes))
    return redirect(url_for(".staff", slug=slug, partner_code=partner_code), 303)


@bp.post(BASE + "/personnel/appliquer")
def apply_staff_cost(slug: str, partner_code: str) -> ResponseReturnValue:
    """Reporter le coût de personnel suggéré dans le budget (une année ou toutes)."""
    _consortium, partner = load_partner(slug, partner_code)
    _require_edit(partner)
    years_text = request.form.getlist("year")
    years = [int(y) for y in years_text if y.isascii() and y.isdigit() and len(y) == 4]
    versions = {}
    for year in years:
        text = request.form.get(f"v-{year}", "0")
        versions[year] = int(text) if text.isascii() and text.isdigit() and len(text) < 10 else 0
    try:
        changes = staffing.apply_staff_suggestion(partner, years, versions, by=current_user)
    except cells.GridConflict:
        db.session.rollback()
        flash(
            _(
                "Rien n'a été reporté : la ligne de personnel du budget a été modifiée entre-temps. "
                "Vérifiez la suggestion mise à jour ci-dessous."
            ),
            "danger",
        )
        return redirect(url_for(".staff", slug=slug, partner_code=partner_code), 303)
    except DomainError as error:
        db.session.rollback()
        if isinstance(error, NotAllowed):
            raise
        flash(str(error), "danger")
        return redirect(url_for(".staff", slug=slug, partner_code=partner_code), 303)
    db.session.commit()
    if changes:
        flash(
            _("Coût de personnel reporté dans le budget pour %(count)s année(s).", count=len(changes)),
            "success",
        )
    else:
        flash(_("Le budget contenait déjà ces montants."), "info")
    return redirect(url_for(".staff", slug=slug, partner_code=partner_code), 303)


# --- Indicators ---------------------------------------------------------------------------------


@bp.get(BASE + "/indicateurs")
def indicators(slug: str, partner_code: str) -> ResponseReturnValue:
    """Les objectifs d'un membre : par année pour les réalisations, pour tout le projet pour les résultats."""
    consortium, partner = load_partner(slug, partner_code)
    return _render_indicators(consortium, partner, GridInput(), GridForm(formdata=None), stored=True)


def _render_indicators(
    consortium: Consortium,
    partner: Partner,
    typed: GridInput,
    form: GridForm,
    conflicts: dict[str, str] | None = None,
    status: int = 200,
    *,
    stored: bool = False,
) -> ResponseReturnValue:
    """The indicators page; its tables as stored (`stored`) are rendered once per content version."""
    common = _common(consortium, partner)
    shown = _grid_viewer(common)

    def tables() -> Markup:
        context = _indicator_context(entry.indicator_grid(partner), typed, conflicts)
        return Markup(render_template("commitments/_indicator_grid.html", **shown, **context))

    if stored:
        key = ("indicator-grid", paris_today(), partner.id, shown["can_edit"])
        grid_tables = content_version.remembered(consortium, key, tables)
    else:
        grid_tables = tables()
    page = render_template("commitments/indicators.html", **common, grid_tables=grid_tables, form=form)
    return page, status


def _indicator_context(
    grid: entry.IndicatorGrid, typed: GridInput, conflicts: dict[str, str] | None
) -> dict[str, Any]:
    texts, versions, originals = _cells(
        typed,
        (
            (
                indicator_cell_name(key),
                str(grid.values[key]) if key in grid.values else "",
                grid.versions.get(key, 0),
            )
            for key in grid.editable_keys()
        ),
    )
    values = dict(grid.values)
    for edit in typed.edits:
        values[edit.key] = edit.value[0]
    warnings = {indicator_cell_name(key): message for key, message in grid.above_parent(values).items()}
    return {
        "grid": grid,
        "texts": texts,
        "versions": versions,
        "originals": originals,
        "errors": typed.errors,
        "warnings": warnings,
        "row_totals": {
            d.code: sum(values.get((d.code, year), 0) for year in grid.years)
            for d in grid.definitions
            if d.per_year
        },
        "conflicts": conflicts or {},
        "name_of": indicator_cell_name,
    }


@bp.post(BASE + "/indicateurs")
@checks_csrf_in_form
def save_indicators(slug: str, partner_code: str) -> ResponseReturnValue:
    """Enregistrer les objectifs du membre."""
    consortium, partner = load_partner(slug, partner_code)
    _require_edit(partner)
    form = GridForm()
    typed = read_indicators(request.form, entry.indicator_grid(partner).editable_keys())
    if not form.validate():
        form.form_errors.append(_expired())
        return _render_indicators(consortium, partner, typed, form, status=400)
    if typed.errors:
        form.form_errors.append(_("Rien n'a été enregistré : corrigez les cases signalées en rouge."))
        return _render_indicators(consortium, partner, typed, form, status=422)
    try:
        changes = entry.save_indicators(partner, typed.edits, by=current_user)
    except cells.GridConflict as error:
        db.session.rollback()
        messages, versions = _conflict_messages(error, indicator_cell_name, entry.describe_count)
        typed.versions.update(versions)
        form.form_errors.append(str(error))
        return _render_indicators(consortium, partner, typed, form, messages, 409)
    except DomainError as error:
        db.session.rollback()
        form.form_errors.append(str(error))
        return _render_indicators(consortium, partner, typed, form, status=error.status_code)
    db.session.commit()
    _flash_saved(len(changes))
    return redirect(url_for(".indicators", slug=slug, partner_code=partner_code), 303)
