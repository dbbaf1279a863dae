"""Spreadsheets out: a partner's budget template (.xlsx, read back by `spreadsheet_import`), the
consolidated plan as .xlsx and as CSV files; text cells neutralised against formula injection.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable
from decimal import Decimal

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.workbook.protection import WorkbookProtection
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select

from app.budget import calculations as calc
from app.budget.consolidation import Plan, Quantity, Rate, Table
from app.budget.figures import budget_model
from app.budget.models import BudgetAmount, ExpenseCategory, Funder
from app.budget.services import ConsortiumState
from app.consortia.models import Consortium, Partner
from app.extensions import db

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

SHEET = "Budget"

HEADER_ROW = 3

CODE_COLUMN = 1

LABEL_COLUMN = 2

FIRST_YEAR_COLUMN = 3

MONEY_FORMAT = "#,##0.00"

DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

_HEADING = Font(bold=True)

_SHADED = PatternFill("solid", fgColor="E9ECEF")

_EDITABLE = PatternFill("solid", fgColor="FFF9DB")


def neutralise(text: str) -> str:
    """A text cell that a spreadsheet would not run as a formula (X3): a leading `'` before = + - @."""
    return "'" + text if text.startswith(DANGEROUS_PREFIXES) else text


def model_rows(consortium: Consortium) -> tuple[list[ExpenseCategory], list[Funder]]:
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


def partner_amounts(partner: Partner) -> dict[tuple[int, str, str], BudgetAmount]:
    rows = db.session.scalars(select(BudgetAmount).where(BudgetAmount.partner_id == partner.id))
    return {(row.year, row.kind.value, row.code): row for row in rows}


def partner_workbook(partner: Partner) -> bytes:
    """The partner's budget as a protected .xlsx: years as columns, editable amounts, formulas for totals."""
    consortium = partner.consortium
    categories, funders = model_rows(consortium)
    model = budget_model(consortium, categories, funders)
    current = partner_amounts(partner)
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
