"""French error pages (and JSON errors under /api/)."""

from __future__ import annotations

from flask import Flask, current_app, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.audit import EventKind, record_event
from app.errors import DomainError
from app.extensions import db

TITLES = {
    400: "Requête invalide",
    401: "Connexion requise",
    403: "Accès refusé",
    404: "Page introuvable",
    405: "Action impossible",
    409: "Modification concurrente",
    413: "Envoi trop volumineux",
    422: "Saisie refusée",
    429: "Trop de tentatives",
    500: "Erreur inattendue",
    503: "Service momentanément indisponible",
}

EXPLANATIONS = {
    400: "La demande n'a pas pu être traitée. Rechargez la page et réessayez.",
    401: "Connectez-vous pour continuer.",
    403: "Votre rôle dans ce consortium ne permet pas cette action.",
    404: "Cette page n'existe pas, ou vous n'y avez pas accès.",
    405: "Cette action n'est pas possible à cette adresse.",
    413: "Le fichier ou le texte envoyé dépasse la taille autorisée.",
    429: "Patientez quelques minutes avant de réessayer.",
    500: "Une erreur inattendue s'est produite. L'équipe technique est prévenue ; réessayez dans un instant.",
    503: "La base de données n'a pas répondu : rien n'a été enregistré. Réessayez dans un instant.",
}


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def error_response(status: int, message: str | None = None) -> ResponseReturnValue:
    """An error as a French page, or as JSON for the API."""
    title = _(TITLES.get(status, "Erreur"))
    text = message or _(EXPLANATIONS.get(status, "Une erreur s'est produite."))
    if _wants_json():
        return jsonify(error=status, title=title, message=text), status
    return render_template("errors/error.html", status=status, title=title, message=text), status


def _http_error(error: HTTPException) -> ResponseReturnValue:
    status = error.code or 500
    # abort(400, "…") carries our own French description; werkzeug's defaults are English.
    custom = error.description if error.description != type(error).description else None
    return error_response(status, custom)


def _csrf_error(error: CSRFError) -> ResponseReturnValue:
    # Flask-WTF's reasons are English ("The CSRF token is missing."): say it in French.
    return error_response(
        400,
        _(
            "Le formulaire a expiré ou ne vient pas de Consortio : rien n'a été enregistré. "
            "Rechargez la page et recommencez."
        ),
    )


def _domain_error(error: DomainError) -> ResponseReturnValue:
    db.session.rollback()
    denied = getattr(error, "denied", None)
    if denied:
        # Someone reached for a consortium that is not theirs: keep a trace, answer as for nothing.
        data = dict(denied)
        record_event(
            EventKind.ACCESS_DENIED,
            actor_id=data.pop("actor_id"),
            consortium_id=data.pop("consortium_id"),
            path=request.path,
            **data,
        )
        db.session.commit()
    return error_response(error.status_code, str(error))


def _database_unavailable(error: OperationalError) -> ResponseReturnValue:
    # Handled here, so Flask does not log it: the team must still hear of it.
    current_app.logger.error("Base de données indisponible : %s", error, exc_info=error)
    db.session.rollback()
    return error_response(503)


def _unexpected(error: InternalServerError) -> ResponseReturnValue:
    # Flask has already logged the original exception (unlike a handler for `Exception`, which would
    # swallow it); with TESTING or DEBUG the exception propagates instead of reaching this page.
    db.session.rollback()
    return error_response(500)


def init_app(app: Flask) -> None:
    """Register the handlers."""
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(OperationalError, _database_unavailable)
    app.register_error_handler(InternalServerError, _unexpected)
