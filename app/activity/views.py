"""The consortium's activity log, read only."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user
from markupsafe import Markup

from app import content_version
from app.activity import services
from app.activity.labels import GROUP_LABELS
from app.consortia.models import Consortium
from app.consortia.services import visible_consortium
from app.pagination import page_argument

# cli_group=None: commands registered here are top-level (`flask --app wsgi <command>`).
bp = Blueprint("activity", __name__, cli_group=None)


@bp.get("/consortia/<slug>/activite")
def feed(slug: str) -> ResponseReturnValue:
    """The activity log, newest first: all of it for the coordination, its own partner's for a member.

    The same for everyone of one scope and filters until the next event or change of content: rendered
    once until then."""
    consortium = visible_consortium(slug, current_user)
    scope = services.feed_scope(current_user, consortium)
    asked = tuple(sorted(request.args.items(multi=True)))
    body, status = content_version.remembered(
        consortium,
        ("activity", services.latest_event_id(consortium), scope, asked),
        lambda: _body(consortium, scope),
    )
    return render_template("activity/feed.html", consortium=consortium, body=body), status


def _body(consortium: Consortium, scope: int | None) -> tuple[Markup, int]:
    filters, errors = services.parse_filters(consortium, request.args, scope=scope)
    page = services.feed(consortium, filters, scope=scope, page=page_argument())
    scoped_partner = next((p for p in consortium.partners if p.id == scope), None)
    query = {key: value for key, value in request.args.items() if key != "page" and value}
    html = render_template(
        "activity/_feed_body.html",
        consortium=consortium,
        page=page,
        filters=filters,
        errors=errors,
        args=request.args,
        query=query,
        scope=scope,
        scoped_partner=scoped_partner,
        partners=consortium.partners,
        people=services.people_choices(consortium, scope),
        groups=GROUP_LABELS,
    )
    return Markup(html), 422 if errors else 200
