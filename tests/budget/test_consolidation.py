"""The consolidated financing plan page (/consortia/<slug>/plan-de-financement), its links and downloads."""

from __future__ import annotations

import csv
import html
import io
import zipfile
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask, g
from flask.testing import FlaskClient
from openpyxl import load_workbook

from app.budget.calculations import Finding
from app.budget.consolidation import finding_link, plan_of
from app.budget.services import consolidation_of
from app.consortia.models import Consortium, ConsortiumStatus, PartnerStatus, Role
from app.consortia.services import partner_by_code
from app.extensions import db
from app.money import format_eur, format_share
from app.templating import french_decimal, french_integer
from tests.factories import login, make_consortium, make_member, make_user
from tests.overview.test_overview_page import Overview, logged_in_client, query_summary

HOSTILE_NAME = '=HYPERLINK("http://x")'


def plan_page(client: FlaskClient, slug: str) -> Overview:
    response = client.get(f"/consortia/{slug}/plan-de-financement")
    assert response.status_code == 200, response.get_data(as_text=True)
    return Overview(response.get_data(as_text=True))


@pytest.fixture
def consortium() -> Consortium:
    """The demo consortium: 12 partners."""
    return make_consortium()


@pytest.fixture
def coordinator_client(client: FlaskClient, consortium: Consortium) -> FlaskClient:
    login(client, make_member(consortium, Role.COORDINATOR, "urtie-idf").email)
    return client


# --- the page ---------------------------------------------------------------------------------------


def test_plan_shows_the_consolidated_totals_by_year_category_and_funder(
    coordinator_client: FlaskClient, consortium: Consortium
) -> None:
    totals = consolidation_of(consortium).consolidation

    page = plan_page(coordinator_client, consortium.slug)

    assert f"Coût total {format_eur(totals.total_cost)}" in page.text
    assert f"Total des ressources {format_eur(totals.total_resources)}" in page.text
    assert f"Part du financeur principal {format_share(totals.main_funder_share)}" in page.text
    assert f"Participants {french_integer(totals.participants)}" in page.text
    years = " ".join(format_eur(totals.expenses_by_year[year]) for year in sorted(totals.expenses_by_year))
    assert f"Total des dépenses {years} {format_eur(totals.total_cost)}" in page.text
    assert "Fonds social européen" in page.text
    assert "Union européenne" in page.text
    assert list(page.rows) == [partner.code for partner in consortium.partners]


def test_plan_shows_full_time_equivalents_as_numbers_not_euros(
    coordinator_client: FlaskClient, consortium: Consortium
) -> None:
    totals = consolidation_of(consortium).consolidation

    page = plan_page(coordinator_client, consortium.slug)

    fte = french_decimal(totals.fte)
    assert f"Équivalents temps plein (ETP) {fte} —" in page.text
    assert f"{fte} €" not in page.text


def test_plan_lists_errors_and_warnings_each_with_a_link_to_fix_it(
    coordinator_client: FlaskClient, consortium: Consortium
) -> None:
    totals = consolidation_of(consortium).consolidation

    response = coordinator_client.get(f"/consortia/{consortium.slug}/plan-de-financement")
    page = Overview(response.get_data(as_text=True))

    assert len(page.findings) == len(totals.errors) + len(totals.warnings)
    unbalanced = next(text for code, text in page.findings if code == "unbalanced_year")
    assert unbalanced.startswith("Erreur : Initiatives 77, 2022 : le plan de financement n'est pas équilibré")
    assert "Corriger" in unbalanced
    assert "/membres/initiatives-77/budget#y2022" in response.get_data(as_text=True)
    assert f'<a href="/consortia/{consortium.slug}/membres/plie-sevran/budget">' in response.get_data(
        as_text=True
    )
    heading = f"Contrôles : {len(totals.errors)} erreur"
    assert heading in page.text


def test_withdrawn_partner_is_shown_but_counts_in_no_total(
    coordinator_client: FlaskClient, consortium: Consortium
) -> None:
    before = consolidation_of(consortium).consolidation
    atout = next(row for row in before.partners if row.id == "atout-plie")
    partner = partner_by_code(consortium, "atout-plie")
    assert partner is not None
    partner.status = PartnerStatus.WITHDRAWN
    db.session.commit()

    page = plan_page(coordinator_client, consortium.slug)

    assert "Retiré" in page.rows["atout-plie"]
    assert [code for code, row in page.rows.items() if "Retiré" in row] == ["atout-plie"]
    assert f"Coût total {format_eur(before.total_cost - atout.total_expenses)}" in page.text


@pytest.mark.parametrize("role", [Role.READER, Role.CONTRIBUTOR, Role.DIRECTOR])
def test_everyone_with_a_role_sees_the_plan(client: FlaskClient, consortium: Consortium, role: Role) -> None:
    login(client, make_member(consortium, role, None if role == Role.READER else "plie-sevran").email)

    page = plan_page(client, consortium.slug)

    assert "Plan de financement consolidé" in page.text
    assert client.get(f"/consortia/{consortium.slug}/plan-de-financement.xlsx").status_code == 200


def test_non_member_gets_not_found_for_the_plan_and_its_downloads(
    client: FlaskClient, consortium: Consortium
) -> None:
    login(client, make_user("dehors@exemple.fr").email)

    for suffix in ("", ".xlsx", "-csv.zip"):
        response = client.get(f"/consortia/{consortium.slug}/plan-de-financement{suffix}")
        assert response.status_code == 404
        assert consortium.title not in response.get_data(as_text=True)


def test_plan_page_shows_three_charts_with_text_alternatives(
    coordinator_client: FlaskClient, consortium: Consortium
) -> None:
    html = coordinator_client.get(f"/consortia/{consortium.slug}/plan-de-financement").get_data(as_text=True)

    assert html.count('role="img"') == 3
    for ident in ("graphique-membres", "graphique-financeurs", "graphique-annees"):
        assert f'aria-labelledby="{ident}-title {ident}-desc"' in html
    assert "<details" in html
    assert " style=" not in html.split("<main", 1)[-1]


def test_plan_runs_as_many_queries_for_30_partners_as_for_3(client: FlaskClient, count_queries: Any) -> None:
    statements = {}
    for partners in (3, 30):
        consortium = make_consortium(partners, slug=f"plan-{partners}")
        member_client = logged_in_client(client, consortium, "coordinator")
        count_queries.statements.clear()
        response = member_client.get(f"/consortia/{consortium.slug}/plan-de-financement")
        statements[partners] = list(count_queries.statements)
        assert response.status_code == 200
        assert len(Overview(response.get_data(as_text=True)).rows) == partners

    assert len(statements[30]) == len(statements[3]), query_summary(statements)


# --- finding_link -----------------------------------------------------------------------------------


def finding(path: str, partner: str | None = None, year: int | None = None) -> Finding:
    return Finding("code", "error", "message", path, partner, year)


@pytest.mark.parametrize(
    ("path", "partner", "year", "expected"),
    [
        ("partners[3].budget.2020", "plie-sevran", 2020, "/membres/plie-sevran/budget#y2020"),
        ("partners[3].sign_off", "plie-sevran", None, "/membres/plie-sevran/budget#signature"),
        (
            "partners[3].indicators.totals.sorties",
            "plie-sevran",
            None,
            "/membres/plie-sevran/indicateurs",
        ),
        ("call.rules.min_total_cost", None, None, "/plan-de-financement#chiffres-cles"),
        ("consortium.project_end", None, None, "/plan-de-financement#chiffres-cles"),
        ("sections[2].status", None, None, "/chapitres"),
    ],
)
def test_finding_link_points_at_the_cell_or_page_to_fix(
    app: Flask, path: str, partner: str | None, year: int | None, expected: str
) -> None:
    consortium = Consortium(slug="cap")
    with app.test_request_context():
        link = finding_link(finding(path, partner, year), consortium)

    assert link == f"/consortia/cap{expected}"


def test_finding_link_is_none_for_an_unknown_path(app: Flask) -> None:
    with app.test_request_context():
        assert finding_link(finding("somewhere.else"), Consortium(slug="cap")) is None


# --- downloads --------------------------------------------------------------------------------------


def test_plan_xlsx_has_one_sheet_per_view_and_one_per_partner_with_the_same_totals(
    coordinator_client: FlaskClient, consortium: Consortium
) -> None:
    totals = consolidation_of(consortium).consolidation

    response = coordinator_client.get(f"/consortia/{consortium.slug}/plan-de-financement.xlsx")

    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in response.headers["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames[:5] == [
        "Chiffres clés",
        "Dépenses par membre et par anné",
        "Dépenses par catégorie et par a",
        "Ressources par financeur et par",
        "Ressources par groupe de financ",
    ]
    assert len(workbook.sheetnames) == 5 + 12
    key = workbook["Chiffres clés"]
    assert key["A5"].value == "Coût total"
    assert Decimal(repr(key["B5"].value)) == totals.total_cost
    members = workbook.worksheets[1]
    last = members.max_row
    assert members.cell(last, 1).value == "Total des membres actifs"
    assert Decimal(repr(members.cell(last, 7).value)) == totals.total_cost


def test_plan_csv_zip_has_one_file_per_view_with_exact_amounts(
    coordinator_client: FlaskClient, consortium: Consortium
) -> None:
    totals = consolidation_of(consortium).consolidation

    response = coordinator_client.get(f"/consortia/{consortium.slug}/plan-de-financement-csv.zip")

    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert archive.namelist() == [
        "1-chiffres-cles.csv",
        "2-membres.csv",
        "3-categories.csv",
        "4-financeurs.csv",
        "5-groupes.csv",
    ]
    text = archive.read("2-membres.csv").decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0][:3] == ["Membre", "Statut", "2019"]
    assert rows[-1][0] == "Total des membres actifs"
    assert rows[-1][6] == str(totals.total_cost)
    assert len(rows) == 1 + 12 + 1


def test_a_name_that_looks_like_a_formula_is_neutralised_in_xlsx_and_csv(
    coordinator_client: FlaskClient, consortium: Consortium
) -> None:
    partner = partner_by_code(consortium, "plie-sevran")
    assert partner is not None
    partner.organisation.rename(HOSTILE_NAME)
    db.session.commit()

    xlsx = coordinator_client.get(f"/consortia/{consortium.slug}/plan-de-financement.xlsx")
    archive = coordinator_client.get(f"/consortia/{consortium.slug}/plan-de-financement-csv.zip")

    workbook = load_workbook(io.BytesIO(xlsx.data))
    members = workbook.worksheets[1]
    names = [members.cell(row, 1).value for row in range(5, members.max_row + 1)]
    assert "'" + HOSTILE_NAME in names
    assert HOSTILE_NAME not in names
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert not (isinstance(cell.value, str) and cell.value.startswith("=HYPERLINK"))
    text = zipfile.ZipFile(io.BytesIO(archive.data)).read("2-membres.csv").decode("utf-8-sig")
    assert "'=HYPERLINK(" in text
    assert "\n=HYPERLINK" not in text
    assert ";=HYPERLINK" not in text


def test_plan_tables_come_from_the_consolidation_only(consortium: Consortium) -> None:
    state = consolidation_of(consortium)
    plan = plan_of(state)

    members = plan.table("membres")
    assert members.footer is not None
    assert members.footer[-4] == state.consolidation.total_cost
    groups = plan.table("groupes")
    assert {row[0]: row[1] for row in groups.rows}["Union européenne"] == (
        state.consolidation.by_funder_group["ue"]
    )


def test_markup_in_an_organisation_name_is_shown_literally_in_tables_and_charts(
    coordinator_client: FlaskClient, consortium: Consortium
) -> None:
    partner = partner_by_code(consortium, "plie-sevran")
    assert partner is not None
    partner.organisation.rename('<script>alert("x")</script> 🎉')
    db.session.commit()

    html = coordinator_client.get(f"/consortia/{consortium.slug}/plan-de-financement").get_data(as_text=True)

    assert '<script>alert("x")' not in html
    assert html.count("&lt;script&gt;alert(") >= 2  # the partner table and the stacked bars


def test_the_checks_say_when_the_deadline_has_passed_until_the_dossier_is_filed(
    coordinator_client: FlaskClient, consortium: Consortium
) -> None:
    passed = "La date limite de dépôt (03/09/2019) est passée"

    draft = coordinator_client.get(f"/consortia/{consortium.slug}/plan-de-financement").get_data(as_text=True)
    consortium.status = ConsortiumStatus.SUBMITTED
    db.session.commit()
    filed = coordinator_client.get(f"/consortia/{consortium.slug}/plan-de-financement").get_data(as_text=True)

    assert passed in html.unescape(draft)
    assert passed not in html.unescape(filed)


def test_a_page_that_reads_consolidates_once_and_a_write_recomputes(app: Flask) -> None:
    consortium = make_consortium(3)
    with app.test_request_context("/", method="GET"):
        first = consolidation_of(consortium)
        assert consolidation_of(consortium) is first  # the header and the page share it
        assert consortium.id in g.consolidations
    with app.test_request_context("/", method="POST"):
        assert consolidation_of(consortium) is not consolidation_of(consortium)
