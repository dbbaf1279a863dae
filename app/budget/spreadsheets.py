"""Spreadsheets in and out: a partner's budget template (.xlsx) and its upload, the consolidated plan
as .xlsx and as CSV files.

Uploads are checked before openpyxl sees them: size, zip signature, central directory (entry count and
declared uncompressed sizes, so a zip bomb is never unpacked), content types. Amounts go through the
strict parser; the changes are stored for a preview and applied only on confirmation, all or nothing.
"""

from __future__ import annotations

import csv
import io
import math
import warnings
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import Cell as SheetCell
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.workbook.protection import WorkbookProtection
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select

from app.audit import EventKind, record_event
from app.auth.models import User
from app.budget import calculations as calc
from app.budget import sign_off
from app.budget.consolidation import Plan, Quantity, Rate, Table
from app.budget.figures import budget_model
from app.budget.models import AmountKind, BudgetAmount, ExpenseCategory, Funder, SpreadsheetImport
from app.budget.services import ConsortiumState
from app.consortia.models import Consortium, Partner, PartnerStatus
from app.database import utcnow
from app.errors import Conflict, Invalid, NotAllowed, NotFound
from app.extensions import db
from app.money import InvalidAmount, format_eur, parse_amount
from app.permissions import can_edit_partner_figures
from app.storage import inflates_abnormally

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET = "Budget"
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
MAX_ENTRIES = 100
MAX_UNCOMPRESSED_BYTES = 20 * 1024 * 1024
MAX_RATIO = 200  # a spreadsheet's XML compresses well, but not a thousand times
HEADER_ROW = 3
CODE_COLUMN = 1
LABEL_COLUMN = 2
FIRST_YEAR_COLUMN = 3
MONEY_FORMAT = "#,##0.00"
DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_HEADING = Font(bold=True)
_SHADED = PatternFill("solid", fgColor="E9ECEF")
_EDITABLE = PatternFill("solid", fgColor="FFF9DB")


class SpreadsheetError(Invalid):
    """An uploaded spreadsheet that cannot be used; the message says which cell and why."""


@dataclass(frozen=True)
class Change:
    """One cell of the upload that differs from the partner's current figures."""

    year: int
    kind: str  # "expense" | "resource"
    code: str
    label: str
    old: Decimal
    new: Decimal
    version: int  # the cell's version when the file was read (0: no row yet)


def neutralise(text: str) -> str:
    """A text cell that a spreadsheet would not run as a formula (X3): a leading `'` before = + - @."""
    return "'" + text if text.startswith(DANGEROUS_PREFIXES) else text


# --- the partner's template -------------------------------------------------------------------------


def _model_rows(consortium: Consortium) -> tuple[list[ExpenseCategory], list[Funder]]:
    categories = list(
        db.session.scalars(
            select(ExpenseCategory)
            .where(ExpenseCategory.consortium_id == consortium.id)
            .order_by(ExpenseCategory.position)
        )
    )
    funders = list(
        db.session.scalars(
            select(Funder).where(Funder.consortium_id == consortium.id).order_by(Funder.position)
        )
    )
    return categories, funders


def _amounts(partner: Partner) -> dict[tuple[int, str, str], BudgetAmount]:
    rows = db.session.scalars(select(BudgetAmount).where(BudgetAmount.partner_id == partner.id))
    return {(row.year, row.kind.value, row.code): row for row in rows}


def partner_workbook(partner: Partner) -> bytes:
    """The partner's budget as a protected .xlsx: years as columns, editable amounts, formulas for totals."""
    consortium = partner.consortium
    categories, funders = _model_rows(consortium)
    model = budget_model(consortium, categories, funders)
    current = _amounts(partner)
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = SHEET
    _write_partner_sheet(sheet, partner.name, consortium, model, current, editable=True)
    workbook.security = WorkbookProtection(lockStructure=True)
    return _save(workbook)


def _write_partner_sheet(
    sheet: Worksheet,
    name: str,
    consortium: Consortium,
    model: calc.BudgetModel,
    current: dict[tuple[int, str, str], BudgetAmount] | dict[tuple[int, str, str], Decimal],
    *,
    editable: bool,
) -> None:
    years = model.years
    last_year_column = FIRST_YEAR_COLUMN + len(years) - 1
    total_column = last_year_column + 1
    first_letter, last_letter = get_column_letter(FIRST_YEAR_COLUMN), get_column_letter(last_year_column)

    def amount_of(year: int, kind: str, code: str) -> Decimal:
        value = current.get((year, kind, code))
        if isinstance(value, BudgetAmount):
            return value.amount
        return value if value is not None else Decimal("0.00")

    sheet.cell(1, LABEL_COLUMN, neutralise(_("Budget de %(partner)s", partner=name))).font = Font(
        bold=True, size=14
    )
    sheet.cell(
        2,
        LABEL_COLUMN,
        neutralise(
            _(
                "%(consortium)s — saisissez les montants en euros dans les cellules jaunes ; "
                "les totaux se calculent seuls. Ne déplacez ni ligne ni colonne.",
                consortium=consortium.title,
            )
        ),
    )
    sheet.cell(HEADER_ROW, CODE_COLUMN, "code")
    sheet.cell(HEADER_ROW, LABEL_COLUMN, _("Ligne du budget"))
    for offset, year in enumerate(years):
        sheet.cell(HEADER_ROW, FIRST_YEAR_COLUMN + offset, year)
    sheet.cell(HEADER_ROW, total_column, _("Total"))
    for column in range(CODE_COLUMN, total_column + 1):
        sheet.cell(HEADER_ROW, column).font = _HEADING
        sheet.cell(HEADER_ROW, column).fill = _SHADED

    row = HEADER_ROW + 1
    sheet.cell(row, LABEL_COLUMN, _("Dépenses")).font = _HEADING
    row += 1
    category_rows: dict[str, int] = {}
    first_expense = row
    for category in model.expense_categories:
        category_rows[category.code] = row
        row += 1
    rule = model.indirect_costs
    for category in model.expense_categories:
        line = category_rows[category.code]
        sheet.cell(line, CODE_COLUMN, f"expense:{category.code}")
        label = category.label + (" " + _("(calculé)") if category.computed else "")
        sheet.cell(line, LABEL_COLUMN, neutralise(label))
        for offset, year in enumerate(years):
            column = FIRST_YEAR_COLUMN + offset
            letter = get_column_letter(column)
            cell = sheet.cell(line, column)
            if rule is not None and category.code == rule.category:
                base = "+".join(
                    f"{letter}{category_rows[code]}" for code in rule.base_categories if code in category_rows
                )
                cell.value = f"=ROUND({rule.rate}*({base or 0}),2)"
            elif category.computed:
                cell.value = 0
            else:
                cell.value = amount_of(year, "expense", category.code)
                if editable:
                    cell.protection = Protection(locked=False)
                    cell.fill = _EDITABLE
            cell.number_format = MONEY_FORMAT
        sheet.cell(
            line, total_column, f"=SUM({first_letter}{line}:{last_letter}{line})"
        ).number_format = MONEY_FORMAT
    last_expense = row - 1
    expenses_total = row
    _total_row(
        sheet,
        row,
        "#total_expenses",
        _("Total des dépenses"),
        first_expense,
        last_expense,
        years,
        total_column,
    )
    row += 2
    sheet.cell(row, LABEL_COLUMN, _("Ressources")).font = _HEADING
    row += 1
    first_resource = row
    for funder in model.funders:
        sheet.cell(row, CODE_COLUMN, f"resource:{funder.code}")
        sheet.cell(row, LABEL_COLUMN, neutralise(funder.label))
        for offset, year in enumerate(years):
            cell = sheet.cell(row, FIRST_YEAR_COLUMN + offset, amount_of(year, "resource", funder.code))
            cell.number_format = MONEY_FORMAT
            if editable:
                cell.protection = Protection(locked=False)
                cell.fill = _EDITABLE
        sheet.cell(
            row, total_column, f"=SUM({first_letter}{row}:{last_letter}{row})"
        ).number_format = MONEY_FORMAT
        row += 1
    resources_total = row
    _total_row(
        sheet,
        row,
        "#total_resources",
        _("Total des ressources"),
        first_resource,
        row - 1,
        years,
        total_column,
    )
    row += 2
    sheet.cell(row, CODE_COLUMN, "#balance")
    sheet.cell(row, LABEL_COLUMN, _("Solde (dépenses − ressources), à ramener à zéro")).font = _HEADING
    for column in range(FIRST_YEAR_COLUMN, total_column + 1):
        letter = get_column_letter(column)
        cell = sheet.cell(row, column, f"={letter}{expenses_total}-{letter}{resources_total}")
        cell.number_format = MONEY_FORMAT
        cell.font = _HEADING
    sheet.column_dimensions["A"].hidden = True
    sheet.column_dimensions["B"].width = 60
    for column in range(FIRST_YEAR_COLUMN, total_column + 1):
        sheet.column_dimensions[get_column_letter(column)].width = 16
    sheet.cell(2, LABEL_COLUMN).alignment = Alignment(wrap_text=True)
    sheet.freeze_panes = sheet.cell(HEADER_ROW + 1, FIRST_YEAR_COLUMN)
    sheet.protection.sheet = True


def _total_row(
    sheet: Worksheet,
    row: int,
    code: str,
    label: str,
    first: int,
    last: int,
    years: tuple[int, ...],
    total_column: int,
) -> None:
    sheet.cell(row, CODE_COLUMN, code)
    sheet.cell(row, LABEL_COLUMN, label).font = _HEADING
    for column in range(FIRST_YEAR_COLUMN, total_column + 1):
        letter = get_column_letter(column)
        cell = sheet.cell(row, column, f"=SUM({letter}{first}:{letter}{last})")
        cell.number_format = MONEY_FORMAT
        cell.font = _HEADING
        cell.fill = _SHADED


def _save(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- reading an upload ------------------------------------------------------------------------------


def size_label(size: int) -> str:
    """A size limit in French units: « 2 Mo », « 390 Ko »."""
    return f"{size // 2**20}\u00a0Mo" if size >= 2**20 else f"{size // 2**10}\u00a0Ko"


def check_container(data: bytes) -> None:
    """Refuse what is not a small, real .xlsx before anything unpacks it (size, signature, zip bomb)."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise SpreadsheetError(
            _(
                "Le fichier dépasse %(size)s : envoyez le modèle téléchargé ici.",
                size=size_label(MAX_UPLOAD_BYTES),
            )
        )
    if not data.startswith(b"PK\x03\x04"):
        raise SpreadsheetError(
            _("Ce fichier n'est pas un classeur Excel (.xlsx) : enregistrez-le au format « Classeur Excel ».")
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise SpreadsheetError(_("Ce fichier .xlsx est abîmé : il ne peut pas être lu.")) from error
    if len(entries) > MAX_ENTRIES or inflates_abnormally(
        entries, max_bytes=MAX_UNCOMPRESSED_BYTES, max_ratio=MAX_RATIO
    ):
        raise SpreadsheetError(
            _(
                "Ce fichier se décompresse en un volume anormal : il est refusé. "
                "Envoyez le modèle téléchargé ici."
            )
        )
    names = {entry.filename for entry in entries}
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise SpreadsheetError(
            _("Ce fichier n'est pas un classeur Excel (.xlsx) : enregistrez-le au format « Classeur Excel ».")
        )
    types = archive.read("[Content_Types].xml")
    if b"spreadsheetml.sheet.main+xml" not in types:
        raise SpreadsheetError(
            _("Ce fichier n'est pas un classeur Excel (.xlsx) : enregistrez-le au format « Classeur Excel ».")
        )


def cell_amount(cell: SheetCell, context: str = "") -> Decimal:
    """The amount in a cell: empty is zero, numbers exactly as written, text through the strict parser."""
    value: Any = cell.value
    where = cell.coordinate
    try:
        if value is None or (isinstance(value, str) and not value.strip()):
            return Decimal("0.00")
        if isinstance(value, bool):
            raise InvalidAmount(_("Montant invalide : saisissez un nombre, par exemple 1 234,56."))
        if isinstance(value, str) and value.startswith("="):
            raise InvalidAmount(_("cette cellule contient une formule ; saisissez un montant."))
        if isinstance(value, int):
            return parse_amount(str(value))
        if isinstance(value, float):
            if not math.isfinite(value):
                raise InvalidAmount(_("Montant invalide : saisissez un nombre, par exemple 1 234,56."))
            try:
                exact = Decimal(repr(value))  # the shortest text that gives back this float
            except InvalidOperation as error:  # pragma: no cover - repr of a finite float is a number
                raise InvalidAmount(_("Montant invalide.")) from error
            if exact < 0:
                raise InvalidAmount(_("Montant invalide : les montants négatifs ne sont pas autorisés."))
            exponent = exact.normalize().as_tuple().exponent
            if isinstance(exponent, int) and exponent < -2:
                raise InvalidAmount(
                    _("Montant invalide : deux chiffres au plus après la virgule (les centimes).")
                )
            return parse_amount(format(exact.normalize(), "f"))
        if isinstance(value, str):
            return parse_amount(value)
        raise InvalidAmount(_("Montant invalide : saisissez un nombre, par exemple 1 234,56."))
    except InvalidAmount as error:
        where = f"{where} ({context})" if context else where
        raise SpreadsheetError(
            _("Cellule %(cell)s : %(message)s", cell=where, message=error.message)
        ) from error


def read_upload(partner: Partner, data: bytes) -> dict[tuple[int, str, str], Decimal]:
    """The amounts of an uploaded template by (year, kind, code); any structural doubt names its cell."""
    check_container(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            workbook = load_workbook(io.BytesIO(data), data_only=False)
    except Exception as error:  # openpyxl raises many kinds for a broken file
        raise SpreadsheetError(_("Ce fichier .xlsx est abîmé : il ne peut pas être lu.")) from error
    if SHEET not in workbook.sheetnames:
        raise SpreadsheetError(
            _("La feuille « %(sheet)s » est introuvable : utilisez le modèle téléchargé ici.", sheet=SHEET)
        )
    sheet = workbook[SHEET]
    consortium = partner.consortium
    categories, funders = _model_rows(consortium)
    model = budget_model(consortium, categories, funders)
    for offset, year in enumerate(model.years):
        cell = sheet.cell(HEADER_ROW, FIRST_YEAR_COLUMN + offset)
        if str(cell.value).strip() != str(year):
            raise SpreadsheetError(
                _(
                    "Cellule %(cell)s : l'année %(year)s est attendue, la cellule contient « %(found)s ». "
                    "Les colonnes ont été déplacées : repartez du modèle téléchargé.",
                    cell=cell.coordinate,
                    year=year,
                    found=_shown(cell.value),
                )
            )
    expected = {f"expense:{c.code}" for c in model.expense_categories}
    expected.update(f"resource:{f.code}" for f in model.funders)
    computed = {c.code for c in model.expense_categories if c.computed}
    if model.indirect_costs is not None:
        computed.add(model.indirect_costs.category)
    amounts: dict[tuple[int, str, str], Decimal] = {}
    seen: set[str] = set()
    for row in range(HEADER_ROW + 1, min(sheet.max_row, 500) + 1):
        code_cell = sheet.cell(row, CODE_COLUMN)
        code = code_cell.value
        if code is None or (isinstance(code, str) and code.startswith("#")):
            continue
        if not isinstance(code, str) or code not in expected:
            kind_word = _("catégorie ou financeur")
            raise SpreadsheetError(
                _(
                    "Cellule %(cell)s : %(kind)s inconnu « %(code)s » (ligne « %(label)s »). "
                    "Repartez du modèle téléchargé ici.",
                    cell=code_cell.coordinate,
                    kind=kind_word,
                    code=_shown(code),
                    label=_shown(sheet.cell(row, LABEL_COLUMN).value),
                )
            )
        if code in seen:
            raise SpreadsheetError(
                _(
                    "Cellule %(cell)s : la ligne « %(code)s » apparaît deux fois.",
                    cell=code_cell.coordinate,
                    code=code,
                )
            )
        seen.add(code)
        kind, _sep, item = code.partition(":")
        if kind == "expense" and item in computed:
            continue
        for offset, year in enumerate(model.years):
            label = _shown(sheet.cell(row, LABEL_COLUMN).value)
            amounts[(year, kind, item)] = cell_amount(
                sheet.cell(row, FIRST_YEAR_COLUMN + offset), f"« {label} », {year}"
            )
    missing = sorted(code for code in expected if code not in seen)
    if missing:
        raise SpreadsheetError(
            _(
                "Des lignes du modèle manquent (%(codes)s) : repartez du modèle téléchargé ici.",
                codes=", ".join(missing),
            )
        )
    return amounts


def _shown(value: object) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= 60 else text[:59] + "…"


def _editable(user: User, partner: Partner) -> None:
    if not can_edit_partner_figures(user, partner):
        raise NotAllowed(_("Vous ne pouvez pas modifier les chiffres de ce membre."))
    if partner.status != PartnerStatus.ACTIVE:
        raise Invalid(_("Ce membre s'est retiré du consortium : ses chiffres ne peuvent plus être modifiés."))


def prepare_import(partner: Partner, filename: str, data: bytes, *, by: User) -> SpreadsheetImport:
    """Read an uploaded template and store the cells that differ from the current figures, for a preview."""
    _editable(by, partner)
    amounts = read_upload(partner, data)
    categories, funders = _model_rows(partner.consortium)
    labels = {("expense", c.code): c.label for c in categories}
    labels.update({("resource", f.code): f.label for f in funders})
    current = _amounts(partner)
    changes = []
    for (year, kind, code), new in amounts.items():
        row = current.get((year, kind, code))
        old = row.amount if row is not None else Decimal("0.00")
        if new != old:
            changes.append(
                {
                    "year": year,
                    "kind": kind,
                    "code": code,
                    "label": labels.get((kind, code), code),
                    "old": str(old),
                    "new": str(new),
                    "version": row.version if row is not None else 0,
                }
            )
    spreadsheet = SpreadsheetImport(
        partner_id=partner.id, user_id=by.id, filename=(filename or "")[:255], changes=changes
    )
    db.session.add(spreadsheet)
    db.session.flush()
    return spreadsheet


def changes_of(spreadsheet: SpreadsheetImport) -> list[Change]:
    """The stored changes of an import as typed values, in the grid's order (expenses first, by year)."""
    return [
        Change(
            c["year"], c["kind"], c["code"], c["label"], Decimal(c["old"]), Decimal(c["new"]), c["version"]
        )
        for c in spreadsheet.changes
    ]


def pending_import(partner: Partner, import_id: int, *, by: User) -> SpreadsheetImport:
    """An import of this partner made by this person and not applied yet."""
    spreadsheet = db.session.get(SpreadsheetImport, import_id)
    if spreadsheet is None or spreadsheet.partner_id != partner.id or spreadsheet.user_id != by.id:
        raise NotFound(_("Cet envoi de fichier n'existe pas ou ne vous appartient pas."))
    return spreadsheet


def apply_import(spreadsheet: SpreadsheetImport, *, by: User) -> int:
    """Apply every previewed change at once, or none if a cell changed since the upload; returns the count."""
    partner = spreadsheet.partner
    _editable(by, partner)
    if spreadsheet.applied_at is not None:
        raise Conflict(_("Ce fichier a déjà été appliqué."))
    current = _amounts(partner)
    changes = changes_of(spreadsheet)
    was_valid = sign_off.is_valid(partner)
    for change in changes:
        row = current.get((change.year, change.kind, change.code))
        if (row.version if row is not None else 0) != change.version:
            raise Conflict(
                _(
                    "« %(label)s », %(year)s a été modifié par quelqu'un d'autre depuis l'envoi du fichier "
                    "(montant actuel : %(amount)s). Rien n'a été appliqué : téléchargez à nouveau le modèle.",
                    label=change.label,
                    year=change.year,
                    amount=format_eur(row.amount if row is not None else Decimal("0.00")),
                )
            )
    for change in changes:
        row = current.get((change.year, change.kind, change.code))
        if row is None:
            row = BudgetAmount(
                partner_id=partner.id,
                year=change.year,
                kind=AmountKind(change.kind),
                code=change.code,
                amount=change.new,
                version=1,
                updated_by_id=by.id,
            )
            db.session.add(row)
        else:
            row.amount = change.new
            row.version += 1
            row.updated_by_id = by.id
        record_event(
            EventKind.BUDGET_AMOUNT_CHANGED,
            actor_id=by.id,
            consortium_id=partner.consortium_id,
            partner_id=partner.id,
            partner=partner.code,
            year=change.year,
            side=change.kind,  # as the grid records it (`kind` is the event's own)
            code=change.code,
            old={"amount": str(change.old)},
            new={"amount": str(change.new)},
            source="spreadsheet",
            import_id=spreadsheet.id,
        )
    spreadsheet.applied_at = utcnow()
    db.session.flush()
    if changes:
        sign_off.void_if_changed(partner, by=by, was_valid=was_valid)
    return len(changes)


# --- the consolidated plan --------------------------------------------------------------------------


def _sheet_value(value: object) -> object:
    if isinstance(value, Rate):
        return float(value.value) if value.value is not None else None
    if isinstance(value, Quantity):
        return value.value
    if isinstance(value, str):
        return neutralise(value)
    return value


def plan_workbook(consortium: Consortium, state: ConsortiumState, plan: Plan) -> bytes:
    """The consolidated plan: one sheet per table, then one per partner laid out like its grid."""
    workbook = Workbook()
    first = workbook.active
    assert first is not None
    workbook.remove(first)
    for table in plan.tables:
        sheet = workbook.create_sheet(table.title[:31])
        sheet.append([neutralise(consortium.title)])
        sheet.append([neutralise(table.title)])
        sheet.append([])
        sheet.append(list(table.header))
        for column in range(1, len(table.header) + 1):
            sheet.cell(4, column).font = _HEADING
            sheet.cell(4, column).fill = _SHADED
        for row in (*table.rows, *((table.footer,) if table.footer else ())):
            sheet.append([_sheet_value(value) for value in row])
            for column, value in enumerate(row, start=1):
                cell = sheet.cell(sheet.max_row, column)
                if isinstance(value, Rate):
                    cell.number_format = "0.0%"
                elif isinstance(value, Quantity):
                    cell.number_format = "0.00"
                elif isinstance(value, Decimal):
                    cell.number_format = MONEY_FORMAT
        if table.footer:
            for column in range(1, len(table.header) + 1):
                sheet.cell(sheet.max_row, column).font = _HEADING
        sheet.column_dimensions["A"].width = 50
        for column in range(2, len(table.header) + 1):
            sheet.column_dimensions[get_column_letter(column)].width = 18
    model = state.data.figures.model
    used: set[str] = {sheet.title for sheet in workbook.worksheets}
    for totals in state.consolidation.partners:
        title = _sheet_title(totals.name, used)
        used.add(title)
        sheet = workbook.create_sheet(title)
        current: dict[tuple[int, str, str], Decimal] = {}
        for year in model.years:
            current.update(
                {(year, "expense", code): amount for code, amount in totals.expenses[year].items()}
            )
            current.update(
                {(year, "resource", code): amount for code, amount in totals.resources[year].items()}
            )
        name = totals.name + ("" if totals.active else " " + _("(retiré)"))
        _write_partner_sheet(sheet, name, consortium, model, current, editable=False)
    return _save(workbook)


def _sheet_title(name: str, used: Iterable[str]) -> str:
    """A worksheet name from a partner's name: no []:*?/\\, at most 31 characters, unique."""
    cleaned = "".join(" " if char in "[]:*?/\\" else char for char in name).strip().lstrip("'") or "Membre"
    if cleaned[:1] in DANGEROUS_PREFIXES:
        cleaned = "_" + cleaned
    title, number, taken = cleaned[:31], 2, set(used)
    while title in taken:
        suffix = f" ({number})"
        title, number = cleaned[: 31 - len(suffix)] + suffix, number + 1
    return title


def _csv_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Rate):
        return "" if value.value is None else str(value.value.quantize(Decimal("0.0001")))
    if isinstance(value, Quantity):
        return "" if value.value is None else str(value.value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, str):
        return neutralise(value)
    return str(value)


def table_csv(table: Table) -> bytes:
    """A table as CSV for French spreadsheets: UTF-8 with BOM, `;`, `.` decimals, text neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([neutralise(value) for value in table.header])
    for row in (*table.rows, *((table.footer,) if table.footer else ())):
        writer.writerow([_csv_value(value) for value in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def plan_csv_zip(plan: Plan) -> bytes:
    """One CSV file per table of the plan, in a zip."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for number, table in enumerate(plan.tables, start=1):
            archive.writestr(f"{number}-{table.key}.csv", table_csv(table))
    return buffer.getvalue()
