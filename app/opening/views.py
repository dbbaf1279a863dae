"""Opening a consortium (wizard) and its settings page: call rules, period, indirect costs, budget model."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from app.budget import lines as budget_lines
from app.budget.models import FUNDER_GROUP_LABELS, FunderGroup
from app.consortia.models import Consortium
from app.consortia.services import managed_consortium
from app.consortia.validation import InvalidFields
from app.errors import Invalid
from app.extensions import db
from app.money import format_share
from app.opening import services as opening_services
from app.opening.defaults import INDIRECT_RULE_LABELS, defaults
from app.opening.forms import (
    KEEP_RULE,
    CategoryForm,
    FunderForm,
    OpeningForm,
    SettingsForm,
)
from app.opening.settings import current_indirect_rule, update_settings
from app.permissions import can_open_consortium
from app.security import checks_csrf_in_form

bp = Blueprint("opening", __name__)

EXPIRED = "Votre session a expiré. Vos saisies sont conservées : validez à nouveau."
MOVES = {"up": -1, "down": 1}


@bp.app_context_processor
def _opening_right() -> dict[str, Any]:
    # "Mes consortiums" offers the wizard to those allowed; asked only when a template calls it.
    def may_open_consortium() -> bool:
        return can_open_consortium(current_user)

    return {"can_open_consortium": may_open_consortium}


@bp.route("/consortia/nouveau", methods=["GET", "POST"])
@checks_csrf_in_form
def new() -> ResponseReturnValue:
    """Ouvrir un consortium: the call, the project, the lead organisation, the indirect-cost rule."""
    if not can_open_consortium(current_user):
        abort(403)
    calls = opening_services.known_calls(current_user)
    form = OpeningForm()
    form.setup(
        calls,
        opening_services.known_organisations(current_user),
        [(funder.code, funder.label) for funder in defaults().funders],
        opening_services.default_lead_organisation(current_user),
    )
    if request.method == "GET":
        return render_template("opening/new.html", form=form, calls=calls)
    status = 422
    if form.validate_on_submit():
        try:
            consortium = opening_services.open_consortium(form.opening_input(), by=current_user)
        except Invalid as error:
            db.session.rollback()
            _show(form, error)
        else:
            db.session.commit()
            flash(
                _(
                    "Le consortium « %(title)s » est ouvert : vous en assurez la coordination.",
                    title=consortium.title,
                ),
                "success",
            )
            return redirect(url_for("overview.index", slug=consortium.slug), 303)
    elif form.csrf_token.errors:
        status = 400
        form.form_errors.append(_(EXPIRED))
    return render_template("opening/new.html", form=form, calls=calls), status


def _show(form: Any, error: Invalid) -> None:
    if isinstance(error, InvalidFields):
        form.add_errors(error.errors)
    else:
        form.form_errors.append(str(error))


def _custom_rule_label(consortium: Consortium) -> str | None:
    if current_indirect_rule(consortium) is not None:
        return None
    return _(
        "Règle actuelle, conservée : forfait de %(rate)s de %(base)s",
        rate=format_share(consortium.indirect_rate),
        base=", ".join(consortium.indirect_base or ()),
    )


def _settings_form(consortium: Consortium) -> SettingsForm:
    form = SettingsForm()
    form.setup(
        [(funder.code, funder.label) for funder in budget_lines.funders_of(consortium)],
        _custom_rule_label(consortium),
    )
    return form


def _render_settings(
    consortium: Consortium,
    form: SettingsForm | None = None,
    lines: dict[str, CategoryForm] | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    """The settings page; `lines` replaces the blank form of one line (prefix → form with errors)."""
    if form is None:
        form = _settings_form(consortium)
        form.title.data = consortium.title
        form.acronym.data = consortium.acronym
        form.project_start.data = consortium.project_start
        form.project_end.data = consortium.project_end
        form.fill_call(consortium.call)
        rule = current_indirect_rule(consortium)
        form.indirect_rule.data = rule.value if rule is not None else KEEP_RULE
    lines = lines or {}
    categories = []
    for category in budget_lines.categories_of(consortium):
        prefix = f"cat-{category.code}"
        line = lines.get(prefix) or CategoryForm(prefix=prefix, formdata=None, label=category.label)
        categories.append((category, line))
    funders = []
    for funder in budget_lines.funders_of(consortium):
        prefix = f"fin-{funder.code}"
        line = lines.get(prefix) or FunderForm(
            prefix=prefix, formdata=None, label=funder.label, group=funder.group.value
        )
        funders.append((funder, line))
    return render_template(
        "opening/settings.html",
        consortium=consortium,
        form=form,
        categories=categories,
        funders=funders,
        new_category=lines.get("cat-new") or CategoryForm(prefix="cat-new", formdata=None),
        new_funder=lines.get("fin-new") or FunderForm(prefix="fin-new", formdata=None),
        locked=budget_lines.has_amounts(consortium),
        signed=budget_lines.signed_off_partners(consortium),
        group_labels=FUNDER_GROUP_LABELS,
        rule_labels=INDIRECT_RULE_LABELS,
    ), status


@bp.route("/consortia/<slug>/parametres", methods=["GET", "POST"])
@checks_csrf_in_form
def settings(slug: str) -> ResponseReturnValue:
    """Paramètres: the project, the call's rules, the indirect-cost rule and the budget model's lines."""
    consortium = managed_consortium(slug, current_user)
    if request.method == "GET":
        return _render_settings(consortium)
    form = _settings_form(consortium)
    status = 422
    if form.validate_on_submit():
        try:
            changes = update_settings(consortium, form.settings_input(), by=current_user)
        except Invalid as error:
            db.session.rollback()
            _show(form, error)
        else:
            db.session.commit()
            flash(
                _("Paramètres enregistrés.") if changes else _("Aucun changement à enregistrer."), "success"
            )
            return redirect(url_for(".settings", slug=consortium.slug), 303)
    elif form.csrf_token.errors:
        status = 400
        form.form_errors.append(_(EXPIRED))
    return _render_settings(consortium, form=form, status=status)


def _line_response(
    consortium: Consortium, prefix: str, form: CategoryForm, action: Any, anchor: str
) -> ResponseReturnValue:
    """Run one action on a line of the model, then back to the settings page (or the form with its errors)."""
    status = 422
    if form.validate_on_submit():
        try:
            message = action()
        except Invalid as error:
            db.session.rollback()
            _show(form, error)
        else:
            db.session.commit()
            if message:
                flash(message, "success")
            return redirect(url_for(".settings", slug=consortium.slug, _anchor=anchor), 303)
    elif form.csrf_token.errors:
        status = 400
        form.form_errors.append(_(EXPIRED))
    return _render_settings(consortium, lines={prefix: form}, status=status)


@bp.post("/consortia/<slug>/parametres/categories")
@checks_csrf_in_form
def add_category(slug: str) -> ResponseReturnValue:
    """Add an expense category to the budget model."""
    consortium = managed_consortium(slug, current_user)
    form = CategoryForm(prefix="cat-new")

    def action() -> str:
        category = budget_lines.add_category(consortium, form.label.data or "", by=current_user)
        return _("Catégorie « %(label)s » ajoutée.", label=category.label)

    return _line_response(consortium, "cat-new", form, action, "categories")


@bp.post("/consortia/<slug>/parametres/categories/<code>")
@checks_csrf_in_form
def category(slug: str, code: str) -> ResponseReturnValue:
    """Rename, move or remove an expense category."""
    consortium = managed_consortium(slug, current_user)
    if code not in {row.code for row in budget_lines.categories_of(consortium)}:
        abort(404)
    prefix = f"cat-{code}"
    form = CategoryForm(prefix=prefix)
    op = form.op.data

    def action() -> str | None:
        if op in MOVES:
            budget_lines.move_category(consortium, code, MOVES[op], by=current_user)
            return None
        if op == "remove":
            budget_lines.remove_category(consortium, code, by=current_user)
            return _("Catégorie retirée du budget.")
        budget_lines.rename_category(consortium, code, form.label.data or "", by=current_user)
        return _("Catégorie enregistrée.")

    anchor = "categories" if op == "remove" else f"{prefix}-{op or 'save'}"
    return _line_response(consortium, prefix, form, action, anchor)


@bp.post("/consortia/<slug>/parametres/financeurs")
@checks_csrf_in_form
def add_funder(slug: str) -> ResponseReturnValue:
    """Add a funder to the budget model."""
    consortium = managed_consortium(slug, current_user)
    form = FunderForm(prefix="fin-new")

    def action() -> str:
        funder = budget_lines.add_funder(
            consortium, form.label.data or "", FunderGroup(form.group.data), by=current_user
        )
        return _("Financeur « %(label)s » ajouté.", label=funder.label)

    return _line_response(consortium, "fin-new", form, action, "financeurs")


@bp.post("/consortia/<slug>/parametres/financeurs/<code>")
@checks_csrf_in_form
def funder(slug: str, code: str) -> ResponseReturnValue:
    """Change, move or remove a funder."""
    consortium = managed_consortium(slug, current_user)
    if code not in {row.code for row in budget_lines.funders_of(consortium)}:
        abort(404)
    prefix = f"fin-{code}"
    form = FunderForm(prefix=prefix)
    op = form.op.data

    def action() -> str | None:
        if op in MOVES:
            budget_lines.move_funder(consortium, code, MOVES[op], by=current_user)
            return None
        if op == "remove":
            budget_lines.remove_funder(consortium, code, by=current_user)
            return _("Financeur retiré du budget.")
        budget_lines.update_funder(
            consortium, code, form.label.data or "", FunderGroup(form.group.data), by=current_user
        )
        return _("Financeur enregistré.")

    anchor = "financeurs" if op == "remove" else f"{prefix}-{op or 'save'}"
    return _line_response(consortium, prefix, form, action, anchor)
