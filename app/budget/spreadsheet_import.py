"""A partner's budget template uploaded back: checked, read, previewed, applied all or nothing.

Uploads are checked before openpyxl sees them: size, zip signature, central directory (entry count and
declared uncompressed sizes, so a zip bomb is never unpacked), content types. Amounts go through the
strict parser; the changes are stored for a preview and applied only on confirmation, all or nothing.
"""

from __future__ import annotations

import io
import math
import warnings
import zipfile
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from openpyxl import load_workbook
from openpyxl.cell.cell import Cell as SheetCell

from app.audit import EventKind, record_event
from app.auth.models import User
from app.budget import sign_off
from app.budget.figures import budget_model
from app.budget.models import AmountKind, BudgetAmount, SpreadsheetImport
from app.budget.spreadsheets import (
    CODE_COLUMN,
    FIRST_YEAR_COLUMN,
    HEADER_ROW,
    LABEL_COLUMN,
    SHEET,
    model_rows,
    partner_amounts,
)
from app.consortia.models import Partner, PartnerStatus
from app.database import utcnow
from app.errors import Conflict, Invalid, NotAllowed, NotFound
from app.extensions import db
from app.money import InvalidAmount, format_eur, parse_amount
from app.permissions import can_edit_partner_figures
from app.storage import inflates_abnormally

MAX_UPLOAD_BYTES = 2 * 1024 * 1024

MAX_ENTRIES = 100

MAX_UNCOMPRESSED_BYTES = 20 * 1024 * 1024

MAX_RATIO = 200  # a spreadsheet's XML compresses well, but not a thousand times


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
    categories, funders = model_rows(consortium)
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
    categories, funders = model_rows(partner.consortium)
    labels = {("expense", c.code): c.label for c in categories}
    labels.update({("resource", f.code): f.label for f in funders})
    current = partner_amounts(partner)
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
    current = partner_amounts(partner)
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
