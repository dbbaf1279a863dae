"""Accounts: creation, passwords, authentication with throttling, API tokens."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import cache

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import delete, func, select
from werkzeug.security import check_password_hash, generate_password_hash

from app.auth.models import ApiToken, LoginFailure, User, normalise_email
from app.errors import DomainError, Invalid
from app.extensions import db

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024  # the login form accepts no more: a longer one could never be typed in
_EMAIL = re.compile(r"\A[^@\s]+@[^@\s]+\.[^@\s]+\Z")


class LoginRefused(DomainError):
    """Wrong e-mail or password: one message for both, so nobody learns which accounts exist."""

    status_code = 200


class Throttled(DomainError):
    """Too many failures: wait before trying again (HTTP 429)."""

    status_code = 429


def _password_method() -> str:
    return str(current_app.config.get("PASSWORD_METHOD", "scrypt"))


def hash_password(password: str) -> str:
    """A salted scrypt hash of the password."""
    return generate_password_hash(password, method=_password_method())


@cache
def _dummy_hash(method: str) -> str:
    # Checked against when the account does not exist, so both cases take the same time.
    return generate_password_hash("not a password of anyone", method=method)


def check_new_password(password: str) -> None:
    """Refuse passwords too short to resist guessing."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(_("Le mot de passe doit compter au moins %(n)d caractères.", n=MIN_PASSWORD_LENGTH))
    if len(password) > MAX_PASSWORD_LENGTH:
        raise Invalid(_("Le mot de passe doit compter au plus %(n)d caractères.", n=MAX_PASSWORD_LENGTH))


def check_email(email: str) -> str:
    """The normalised address, or an error if it does not look like one."""
    normalised = normalise_email(email)
    if not _EMAIL.match(normalised) or len(normalised) > 254:
        raise Invalid(_("Adresse e-mail invalide : %(email)s", email=email))
    return normalised


def find_user(email: str) -> User | None:
    """The account with this address, whatever its case."""
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def create_user(email: str, *, name: str, password: str | None, is_admin: bool = False) -> User:
    """A new account; the address must be free and the password long enough."""
    address = check_email(email)
    name = name.strip()
    if not name:
        raise Invalid(_("Le nom est obligatoire."))
    if find_user(address) is not None:
        raise Invalid(_("Un compte existe déjà avec l'adresse %(email)s.", email=address))
    user = User(email=address, name=name, is_admin=is_admin)
    if password is not None:
        check_new_password(password)
        user.password_hash = hash_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def set_password(user: User, password: str) -> None:
    """Change the password and end every other session of the user."""
    check_new_password(password)
    user.password_hash = hash_password(password)
    user.session_epoch += 1


def _window_start(now: datetime) -> datetime:
    return now - timedelta(seconds=current_app.config["LOGIN_FAILURE_WINDOW_SECONDS"])


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _delay(seconds: float) -> str:
    """`45 secondes`, `3 minutes`: rounded up, so that trying again then works."""
    whole = max(1, math.ceil(seconds))
    if whole < 60:
        return ngettext("%(num)d seconde", "%(num)d secondes", whole)
    return ngettext("%(num)d minute", "%(num)d minutes", math.ceil(whole / 60))


def _throttle(email: str, ip: str, now: datetime) -> None:
    """Raise Throttled, saying how long to wait, when this address or this account failed too often lately."""
    window = current_app.config["LOGIN_FAILURE_WINDOW_SECONDS"]
    since = _window_start(now)
    per_ip = current_app.config["LOGIN_FAILURES_PER_IP"]
    ip_failures = db.session.scalar(
        select(func.count()).select_from(LoginFailure).where(LoginFailure.ip == ip, LoginFailure.at >= since)
    )
    if ip_failures is not None and ip_failures >= per_ip:
        # Free again once enough of these failures have left the window to fall under the limit.
        freeing = db.session.scalar(
            select(LoginFailure.at)
            .where(LoginFailure.ip == ip, LoginFailure.at >= since)
            .order_by(LoginFailure.at)
            .offset(ip_failures - per_ip)
            .limit(1)
        )
        remaining = (_aware(freeing) + timedelta(seconds=window) - now).total_seconds() if freeing else window
        raise Throttled(
            _(
                "Trop de tentatives de connexion depuis votre réseau. Réessayez dans %(delay)s.",
                delay=_delay(remaining),
            )
        )
    count, last = db.session.execute(
        select(func.count(), func.max(LoginFailure.at)).where(
            LoginFailure.email == email, LoginFailure.at >= since
        )
    ).one()
    allowed = current_app.config["LOGIN_FAILURES_PER_ACCOUNT"]
    if count < allowed or last is None:
        return
    # Progressive: 30 s after the limit, doubling with each further failure, at most the window.
    wait = min(30 * 2 ** min(count - allowed, 32), window)
    remaining = (_aware(last) + timedelta(seconds=wait) - now).total_seconds()
    if remaining > 0:
        raise Throttled(
            _(
                "Trop de tentatives pour ce compte. Réessayez dans %(delay)s, "
                "ou demandez à la coordination de réinitialiser votre mot de passe.",
                delay=_delay(remaining),
            )
        )


def authenticate(email: str, password: str, *, ip: str) -> User:
    """The user whose credentials these are; records failures and throttles guessing."""
    address = normalise_email(email)[:254]
    now = datetime.now(UTC)
    _throttle(address, ip, now)
    user = find_user(address) if address else None
    stored = user.password_hash if user is not None and user.password_hash else None
    valid = check_password_hash(stored or _dummy_hash(_password_method()), password)
    if user is None or stored is None or not valid or not user.active:
        db.session.add(LoginFailure(email=address, ip=ip[:64], at=now))
        db.session.flush()
        raise LoginRefused(_("Adresse e-mail ou mot de passe incorrect."))
    db.session.execute(delete(LoginFailure).where(LoginFailure.email == address))
    return user


def logout(user: User) -> None:
    """End the session everywhere: copies of the cookie stop working."""
    user.session_epoch += 1


def deactivate(user: User) -> None:
    """Lock the account out and end its sessions."""
    user.active = False
    user.session_epoch += 1


def create_token(user: User, label: str = "") -> str:
    """A new API token for the user; returned once, stored hashed."""
    token = ApiToken.generate()
    db.session.add(ApiToken(user=user, token_hash=ApiToken.hash(token), label=label))
    db.session.flush()
    return token


def revoke_token(token: ApiToken) -> None:
    """Stop a token from working; the row stays, for the record."""
    if token.revoked_at is None:
        token.revoked_at = datetime.now(UTC)
    db.session.flush()


def people_names(ids: Sequence[int | None]) -> dict[int, str]:
    """The names of the given accounts, by id (who invited, who accepted)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(db.session.execute(select(User.id, User.name).where(User.id.in_(wanted))).all())
