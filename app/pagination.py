"""The page number a list page was asked for: `?page=N`, anything odd reading as the first page."""

from __future__ import annotations

from flask import request

MAX_PAGE = 99_999


def page_argument() -> int:
    """The `page` query argument, 1 when absent, not a plain number, zero or absurdly large."""
    text = request.args.get("page", "1")
    return int(text) if text.isdecimal() and len(text) <= len(str(MAX_PAGE)) and int(text) >= 1 else 1
