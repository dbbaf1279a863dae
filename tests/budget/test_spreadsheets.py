"""A partner's budget through Excel: the template, the upload, its preview and application; hostile files."""

from __future__ import annotations

import io
import re
import zipfile
from decimal import Decimal
from html import unescape
from typing import Any

import pytest
from flask.testing import FlaskClient
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import func, select

from app.audit import AuditEvent
from app.auth.models import User
from app.budget import sign_off, spreadsheet_import, spreadsheets
from app.budget.models import AmountKind, BudgetAmount, SpreadsheetImport
from app.consortia.models import Consortium, Partner, PartnerStatus, Role
from app.consortia.services import partner_by_code
from app.extensions import db
from app.mail.models import OutboxMessage
from app.money import format_eur
from tests.factories import csrf_token, login, make_consortium, make_member

CODE = "plie-sevran"
MARKER = 987654.25  # a value written with openpyxl, then replaced in the XML by a raw number


@pytest.fixture
def consortium() -> Consortium:
    return make_consortium()


@pytest.fixture
def partner(consortium: Consortium) -> Partner:
    found = partner_by_code(consortium, CODE)
    assert found is not None
    return found


@pytest.fixture
def director(client: FlaskClient, consortium: Consortium) -> FlaskClient:
    login(client, make_member(consortium, Role.DIRECTOR, CODE).email)
    return client


def base(consortium: Consortium) -> str:
    return f"/consortia/{consortium.slug}/membres/{CODE}/budget"


def template(client: FlaskClient, consortium: Consortium) -> Workbook:
    response = client.get(base(consortium) + ".xlsx")
    assert response.status_code == 200
    return load_workbook(io.BytesIO(response.data))


def row_of(sheet: Worksheet, code: str) -> int:
    return next(row for row in range(1, sheet.max_row + 1) if sheet.cell(row, 1).value == code)


def year_column(sheet: Worksheet, year: int) -> int:
    return next(column for column in range(1, sheet.max_column + 1) if sheet.cell(3, column).value == year)


def saved(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def stored(partner: Partner, kind: AmountKind, code: str, year: int) -> BudgetAmount | None:
    db.session.expire_all()
    return db.session.scalars(
        select(BudgetAmount).where(
            BudgetAmount.partner_id == partner.id,
            BudgetAmount.kind == kind,
            BudgetAmount.code == code,
            BudgetAmount.year == year,
        )
    ).first()


def upload(client: FlaskClient, consortium: Consortium, data: bytes, name: str = "budget.xlsx") -> Any:
    token = csrf_token(client, base(consortium) + "/import")
    return client.post(
        base(consortium) + "/import",
        data={"csrf_token": token, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def imports() -> int:
    return db.session.scalar(select(func.count()).select_from(SpreadsheetImport)) or 0


def with_raw_number(data: bytes, raw: str) -> bytes:
    """The same workbook with the marker number replaced, in the sheet's XML, by `raw`."""
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                content = content.replace(f"<v>{MARKER}</v>".encode(), f"<v>{raw}</v>".encode())
            target.writestr(item, content)
    return buffer.getvalue()


# --- the template -----------------------------------------------------------------------------------


def test_template_is_prefilled_protected_and_only_amount_cells_are_editable(
    director: FlaskClient, consortium: Consortium, partner: Partner
) -> None:
    workbook = template(director, consortium)

    sheet = workbook["Budget"]
    assert workbook.security is not None
    assert workbook.security.lockStructure
    assert sheet.protection.sheet
    assert sheet.column_dimensions["A"].hidden
    personnel, column = row_of(sheet, "expense:personnel"), year_column(sheet, 2020)
    amount = stored(partner, AmountKind.EXPENSE, "personnel", 2020)
    assert amount is not None
    assert Decimal(repr(sheet.cell(personnel, column).value)) == amount.amount
    assert sheet.cell(personnel, column).protection.locked is False
    assert sheet.cell(personnel, 2).protection.locked  # the label
    assert sheet.cell(personnel, 1).protection.locked  # the code
    indirect = sheet.cell(row_of(sheet, "expense:indirects"), column)
    assert indirect.value == f"=ROUND(0.15*({indirect.column_letter}{personnel}),2)"
    assert indirect.protection.locked
    total = sheet.cell(row_of(sheet, "#total_expenses"), column).value
    assert re.fullmatch(r"=SUM\(D\d+:D\d+\)", total)
    balance = sheet.cell(row_of(sheet, "#balance"), column).value
    assert balance == f"=D{row_of(sheet, '#total_expenses')}-D{row_of(sheet, '#total_resources')}"
    assert [sheet.cell(3, c).value for c in range(3, 7)] == [2019, 2020, 2021, 2022]


def test_reader_may_download_but_not_upload(client: FlaskClient, consortium: Consortium) -> None:
    login(client, make_member(consortium, Role.READER).email)
    data = client.get(base(consortium) + ".xlsx").data

    page = client.get(base(consortium) + "/import")
    response = (
        upload(client, consortium, data)
        if page.status_code == 200
        else client.post(
            base(consortium) + "/import",
            data={"csrf_token": csrf_token(client, "/"), "file": (io.BytesIO(data), "b.xlsx")},
            content_type="multipart/form-data",
        )
    )

    assert page.status_code == 403
    assert response.status_code == 403
    assert imports() == 0


def test_director_of_another_partner_cannot_upload(client: FlaskClient, consortium: Consortium) -> None:
    login(client, make_member(consortium, Role.DIRECTOR, "atout-plie").email)

    assert client.get(base(consortium) + "/import").status_code == 403


# --- the round trip ---------------------------------------------------------------------------------


def test_director_changes_two_amounts_sees_the_preview_and_applies_them(
    director: FlaskClient, consortium: Consortium, partner: Partner
) -> None:
    workbook = template(director, consortium)
    sheet = workbook["Budget"]
    column = year_column(sheet, 2021)
    personnel = sheet.cell(row_of(sheet, "expense:personnel"), column)
    fse = sheet.cell(row_of(sheet, "resource:fse"), column)
    before_personnel = stored(partner, AmountKind.EXPENSE, "personnel", 2021)
    before_fse = stored(partner, AmountKind.RESOURCE, "fse", 2021)
    assert before_personnel is not None
    old_personnel, old_version = before_personnel.amount, before_personnel.version
    old_fse = before_fse.amount if before_fse is not None else Decimal("0.00")
    personnel.value = 80000.5
    fse.value = "12 345,67"  # typed as text, French style

    response = upload(director, consortium, saved(workbook), "budget sevran.xlsx")

    assert response.status_code == 302
    preview = director.get(response.headers["Location"])
    html = preview.get_data(as_text=True)
    assert "2 montants à modifier" in html
    assert format_eur(old_personnel) in html
    assert format_eur(Decimal("80000.50")) in html
    assert format_eur(old_fse) in html
    assert format_eur(Decimal("12345.67")) in html
    assert "Rien n'est encore enregistré" in html
    unchanged = stored(partner, AmountKind.EXPENSE, "personnel", 2021)
    assert unchanged is not None
    assert unchanged.amount == old_personnel

    apply_url = response.headers["Location"] + "/appliquer"
    applied = director.post(
        apply_url, data={"csrf_token": csrf_token(director, response.headers["Location"])}
    )

    assert applied.status_code == 302
    after = stored(partner, AmountKind.EXPENSE, "personnel", 2021)
    assert after is not None
    assert after.amount == Decimal("80000.50")
    assert after.version == old_version + 1
    fse_after = stored(partner, AmountKind.RESOURCE, "fse", 2021)
    assert fse_after is not None
    assert fse_after.amount == Decimal("12345.67")
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "budget.amount_changed")).all()
    assert {(e.data["code"], e.data["old"]["amount"], e.data["new"]["amount"]) for e in events} == {
        ("personnel", str(old_personnel), "80000.50"),
        ("fse", str(old_fse), "12345.67"),
    }
    again = director.post(apply_url, data={"csrf_token": csrf_token(director, response.headers["Location"])})
    assert again.status_code == 409
    assert "déjà été appliqué" in again.get_data(as_text=True)


def test_unchanged_template_changes_nothing(director: FlaskClient, consortium: Consortium) -> None:
    response = upload(director, consortium, saved(template(director, consortium)))

    assert "Le fichier ne change aucun montant." in director.get(response.headers["Location"]).get_data(
        as_text=True
    )


def test_cell_changed_in_the_grid_after_the_upload_is_a_conflict_and_nothing_is_applied(
    director: FlaskClient, consortium: Consortium, partner: Partner
) -> None:
    workbook = template(director, consortium)
    sheet = workbook["Budget"]
    column = year_column(sheet, 2020)
    sheet.cell(row_of(sheet, "expense:personnel"), column).value = 1111
    sheet.cell(row_of(sheet, "expense:fonctionnement"), column).value = 2222
    response = upload(director, consortium, saved(workbook))
    cell = stored(partner, AmountKind.EXPENSE, "personnel", 2020)
    assert cell is not None
    cell.amount, cell.version = Decimal("5555.00"), cell.version + 1  # a colleague saves the same cell
    db.session.commit()
    before = stored(partner, AmountKind.EXPENSE, "fonctionnement", 2020)
    assert before is not None
    untouched = before.amount

    applied = director.post(
        response.headers["Location"] + "/appliquer",
        data={"csrf_token": csrf_token(director, response.headers["Location"])},
    )

    assert applied.status_code == 409
    html = unescape(applied.get_data(as_text=True))
    assert "a été modifié par quelqu'un d'autre depuis l'envoi du fichier" in html
    assert "Rien n'a été appliqué" in html
    assert "Appliquer ces" not in html
    assert "Télécharger à nouveau le modèle" in html
    assert format_eur(Decimal("5555.00")) in html
    after = stored(partner, AmountKind.EXPENSE, "fonctionnement", 2020)
    assert after is not None
    assert after.amount == untouched
    personnel = stored(partner, AmountKind.EXPENSE, "personnel", 2020)
    assert personnel is not None
    assert personnel.amount == Decimal("5555.00")


def test_someone_else_cannot_see_or_apply_my_upload(
    director: FlaskClient, client: FlaskClient, consortium: Consortium
) -> None:
    response = upload(director, consortium, saved(template(director, consortium)))
    other = client.application.test_client()
    login(other, make_member(consortium, Role.COORDINATOR, "urtie-idf").email)

    assert other.get(response.headers["Location"]).status_code == 404


def test_withdrawn_partner_figures_cannot_be_uploaded(
    director: FlaskClient, consortium: Consortium, partner: Partner
) -> None:
    data = saved(template(director, consortium))
    partner.status = PartnerStatus.WITHDRAWN
    db.session.commit()

    response = upload(director, consortium, data)

    assert response.status_code == 422
    assert "Ce membre s'est retiré du consortium" in unescape(response.get_data(as_text=True))
    assert imports() == 0


def test_upload_without_csrf_token_is_refused_with_a_message(
    director: FlaskClient, consortium: Consortium
) -> None:
    data = saved(template(director, consortium))

    response = director.post(
        base(consortium) + "/import",
        data={"file": (io.BytesIO(data), "budget.xlsx")},
        content_type="multipart/form-data",
    )

    assert response.status_code == 400
    assert "session a expiré" in response.get_data(as_text=True)
    assert imports() == 0


def test_upload_without_a_file_asks_for_one(director: FlaskClient, consortium: Consortium) -> None:
    token = csrf_token(director, base(consortium) + "/import")

    response = director.post(base(consortium) + "/import", data={"csrf_token": token})

    assert response.status_code == 422
    assert "Choisissez le fichier .xlsx à envoyer." in response.get_data(as_text=True)


# --- hostile files ----------------------------------------------------------------------------------


def refused(client: FlaskClient, consortium: Consortium, data: bytes, message: str) -> None:
    response = upload(client, consortium, data)
    assert response.status_code == 422, response.status_code
    html = unescape(response.get_data(as_text=True))
    assert message in html
    assert imports() == 0


def test_renamed_executable_is_refused(director: FlaskClient, consortium: Consortium) -> None:
    refused(director, consortium, b"MZ\x90\x00" + b"\x00" * 500, "n'est pas un classeur Excel (.xlsx)")


def test_zip_that_is_not_a_spreadsheet_is_refused(director: FlaskClient, consortium: Consortium) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("photo.txt", "bonjour")

    refused(director, consortium, buffer.getvalue(), "n'est pas un classeur Excel (.xlsx)")


def test_zip_bomb_is_refused_before_anything_is_unpacked(
    director: FlaskClient, consortium: Consortium
) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "spreadsheetml.sheet.main+xml")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\x00" * (30 * 1024 * 1024))
    assert len(buffer.getvalue()) < spreadsheet_import.MAX_UPLOAD_BYTES

    refused(director, consortium, buffer.getvalue(), "se décompresse en un volume anormal")


def test_oversized_file_is_refused(
    director: FlaskClient, consortium: Consortium, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A smaller limit for the test: Werkzeug's test client leaks the temporary file of big bodies.
    monkeypatch.setattr(spreadsheet_import, "MAX_UPLOAD_BYTES", 100 * 1024)

    refused(director, consortium, b"PK\x03\x04" + b"x" * 100 * 1024, "Le fichier dépasse 100\u00a0Ko")


def test_upload_limit_is_two_megabytes() -> None:
    assert spreadsheet_import.size_label(spreadsheet_import.MAX_UPLOAD_BYTES) == "2\u00a0Mo"


def test_unknown_category_is_refused_naming_the_cell(director: FlaskClient, consortium: Consortium) -> None:
    workbook = template(director, consortium)
    sheet = workbook["Budget"]
    row = row_of(sheet, "expense:prestations")
    sheet.cell(row, 1).value = "expense:voyages"

    refused(
        director,
        consortium,
        saved(workbook),
        f"Cellule A{row} : catégorie ou financeur inconnu « expense:voyages »",
    )


def test_moved_year_column_is_refused_naming_the_cell(director: FlaskClient, consortium: Consortium) -> None:
    workbook = template(director, consortium)
    sheet = workbook["Budget"]
    sheet.cell(3, 3).value, sheet.cell(3, 4).value = 2020, 2019

    refused(director, consortium, saved(workbook), "Cellule C3 : l'année 2019 est attendue")


def test_missing_sheet_is_refused(director: FlaskClient, consortium: Consortium) -> None:
    workbook = template(director, consortium)
    workbook["Budget"].title = "Feuil1"

    refused(director, consortium, saved(workbook), "La feuille « Budget » est introuvable")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (-500, "les montants négatifs ne sont pas autorisés"),
        (-0.5, "les montants négatifs ne sont pas autorisés"),
        (1.005, "deux chiffres au plus après la virgule"),
        ("1,005", "Montant ambigu"),
        ("NaN", "saisissez un nombre"),
        ("١٢٣", "uniquement les chiffres de 0 à 9"),
        (123456789012345, "Montant trop élevé"),
        ("=1+1", "contient une formule"),
        (True, "saisissez un nombre"),
    ],
)
def test_bad_amount_in_a_cell_is_refused_naming_the_cell(
    director: FlaskClient, consortium: Consortium, value: object, message: str
) -> None:
    workbook = template(director, consortium)
    sheet = workbook["Budget"]
    cell = sheet.cell(row_of(sheet, "resource:prives"), year_column(sheet, 2022))
    cell.value = value

    refused(
        director,
        consortium,
        saved(workbook),
        f"Cellule {cell.coordinate} (« Financements privés (fondations, entreprises) », 2022) : ",
    )
    refused(director, consortium, saved(workbook), message)


@pytest.mark.parametrize(
    ("raw", "message"), [("1e309", "saisissez un nombre"), ("1e15", "Montant trop élevé")]
)
def test_huge_numbers_written_in_the_file_are_refused(
    director: FlaskClient, consortium: Consortium, raw: str, message: str
) -> None:
    workbook = template(director, consortium)
    sheet = workbook["Budget"]
    cell = sheet.cell(row_of(sheet, "resource:prives"), year_column(sheet, 2022))
    cell.value = MARKER
    data = with_raw_number(saved(workbook), raw)
    assert raw.encode() in zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")

    refused(director, consortium, data, f"Cellule {cell.coordinate} (« Financements privés")
    refused(director, consortium, data, message)


@pytest.mark.parametrize(
    ("value", "expected"), [(None, "0.00"), (1234, "1234.00"), (0.1, "0.10"), ("1 234,56 €", "1234.56")]
)
def test_good_cell_values_become_exact_amounts(value: object, expected: str) -> None:
    cell = Workbook().active["B2"]
    cell.value = value

    assert spreadsheet_import.cell_amount(cell) == Decimal(expected)


@pytest.mark.parametrize(
    ("text", "shown"),
    [("=HYPERLINK(1)", "'=HYPERLINK(1)"), ("+33", "'+33"), ("-x", "'-x"), ("@a", "'@a"), ("PLIE", "PLIE")],
)
def test_neutralise_prefixes_text_that_a_spreadsheet_would_run(text: str, shown: str) -> None:
    assert spreadsheets.neutralise(text) == shown


def test_applying_a_file_voids_the_director_sign_off_and_tells_the_people_concerned(
    director: FlaskClient, consortium: Consortium, partner: Partner
) -> None:
    user = db.session.scalars(select(User).where(User.email == f"director-{CODE}@exemple.fr")).one()
    sign_off.sign(partner, certified=True, by=user)
    db.session.commit()
    workbook = template(director, consortium)
    sheet = workbook["Budget"]
    sheet.cell(row_of(sheet, "expense:participants"), year_column(sheet, 2022)).value = 4321
    response = upload(director, consortium, saved(workbook))

    director.post(
        response.headers["Location"] + "/appliquer",
        data={"csrf_token": csrf_token(director, response.headers["Location"])},
    )

    db.session.expire_all()
    assert sign_off.state_of(partner).state.value == "void"
    assert db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "sign_off_voided")).all()
