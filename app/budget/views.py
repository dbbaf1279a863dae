"""The consolidated financing plan (page, .xlsx, CSV), the partners' budget spreadsheets, and the totals
every consortium page's header shows."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from markupsafe import Markup

from app import content_version
from app.budget import spreadsheet_import, spreadsheets
from app.budget.consolidation import BUDGET_ENDPOINT, finding_link, plan_of
from app.budget.models import SpreadsheetImport
from app.budget.services import consolidation_of, totals_of
from app.consortia.models import Consortium, Partner, PartnerStatus
from app.consortia.services import partner_by_code, visible_consortium
from app.errors import Conflict, Invalid, NotAllowed, NotFound
from app.extensions import db
from app.permissions import can_edit_partner_figures
from app.security import checks_csrf_in_form
from app.storage import download_response

bp = Blueprint("budget", __name__)


@bp.app_context_processor
def _consortium_heading() -> dict[str, Any]:
    # The header of every consortium page shows the errors/warnings badge, whichever feature
    # renders the page: lower features' templates call this without importing budget.
    def consortium_heading(consortium: Consortium) -> Markup:
        def render() -> str:
            totals = totals_of(consortium)
            return render_template("consortia/_heading.html", consortium=consortium, totals=totals)

        return content_version.remembered_html(consortium, "heading", render)

    return {"consortium_heading": consortium_heading}


class UploadForm(FlaskForm):
    """The budget spreadsheet to read back."""

    file = FileField(
        _l("Fichier Excel (.xlsx) rempli"),
        validators=[FileRequired(_l("Choisissez le fichier .xlsx à envoyer."))],
    )


def _partner(slug: str, code: str) -> tuple[Consortium, Partner]:
    consortium = visible_consortium(slug, current_user)
    partner = partner_by_code(consortium, code)
    if partner is None:
        raise NotFound(_("Ce membre n'existe pas dans ce consortium."))
    return consortium, partner


def _grid_url(consortium: Consortium, partner: Partner) -> str:
    return url_for(BUDGET_ENDPOINT, slug=consortium.slug, partner_code=partner.code)


@bp.get("/consortia/<slug>/plan-de-financement")
def plan(slug: str) -> ResponseReturnValue:
    """Plan de financement: the plan by partner, category, funder and group, its checks and charts."""
    consortium = visible_consortium(slug, current_user)
    body = content_version.remembered_html(consortium, "plan", lambda: _plan_body(consortium))
    return render_template("budget/plan.html", consortium=consortium, body=body)


def _plan_body(consortium: Consortium) -> str:
    state = consolidation_of(consortium)
    totals = state.consolidation
    findings = [
        (finding, finding_link(finding, consortium)) for finding in (*totals.errors, *totals.warnings)
    ]
    partner_links = {
        row.id: url_for(BUDGET_ENDPOINT, slug=consortium.slug, partner_code=row.id) for row in totals.partners
    }
    return render_template(
        "budget/_plan_body.html",
        consortium=consortium,
        state=state,
        totals=totals,
        plan=plan_of(state),
        findings=findings,
        partner_links=partner_links,
    )


@bp.get("/consortia/<slug>/plan-de-financement.xlsx")
def plan_xlsx(slug: str) -> ResponseReturnValue:
    """The consolidated plan as an Excel workbook: one sheet per view, then one per partner."""
    consortium = visible_consortium(slug, current_user)
    state = consolidation_of(consortium)
    data = spreadsheets.plan_workbook(consortium, state, plan_of(state))
    return download_response(data, f"plan-de-financement-{consortium.slug}.xlsx", spreadsheets.XLSX_MIME)


@bp.get("/consortia/<slug>/plan-de-financement-csv.zip")
def plan_csv(slug: str) -> ResponseReturnValue:
    """The consolidated plan as CSV files (one per view) in a zip."""
    consortium = visible_consortium(slug, current_user)
    data = spreadsheets.plan_csv_zip(plan_of(consolidation_of(consortium)))
    return download_response(data, f"plan-de-financement-{consortium.slug}-csv.zip", "application/zip")


@bp.get("/consortia/<slug>/membres/<code>/budget.xlsx")
def partner_xlsx(slug: str, code: str) -> ResponseReturnValue:
    """A partner's budget as an Excel template prefilled with its current figures."""
    consortium, partner = _partner(slug, code)
    data = spreadsheets.partner_workbook(partner)
    return download_response(data, f"budget-{consortium.slug}-{partner.code}.xlsx", spreadsheets.XLSX_MIME)


def _render_upload(
    consortium: Consortium, partner: Partner, form: UploadForm, status: int = 200
) -> ResponseReturnValue:
    return render_template(
        "budget/upload.html",
        consortium=consortium,
        partner=partner,
        form=form,
        grid_url=_grid_url(consortium, partner),
        max_size=spreadsheet_import.size_label(spreadsheet_import.MAX_UPLOAD_BYTES),
    ), status


@bp.route("/consortia/<slug>/membres/<code>/budget/import", methods=["GET", "POST"])
@checks_csrf_in_form
def upload(slug: str, code: str) -> ResponseReturnValue:
    """Envoyer le budget rempli: read the file and show what would change, nothing applied yet."""
    consortium, partner = _partner(slug, code)
    if not can_edit_partner_figures(current_user, partner):
        raise NotAllowed(_("Vous ne pouvez pas modifier les chiffres de ce membre."))
    form = UploadForm()
    if partner.status != PartnerStatus.ACTIVE:
        form.file.errors = [
            _("Ce membre s'est retiré du consortium : ses chiffres ne peuvent plus être modifiés.")
        ]
        return _render_upload(consortium, partner, form, 422)
    if not form.validate_on_submit():
        if not form.is_submitted():
            return _render_upload(consortium, partner, form)
        if "csrf_token" in form.errors:
            form.form_errors.append(
                _("Votre session a expiré : choisissez à nouveau le fichier et envoyez-le.")
            )
            return _render_upload(consortium, partner, form, 400)
        return _render_upload(consortium, partner, form, 422)
    upload_file = form.file.data
    try:
        data = upload_file.read(spreadsheet_import.MAX_UPLOAD_BYTES + 1)
    finally:
        upload_file.close()
    try:
        spreadsheet = spreadsheet_import.prepare_import(
            partner, upload_file.filename or "", data, by=current_user
        )
    except Invalid as error:
        db.session.rollback()
        form.file.errors = [error.message]
        return _render_upload(consortium, partner, form, 422)
    db.session.commit()
    return redirect(url_for(".preview", slug=slug, code=code, import_id=spreadsheet.id))


@bp.get("/consortia/<slug>/membres/<code>/budget/import/<int:import_id>")
def preview(slug: str, code: str, import_id: int) -> ResponseReturnValue:
    """Aperçu: every cell the file changes, old → new, with a button to apply them all."""
    consortium, partner = _partner(slug, code)
    if not can_edit_partner_figures(current_user, partner):
        raise NotAllowed(_("Vous ne pouvez pas modifier les chiffres de ce membre."))
    spreadsheet = spreadsheet_import.pending_import(partner, import_id, by=current_user)
    return _render_preview(consortium, partner, spreadsheet)


def _render_preview(
    consortium: Consortium, partner: Partner, spreadsheet: SpreadsheetImport, error: str | None = None
) -> str:
    return render_template(
        "budget/preview.html",
        consortium=consortium,
        partner=partner,
        spreadsheet=spreadsheet,
        changes=spreadsheet_import.changes_of(spreadsheet),
        grid_url=_grid_url(consortium, partner),
        error=error,
    )


@bp.post("/consortia/<slug>/membres/<code>/budget/import/<int:import_id>/appliquer")
def apply(slug: str, code: str, import_id: int) -> ResponseReturnValue:
    """Apply every change of the file in one transaction, or none when a cell changed meanwhile."""
    consortium, partner = _partner(slug, code)
    spreadsheet = spreadsheet_import.pending_import(partner, import_id, by=current_user)
    try:
        count = spreadsheet_import.apply_import(spreadsheet, by=current_user)
    except (Conflict, Invalid) as error:
        db.session.rollback()
        spreadsheet = spreadsheet_import.pending_import(partner, import_id, by=current_user)
        return _render_preview(consortium, partner, spreadsheet, error.message), error.status_code
    db.session.commit()
    flash(_("%(count)s montant(s) mis à jour depuis le fichier.", count=count), "success")
    return redirect(_grid_url(consortium, partner) or url_for(".plan", slug=slug, _anchor=f"membre-{code}"))
