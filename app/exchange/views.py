"""Download of the exchange document."""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from app.audit import EventKind, record_event
from app.consortia.services import visible_consortium
from app.errors import NotAllowed
from app.exchange.exporter import export_document
from app.exchange.serialisation import dumps
from app.extensions import db
from app.permissions import can_export_consortium
from app.security import token_authenticated
from app.storage import download_response

bp = Blueprint("exchange", __name__)


def exported_document(slug: str) -> str:
    """The consortium's exchange document for the person asking (coordinators and admins), logged."""
    consortium = visible_consortium(slug, current_user)
    if not can_export_consortium(current_user, consortium):
        raise NotAllowed(_("Seule la coordination peut exporter le fichier d’échange."))
    text = dumps(export_document(consortium))
    record_event(
        EventKind.CONSORTIUM_EXPORTED, actor_id=current_user.id, consortium_id=consortium.id, format="json"
    )
    db.session.commit()
    return text


@bp.get("/consortia/<slug>/export.json")
@token_authenticated
def export_json(slug: str) -> ResponseReturnValue:
    """The consortium's exchange document, as a download; a script may use its API token."""
    return download_response(exported_document(slug), f"{slug}.json", "application/json")
