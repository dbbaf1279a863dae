"""The JSON API (/api/v1): the same services as the pages, authenticated by session or bearer token."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask import Blueprint, Response, jsonify
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app.budget.calculations import Finding
from app.budget.services import totals_of
from app.consortia.services import visible_consortium
from app.exchange.views import exported_document
from app.money import format_json_amount
from app.security import token_authenticated

bp = Blueprint("api", __name__, url_prefix="/api/v1")

SHARE = Decimal("0.0001")


def _share(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(SHARE, ROUND_HALF_UP))


def _amount(value: Decimal | None) -> str | None:
    return None if value is None else format_json_amount(value)


def _finding(finding: Finding) -> dict[str, Any]:
    return {
        "code": finding.code,
        "message": finding.message,
        "path": finding.path,
        "partner": finding.partner,
        "year": finding.year,
    }


@bp.get("/consortia/<slug>")
@token_authenticated
def consortium(slug: str) -> ResponseReturnValue:
    """A consortium's partners, consolidated totals, errors and warnings."""
    found = visible_consortium(slug, current_user)
    totals = totals_of(found)
    return jsonify(
        {
            "slug": found.slug,
            "title": found.title,
            "partners": [
                {
                    "id": partner.id,
                    "name": partner.name,
                    "status": "active" if partner.active else "withdrawn",
                    "total_expenses": _amount(partner.total_expenses),
                    "total_resources": _amount(partner.total_resources),
                    "balanced": partner.balanced,
                }
                for partner in totals.partners
            ],
            "totals": {
                "total_cost": _amount(totals.total_cost),
                "total_resources": _amount(totals.total_resources),
                "by_category": {
                    code: {str(year): _amount(amount) for year, amount in years.items()}
                    for code, years in totals.by_category.items()
                },
                "by_funder": {
                    code: {str(year): _amount(amount) for year, amount in years.items()}
                    for code, years in totals.by_funder.items()
                },
                "participants": totals.participants,
                "cost_per_participant": _amount(totals.cost_per_participant),
                "main_funder_share": _share(totals.main_funder_share),
                "local_cofunding_share": _share(totals.local_cofunding_share),
                "fte": _amount(totals.fte),
            },
            "errors": [_finding(finding) for finding in totals.errors],
            "warnings": [_finding(finding) for finding in totals.warnings],
        }
    )


@bp.get("/consortia/<slug>/export")
@token_authenticated
def export(slug: str) -> ResponseReturnValue:
    """The consortium's exchange document (coordinators and admins), as `export.json` gives it."""
    response = Response(exported_document(slug), mimetype="application/json")
    response.headers["Cache-Control"] = "private, no-store"
    return response
