"""The sections blueprint: writing (editing_views), history (history_views) and the plan (plan_views)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("sections", __name__)
