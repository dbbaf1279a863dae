"""The consortium overview, its home page: partners, consolidated figures, errors and warnings, the
writing summary and, for a partner's people, what it still owes (a coordination context processor)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user
from markupsafe import Markup

from app import content_version
from app.budget.models import FUNDER_GROUP_LABELS
from app.budget.services import consolidation_of
from app.consortia.models import Consortium
from app.consortia.services import visible_consortium
from app.permissions import can_export_consortium
from app.sections.summary import summary_table
from app.templating import paris_today

bp = Blueprint("overview", __name__)


@bp.get("/consortia/<slug>")
def index(slug: str) -> ResponseReturnValue:
    """Vue d'ensemble: who is in, what it costs, whether it adds up."""
    consortium = visible_consortium(slug, current_user)
    can_export = can_export_consortium(current_user, consortium)
    figures, members_and_plan = content_version.remembered(
        consortium, ("overview", paris_today(), can_export), lambda: _figures(consortium, can_export)
    )
    return render_template(
        "overview/index.html",
        consortium=consortium,
        figures=figures,
        members_and_plan=members_and_plan,
        summary_table=summary_table(consortium),
    )


def _figures(consortium: Consortium, can_export: bool) -> tuple[Markup, Markup]:
    """The overview's parts that show the consortium's figures, the same for whoever may see them."""
    state = consolidation_of(consortium)
    context = {
        "consortium": consortium,
        "state": state,
        "totals": state.consolidation,
        "partners": {partner.code: partner for partner in state.data.partners},
        "group_labels": FUNDER_GROUP_LABELS,
        "can_export": can_export,
    }
    return (
        Markup(render_template("overview/_figures.html", **context)),
        Markup(render_template("overview/_members_and_plan.html", **context)),
    )
