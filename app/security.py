"""Request guards: authentication by default, CSRF and origin checks, sessions, security headers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, flash, g, jsonify, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from app.auth.models import ApiToken, User
from app.extensions import csrf, db, login_manager

F = TypeVar("F", bound=Callable[..., Any])

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def public(view: F) -> F:
    """Declare a view reachable without logging in (every other view requires a login)."""
    view.is_public = True  # type: ignore[attr-defined]
    return view


def checks_csrf_in_form(view: F) -> F:
    """Declare that the view's FlaskForm checks the CSRF token, to re-render what was typed if it fails."""
    view.checks_csrf_in_form = True  # type: ignore[attr-defined]
    return view


def token_authenticated(view: F) -> F:
    """Declare an API view that also accepts `Authorization: Bearer <token>` (no cookie, no CSRF)."""
    view.token_authenticated = True  # type: ignore[attr-defined]
    return view


def _view_flag(name: str) -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, name, False))


def is_safe_next(target: str | None) -> bool:
    """Only a local absolute path may be a redirect target (`next=`)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc and all(ord(c) >= 32 for c in target)


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """Load the user named by the session, only if its epoch is still the user's current one."""
    user_id, _sep, epoch = session_id.partition(":")
    if not user_id.isdecimal() or not epoch.isdecimal():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_epoch != int(epoch):
        return None
    return user


@login_manager.request_loader
def load_user_from_token(req: Any) -> User | None:
    """API views accept a bearer token; pages never do."""
    header = req.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or not _view_flag("token_authenticated"):
        return None
    token = header.removeprefix("Bearer ").strip()
    row = db.session.scalar(
        select(ApiToken).where(ApiToken.token_hash == ApiToken.hash(token), ApiToken.revoked_at.is_(None))
    )
    if row is None or not row.user.active:
        return None
    g.authenticated_by_token = True
    return row.user


def _contains_nul(fields: MultiDict[str, str]) -> bool:
    # Every value of a repeated field, and the names too: `values()` would only see the first value.
    return any("\x00" in key or any("\x00" in value for value in values) for key, values in fields.lists())


def _guard_request() -> ResponseReturnValue | None:
    """Run before every view: reject NUL bytes, foreign origins, missing tokens and anonymous access."""
    if request.endpoint is None or request.endpoint == "static":
        return None
    # PostgreSQL refuses NUL in text and SQLite would store it: refuse it on both, at the door.
    if _contains_nul(request.args) or _contains_nul(request.form) or "\x00" in request.path:
        abort(400, _("La requête contient un caractère nul, refusé."))

    # Only a token that actually authenticated the request exempts it from the origin and CSRF checks.
    by_token = current_user.is_authenticated and bool(g.get("authenticated_by_token"))
    if request.method in UNSAFE_METHODS and not by_token:
        origin = request.headers.get("Origin")
        if origin and origin != "null" and urlsplit(origin).netloc != request.host:
            abort(400, _("Requête refusée : elle ne vient pas de Consortio."))
        if not _view_flag("checks_csrf_in_form"):
            csrf.protect()

    if _view_flag("is_public") or current_user.is_authenticated:
        return None
    # A script (API, or a bearer token on a download) gets a 401, never the login page.
    scripted = request.headers.get("Authorization", "").startswith("Bearer ")
    if request.blueprint == "api" or request.path.startswith("/api/") or scripted:
        response = jsonify(error=401, title=_("Connexion requise"), message=_("Authentification requise."))
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer realm="Consortio"'
        return response
    if request.method in ("GET", "HEAD"):
        flash(_("Connectez-vous pour accéder à cette page."), "info")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    # A form sent after the session ended: back to the login page (303, so the browser GETs it).
    flash(_("Votre session a pris fin : connectez-vous puis recommencez."), "info")
    return redirect(url_for("auth.login"), 303)


def _security_headers(response: Response) -> Response:
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response


def start_session(user: User) -> None:
    """Log a user in on a fresh session (no fixation) and note the time."""
    from flask_login import login_user

    session.clear()
    login_user(user)
    session.permanent = True
    user.last_login_at = datetime.now(UTC)


def init_app(app: Flask) -> None:
    """Install the guards on the application."""
    login_manager.login_view = "auth.login"
    login_manager.session_protection = None  # the epoch does the job without breaking mobile networks
    app.before_request(_guard_request)
    app.after_request(_security_headers)
