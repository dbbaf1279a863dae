"""The consortium overview: partners, consolidated figures, errors and warnings."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app.budget.calculations import Consolidation
from app.budget.models import FUNDER_GROUP_LABELS
from app.budget.services import consolidation_of
from app.consortia.models import Consortium
from app.consortia.services import visible_consortium
from app.permissions import can_export_consortium
from app.sections.editing import section_summary

bp = Blueprint("budget", __name__)


@bp.app_context_processor
def _consortium_totals() -> dict[str, Any]:
    # The header of every consortium page shows the errors/warnings badge, whichever feature
    # renders the page: lower features' templates call this without importing budget.
    def consortium_totals(consortium: Consortium) -> Consolidation:
        return consolidation_of(consortium).consolidation

    return {"consortium_totals": consortium_totals}


@bp.get("/consortia/<slug>")
def overview(slug: str) -> ResponseReturnValue:
    """Vue d'ensemble: who is in, what it costs, whether it adds up."""
    consortium = visible_consortium(slug, current_user)
    state = consolidation_of(consortium)
    partners = {partner.code: partner for partner in state.data.partners}
    return render_template(
        "budget/overview.html",
        consortium=consortium,
        state=state,
        totals=state.consolidation,
        partners=partners,
        group_labels=FUNDER_GROUP_LABELS,
        can_export=can_export_consortium(current_user, consortium),
        summary=section_summary(consortium),
    )
