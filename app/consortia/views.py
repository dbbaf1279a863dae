"""Pages listing the consortia of the logged-in person."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app.consortia.models import ROLE_LABELS
from app.consortia.services import consortia_of

bp = Blueprint("consortia", __name__)


@bp.get("/")
def index() -> ResponseReturnValue:
    """Mes consortiums: every consortium the person takes part in, with their role."""
    rows = consortia_of(current_user)
    return render_template("consortia/index.html", rows=rows, role_labels=ROLE_LABELS)
