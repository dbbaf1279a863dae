"""The consortium overview, its home page: partners, consolidated figures, errors and warnings, the
writing summary and, for a partner's people, what it still owes (a coordination context processor)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app.budget.models import FUNDER_GROUP_LABELS
from app.budget.services import consolidation_of
from app.consortia.services import visible_consortium
from app.permissions import can_export_consortium
from app.sections.summary import section_summary

bp = Blueprint("overview", __name__)


@bp.get("/consortia/<slug>")
def index(slug: str) -> ResponseReturnValue:
    """Vue d'ensemble: who is in, what it costs, whether it adds up."""
    consortium = visible_consortium(slug, current_user)
    state = consolidation_of(consortium)
    partners = {partner.code: partner for partner in state.data.partners}
    return render_template(
        "overview/index.html",
        consortium=consortium,
        state=state,
        totals=state.consolidation,
        partners=partners,
        group_labels=FUNDER_GROUP_LABELS,
        can_export=can_export_consortium(current_user, consortium),
        summary=section_summary(consortium),
    )
