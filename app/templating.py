"""Template filters and globals: French formatting of money, numbers, dates and shares."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from flask import Flask, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from app.money import format_eur, format_number, format_share
from app.permissions import (
    can_manage_consortium,
    can_view_activity,
    can_view_invitations,
    can_view_outbox,
)

if TYPE_CHECKING:
    from app.consortia.models import Consortium

PARIS = ZoneInfo("Europe/Paris")


def paris_today() -> date:
    """Today's date in Paris, the day deadlines are counted in."""
    return datetime.now(PARIS).date()


def paris_midnight(day: date) -> datetime:
    """The instant (UTC) a day begins in Paris: the bound of "that day" for times stored in UTC."""
    return datetime.combine(day, time(0), tzinfo=PARIS).astimezone(UTC)


def french_date(value: date | None) -> str:
    """`3 septembre 2019`, `1er septembre 2019`."""
    if value is None:
        return ""
    text = format_date(value, format="long", locale="fr_FR")
    return "1er" + text[1:] if value.day == 1 else text


def french_datetime(value: datetime | None) -> str:
    """`20 août 2019 à 10:00`, in Paris time."""
    if value is None:
        return ""
    return format_datetime(value.astimezone(PARIS), "d MMMM y 'à' HH:mm", locale="fr_FR")


def french_integer(value: int | None) -> str:
    """`1 234` with a narrow no-break space."""
    return "" if value is None else f"{value:,}".replace(",", "\u202f")


def french_decimal(value: Decimal | None) -> str:
    """An FTE or ratio with two decimals: `1,50`."""
    return "—" if value is None else format_number(value)


def consortium_tabs(consortium: Consortium) -> Markup:
    """The tabs of a consortium's pages for this page and this person's rights."""
    return _tabs(
        consortium.slug,
        request.endpoint,
        request.blueprint,
        request.script_root,
        can_view_activity(current_user, consortium),
        can_view_invitations(current_user, consortium),
        can_manage_consortium(current_user, consortium),
    )


@lru_cache(maxsize=1024)
def _tabs(
    slug: str,
    endpoint: str | None,
    blueprint: str | None,
    _script_root: str,  # in the key: the links' prefix
    shows_activity: bool,
    shows_invitations: bool,
    shows_coordination: bool,
) -> Markup:
    # The same for every page of one endpoint and every person of the same rights: rendered once.
    return Markup(
        render_template(
            "consortia/_tabs.html",
            slug=slug,
            endpoint_here=endpoint,
            blueprint_here=blueprint,
            shows_activity=shows_activity,
            shows_invitations=shows_invitations,
            shows_coordination=shows_coordination,
        )
    )


def static_url(filename: str) -> str:
    """The address of a static file (the same for every page: built once per prefix)."""
    return _static_url(request.script_root, filename)


@lru_cache(maxsize=256)
def _static_url(_script_root: str, filename: str) -> str:
    return url_for("static", filename=filename)


def init_app(app: Flask) -> None:
    """Register the filters."""
    app.jinja_env.filters.update(
        eur=format_eur,
        share=format_share,
        date_fr=french_date,
        datetime_fr=french_datetime,
        integer=french_integer,
        decimal_fr=french_decimal,
    )
    app.jinja_env.globals["csrf_token"] = generate_csrf
    app.jinja_env.globals["consortium_tabs"] = consortium_tabs
    app.jinja_env.globals["static_url"] = static_url
    # Navigation shows each person the pages their role opens (coordination pages to coordinators).
    app.jinja_env.globals["may_coordinate"] = lambda consortium: can_manage_consortium(
        current_user, consortium
    )
    app.jinja_env.globals["may_invite"] = lambda consortium: can_view_invitations(current_user, consortium)
    app.jinja_env.globals["may_view_outbox"] = lambda: can_view_outbox(current_user)
    app.jinja_env.globals["may_view_activity"] = lambda consortium: can_view_activity(
        current_user, consortium
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
