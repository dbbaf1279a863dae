"""GET /api/v1/consortia/<slug>: consolidated totals and findings, and who may read them."""

from __future__ import annotations

import hashlib
import html
import json
import re
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.auth.models import ApiToken
from app.consortia.models import Role
from app.exchange.importer import import_document
from app.exchange.validation import parse_document
from app.extensions import db
from app.templating import paris_today
from tests.factories import demo_data, login, make_consortium, make_member, make_user

URL = "/api/v1/consortia/cap-remob-idf"
CENT = Decimal("0.01")
AMOUNT = re.compile(r"\A[0-9]+\.[0-9]{2}\Z")
SHARE = re.compile(r"\A[0-9]+\.[0-9]{4}\Z")


# --- the expected figures, computed here from the JSON alone ------------------------------------


def half_up(value: Decimal, unit: Decimal = CENT) -> Decimal:
    return value.quantize(unit, ROUND_HALF_UP)


def partner_expenses(data: dict[str, Any], partner: dict[str, Any], year: str) -> dict[str, Decimal]:
    """A partner-year's expenses by category, the computed category recomputed from its base."""
    rule = data["budget_model"]["indirect_costs"]
    typed = partner["budget"].get(year, {}).get("expenses", {})
    expenses = {
        c["code"]: Decimal(str(typed.get(c["code"], "0"))) for c in data["budget_model"]["expense_categories"]
    }
    base = sum((expenses[code] for code in rule["base_categories"]), Decimal(0))
    expenses[rule["category"]] = half_up(Decimal(rule["rate"]) * base)
    return expenses


def partner_resources(data: dict[str, Any], partner: dict[str, Any], year: str) -> dict[str, Decimal]:
    typed = partner["budget"].get(year, {}).get("resources", {})
    return {f["code"]: Decimal(str(typed.get(f["code"], "0"))) for f in data["budget_model"]["funders"]}


def years(data: dict[str, Any]) -> list[str]:
    return [str(year) for year in data["budget_model"]["years"]]


def active(data: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    return [(i, p) for i, p in enumerate(data["partners"]) if p["status"] == "active"]


def total_expenses(data: dict[str, Any], partner: dict[str, Any]) -> Decimal:
    return sum(
        (sum(partner_expenses(data, partner, y).values(), Decimal(0)) for y in years(data)), Decimal(0)
    )


def total_cost(data: dict[str, Any]) -> Decimal:
    return sum((total_expenses(data, p) for _i, p in active(data)), Decimal(0))


def funder_total(data: dict[str, Any], predicate: Any) -> Decimal:
    groups = {f["code"]: f["group"] for f in data["budget_model"]["funders"]}
    return sum(
        (
            amount
            for _i, p in active(data)
            for y in years(data)
            for code, amount in partner_resources(data, p, y).items()
            if predicate(code, groups[code])
        ),
        Decimal(0),
    )


def canonical_digest(data: dict[str, Any], partner: dict[str, Any]) -> str:
    """SHA-256 of the partner's figures in canonical export form, as the format defines it."""
    indicators = data["indicators"]
    per_year = partner["indicators"].get("per_year", {})
    figures = {
        "budget": {
            y: {
                "expenses": {c: str(v) for c, v in partner_expenses(data, partner, y).items()},
                "resources": {
                    c: str(v.quantize(CENT)) for c, v in partner_resources(data, partner, y).items()
                },
            }
            for y in years(data)
        },
        "staff_fte": {k: str(Decimal(v).quantize(CENT)) for k, v in partner["staff_fte"].items()},
        "indicators": {
            "per_year": {
                y: {i["code"]: per_year.get(y, {}).get(i["code"], 0) for i in indicators if i["per_year"]}
                for y in years(data)
            },
            "totals": {
                i["code"]: partner["indicators"].get("totals", {}).get(i["code"], 0)
                for i in indicators
                if not i["per_year"]
            },
        },
    }
    text = json.dumps(figures, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def visible_length(content: str | None) -> int:
    return len(html.unescape(re.sub(r"<[^>]*>", "", content or "")))


def expected_findings(data: dict[str, Any]) -> set[tuple[str, str, str | None, int | None]]:
    """(code, path, partner, year) of every error and warning the format defines, from the JSON."""
    rules = data["call"]["rules"]
    start = date.fromisoformat(data["consortium"]["project_start"])
    end = date.fromisoformat(data["consortium"]["project_end"])
    found: set[tuple[str, str, str | None, int | None]] = set()
    cost = total_cost(data)
    if cost < Decimal(rules["min_total_cost"]):
        found.add(("total_cost_below_minimum", "call.rules.min_total_cost", None, None))
    after_end = end + timedelta(days=1)
    months = (after_end.year - start.year) * 12 + after_end.month - start.month  # the demo starts on a 1st
    if not rules["min_duration_months"] <= months <= rules["max_duration_months"]:
        found.add(("duration_out_of_bounds", "consortium.project_end", None, None))
    if data["call"]["submission_deadline"]:
        deadline = date.fromisoformat(data["call"]["submission_deadline"])
        if deadline < paris_today() and data["consortium"]["status"] != "submitted":
            found.add(("deadline_passed", "call.submission_deadline", None, None))
        if start < deadline:
            found.add(("project_starts_before_deadline", "consortium.project_start", None, None))
    main = funder_total(data, lambda code, _group: code == rules["main_funder"]) / cost
    low, high = (Decimal(rate) for rate in rules["main_funder_share_range"])
    if not low <= main <= high:
        found.add(("main_funder_share_out_of_range", "call.rules.main_funder_share_range", None, None))
    local = funder_total(data, lambda _code, group: group not in ("etat", "ue")) / cost
    if local < Decimal(rules["min_local_cofunding_share"]):
        found.add(("local_cofunding_below_minimum", "call.rules.min_local_cofunding_share", None, None))
    tolerance = Decimal(rules.get("balance_tolerance", "0"))
    parents = {i["code"]: i["part_of"] for i in data["indicators"] if i["part_of"]}
    for index, partner in active(data):
        for year in years(data):
            spent = sum(partner_expenses(data, partner, year).values(), Decimal(0))
            received = sum(partner_resources(data, partner, year).values(), Decimal(0))
            if abs(spent - received) > tolerance:
                found.add(("unbalanced_year", f"partners[{index}].budget.{year}", partner["id"], int(year)))
            if not start.year <= int(year) <= end.year and (spent or received):
                found.add(
                    ("amount_outside_period", f"partners[{index}].budget.{year}", partner["id"], int(year))
                )
            values = partner["indicators"]["per_year"].get(year, {})
            for child, parent in parents.items():
                if child in values and values[child] > values.get(parent, 0):
                    path = f"partners[{index}].indicators.per_year.{year}.{child}"
                    found.add(("indicator_above_parent", path, partner["id"], int(year)))
        sign_off = partner["sign_off"]
        path = f"partners[{index}].sign_off"
        if sign_off is None:
            found.add(("sign_off_missing", path, partner["id"], None))
        elif sign_off["digest"] != canonical_digest(data, partner):
            found.add(("sign_off_void", path, partner["id"], None))
    for index, section in enumerate(data["sections"]):
        if section["scope"] == "per_partner":
            continue
        if section["max_chars"] is not None and visible_length(section["content"]) > section["max_chars"]:
            found.add(("section_over_limit", f"sections[{index}].content", None, None))
        # Not started: no text, and neither proposed for review nor validated.
        empty = not visible_length(section["content"]) and section["status"] in ("todo", "in_progress")
        if not section["generated"] and empty:
            found.add(("section_todo", f"sections[{index}].status", None, None))
    return found


# --- helpers ------------------------------------------------------------------------------------


def import_data(data: dict[str, Any]) -> None:
    import_document(parse_document(data))
    db.session.commit()


def read_as_admin(client: FlaskClient, url: str = URL) -> dict[str, Any]:
    make_user("admin@exemple.fr", admin=True)
    login(client, "admin@exemple.fr")
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    return body


def findings_of(body: dict[str, Any]) -> set[tuple[str, str, str | None, int | None]]:
    return {(f["code"], f["path"], f["partner"], f["year"]) for f in body["errors"] + body["warnings"]}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def token_for(app: Flask, email: str) -> str:
    result = app.test_cli_runner().invoke(args=["create-token", email])
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()[-1]


# --- totals and findings ------------------------------------------------------------------------


def test_total_cost_is_every_active_partners_expenses_with_indirect_costs_recomputed(
    client: FlaskClient,
) -> None:
    data = demo_data()
    import_data(data)

    body = read_as_admin(client)

    totals = body["totals"]
    assert totals["total_cost"] == str(total_cost(data))
    assert Decimal(totals["total_cost"]) >= Decimal("1000000")
    assert [(p["id"], p["total_expenses"]) for p in body["partners"]] == [
        (p["id"], str(total_expenses(data, p))) for p in data["partners"]
    ]
    participants = sum(
        p["indicators"]["per_year"][y]["entrees"] for _i, p in active(data) for y in years(data)
    )
    assert totals["participants"] == participants
    assert totals["cost_per_participant"] == str(half_up(total_cost(data) / participants))


def test_indirect_costs_typed_in_the_file_are_recomputed_before_anything_is_added_up(
    client: FlaskClient,
) -> None:
    data = demo_data()
    data["partners"][0]["budget"]["2020"]["expenses"]["indirects"] = "99999.99"
    import_data(data)

    totals = read_as_admin(client)["totals"]

    assert totals["total_cost"] == str(total_cost(data)) == str(total_cost(demo_data()))
    assert totals["by_category"]["indirects"]["2020"] == str(
        sum((partner_expenses(data, p, "2020")["indirects"] for _i, p in active(data)), Decimal(0))
    )


def test_shares_have_four_decimals_and_amounts_two(client: FlaskClient) -> None:
    data = demo_data()
    import_data(data)

    totals = read_as_admin(client)["totals"]

    cost = total_cost(data)
    main = funder_total(data, lambda code, _group: code == "pic_etat") / cost
    local = funder_total(data, lambda _code, group: group not in ("etat", "ue")) / cost
    assert totals["main_funder_share"] == str(half_up(main, Decimal("0.0001")))
    assert totals["local_cofunding_share"] == str(half_up(local, Decimal("0.0001")))
    assert SHARE.match(totals["main_funder_share"])
    assert SHARE.match(totals["local_cofunding_share"])
    amounts = [
        totals["total_cost"],
        totals["total_resources"],
        totals["cost_per_participant"],
        totals["fte"],
        *(
            amount
            for table in ("by_category", "by_funder")
            for row in totals[table].values()
            for amount in row.values()
        ),
    ]
    assert all(AMOUNT.match(amount) for amount in amounts), amounts
    assert totals["by_category"]["indirects"]["2020"] == str(
        sum((partner_expenses(data, p, "2020")["indirects"] for _i, p in active(data)), Decimal(0))
    )


def test_demo_findings_are_exactly_those_the_format_defines(client: FlaskClient) -> None:
    data = demo_data()
    import_data(data)

    body = read_as_admin(client)

    assert findings_of(body) == expected_findings(data)
    void = [f for f in body["warnings"] if f["code"] == "sign_off_void"]
    assert void == [
        {
            "code": "sign_off_void",
            "message": void[0]["message"],
            "path": "partners[4].sign_off",
            "partner": "plie-sevran",
            "year": None,
        }
    ]
    assert "PLIE de Sevran" in void[0]["message"]
    missing = {f["partner"] for f in body["warnings"] if f["code"] == "sign_off_missing"}
    assert missing == {p["id"] for p in data["partners"] if p["sign_off"] is None}
    # The demo keeps one deliberate error to fix: Initiatives 77's 2022 does not balance.
    assert [(f["code"], f["partner"], f["year"]) for f in body["errors"]] == [
        ("unbalanced_year", "initiatives-77", 2022)
    ]


def test_unbalanced_year_is_an_error_with_its_path_partner_and_year(client: FlaskClient) -> None:
    data = demo_data()
    year = data["partners"][3]["budget"]["2021"]["expenses"]
    year["fonctionnement"] = str(Decimal(year["fonctionnement"]) + Decimal("1234.56"))
    import_data(data)

    body = read_as_admin(client)

    unbalanced = [
        f for f in body["errors"] if f["code"] == "unbalanced_year" and f["partner"] == "mde-aulnay"
    ]
    assert [(f["path"], f["partner"], f["year"]) for f in unbalanced] == [
        ("partners[3].budget.2021", "mde-aulnay", 2021)
    ]
    assert "Aulnay-sous-Bois, 2021" in unbalanced[0]["message"]
    assert re.search(r"il manque 1\s234,56\s€", unbalanced[0]["message"])
    assert next(p for p in body["partners"] if p["id"] == "mde-aulnay")["balanced"] is False
    assert findings_of(body) == expected_findings(data)


def test_withdrawn_partner_leaves_the_totals_and_the_findings(client: FlaskClient) -> None:
    data = demo_data()
    data["partners"][4]["status"] = "withdrawn"
    import_data(data)

    body = read_as_admin(client)

    full = total_cost(demo_data())
    withdrawn_share = total_expenses(data, data["partners"][4])
    assert body["totals"]["total_cost"] == str(full - withdrawn_share)
    sevran = body["partners"][4]
    assert (sevran["id"], sevran["status"], sevran["total_expenses"]) == (
        "plie-sevran",
        "withdrawn",
        str(withdrawn_share),
    )
    assert all(f["partner"] != "plie-sevran" for f in body["errors"] + body["warnings"])
    assert findings_of(body) == expected_findings(data)


# --- who may read -------------------------------------------------------------------------------


def test_bearer_token_from_create_token_reads_without_any_cookie(app: Flask, client: FlaskClient) -> None:
    consortium = make_consortium()
    reader = make_member(consortium, Role.READER)
    token = token_for(app, reader.email)

    response = client.get(URL, headers=bearer(token))

    assert response.status_code == 200
    assert response.get_json()["slug"] == "cap-remob-idf"
    assert client.get_cookie("consortio_session") is None
    assert client.get(URL).status_code == 401  # the token was not turned into a session


@pytest.mark.parametrize("kind", ["revoked", "unknown"])
def test_revoked_or_unknown_token_is_refused_with_401(app: Flask, client: FlaskClient, kind: str) -> None:
    consortium = make_consortium()
    reader = make_member(consortium, Role.READER)
    token = token_for(app, reader.email)
    if kind == "revoked":
        row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == ApiToken.hash(token)))
        assert row is not None
        row.revoked_at = datetime.now(UTC)
    else:
        token = token[:-4] + "XXXX"

    response = client.get(URL, headers=bearer(token))

    assert response.status_code == 401
    assert response.is_json
    assert "Cap Remobilisation" not in response.get_data(as_text=True)


def test_user_without_role_gets_the_same_404_as_for_a_slug_that_does_not_exist(
    app: Flask, client: FlaskClient
) -> None:
    make_consortium()
    other_consortium = make_consortium(slug="autre")
    stranger = make_user("etranger@exemple.fr")
    elsewhere = make_member(other_consortium, Role.COORDINATOR, "urtie-idf")
    login(client, stranger.email)

    hidden = client.get(URL)
    missing = client.get("/api/v1/consortia/n-existe-pas")
    by_token = client.get(URL, headers=bearer(token_for(app, elsewhere.email)))

    assert hidden.status_code == missing.status_code == 404
    assert hidden.get_data() == missing.get_data()
    assert "Cap Remobilisation" not in hidden.get_data(as_text=True)
    assert by_token.status_code == 404


@pytest.mark.parametrize(
    ("role", "partner"),
    [
        (Role.READER, None),
        (Role.CONTRIBUTOR, "plie-sevran"),
        (Role.DIRECTOR, "plie-sevran"),
        (Role.COORDINATOR, "urtie-idf"),
    ],
)
def test_anyone_with_a_role_reads_the_consortium_with_a_session(
    client: FlaskClient, role: Role, partner: str | None
) -> None:
    consortium = make_consortium()
    member = make_member(consortium, role, partner)
    login(client, member.email)

    response = client.get(URL)

    assert response.status_code == 200
    assert response.get_json()["title"] == "Cap Remobilisation Île-de-France"


def test_anonymous_request_gets_401_json(client: FlaskClient) -> None:
    make_consortium()

    response = client.get(URL)

    assert response.status_code == 401
    assert response.get_json()["message"] == "Authentification requise."
