"""Configuration classes, all read from the environment.

Development is the default; Test and Production are chosen with `CONSORTIO_CONFIG`
(`development`, `test`, `production`) or passed to `create_app` directly.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import ClassVar

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("CONSORTIO_INSTANCE", BASE_DIR / "instance"))


def _development_secret_key() -> str:
    """Generate the development key once and keep it in instance/, so sessions survive restarts."""
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _int_env(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


class Config:
    """Settings shared by every environment."""

    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'consortio.sqlite3'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS: ClassVar[dict[str, object]] = {"pool_pre_ping": True}
    SECRET_KEY: str | None = os.environ.get("SECRET_KEY")
    REDIS_URL = os.environ.get("REDIS_URL") or None

    # E-mail: SMTP when MAIL_SERVER is set, console otherwise.
    MAIL_SERVER = os.environ.get("MAIL_SERVER") or None
    MAIL_PORT = _int_env("MAIL_PORT", 587)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
    MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "1") == "1"
    MAIL_DEFAULT_SENDER = os.environ.get(
        "MAIL_DEFAULT_SENDER", "Consortio <ne-pas-repondre@consortio.invalid>"
    )

    # Links in e-mails need the public address of the application.
    PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://127.0.0.1:5000")

    BABEL_DEFAULT_LOCALE = "fr"
    BABEL_DEFAULT_TIMEZONE = "Europe/Paris"

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_NAME = "consortio_session"
    PERMANENT_SESSION_LIFETIME = 12 * 3600
    REMEMBER_COOKIE_DURATION = 0
    # CSRF tokens are checked by each form (to re-render what was typed) or by the
    # before-request guard for every other unsafe request; see app/security.py.
    WTF_CSRF_CHECK_DEFAULT = False
    WTF_CSRF_TIME_LIMIT = 8 * 3600

    # Number of reverse proxies in front of the application (0: clients connect directly).
    TRUSTED_PROXIES = _int_env("TRUSTED_PROXIES", 0)

    # Largest annex a partner may upload; a request may carry a little more (the other form fields).
    ANNEX_MAX_BYTES = _int_env("ANNEX_MAX_BYTES", 10 * 1024 * 1024)
    MAX_CONTENT_LENGTH = _int_env("MAX_CONTENT_LENGTH", max(8 * 1024 * 1024, ANNEX_MAX_BYTES + 1024 * 1024))

    # Login throttling (counted in the database, so every worker sees the same counters).
    LOGIN_FAILURES_PER_ACCOUNT = _int_env("LOGIN_FAILURES_PER_ACCOUNT", 5)
    LOGIN_FAILURES_PER_IP = _int_env("LOGIN_FAILURES_PER_IP", 50)
    LOGIN_FAILURE_WINDOW_SECONDS = _int_env("LOGIN_FAILURE_WINDOW_SECONDS", 15 * 60)

    # Dossier PDF: each render runs in a child process bounded in time and memory (beyond what it
    # inherits), and at most this many run at once in a process.
    DOSSIER_RENDER_TIMEOUT = _int_env("DOSSIER_RENDER_TIMEOUT", 180)
    DOSSIER_RENDER_MEMORY_MB = _int_env("DOSSIER_RENDER_MEMORY_MB", 1024)
    DOSSIER_MAX_CONCURRENT_RENDERS = _int_env("DOSSIER_MAX_CONCURRENT_RENDERS", 2)

    # Background jobs (app/jobs.py): an RQ queue when REDIS_URL is set, a thread of this process otherwise.
    JOBS_QUEUE = os.environ.get("JOBS_QUEUE", "consortio")
    JOBS_TIMEOUT = _int_env("JOBS_TIMEOUT", 15 * 60)
    JOBS_SYNCHRONOUS = False  # tests only: run a job at once, in the caller's thread

    DEMO_ALLOWED = True
    TESTING = False
    DEBUG = False


class DevelopmentConfig(Config):
    """Local development: SQLite under instance/, a generated secret key, e-mail on the console."""

    def __init__(self) -> None:
        if not self.SECRET_KEY:
            self.SECRET_KEY = _development_secret_key()


class TestConfig(Config):
    """The test suite: `TEST_DATABASE_URL` or an in-memory-like SQLite file chosen by the tests."""

    TESTING = True
    SECRET_KEY = "test-secret-key-not-for-production"
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    PUBLIC_URL = "http://localhost"
    # Hashing with scrypt's defaults costs ~50 ms a password; tests hash hundreds.
    PASSWORD_METHOD = "scrypt:1024:8:1"


class ProductionConfig(Config):
    """Production: every secret comes from the environment; insecure settings refuse to start."""

    DEMO_ALLOWED = False
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"

    def __init__(self) -> None:
        if not self.SECRET_KEY or len(self.SECRET_KEY) < 32:
            raise RuntimeError("SECRET_KEY must be set (at least 32 characters) in production.")
        if os.environ.get("FLASK_DEBUG", "0") not in ("", "0"):
            raise RuntimeError("Debug mode is refused in production.")
        if "DATABASE_URL" not in os.environ:
            raise RuntimeError("DATABASE_URL must be set in production.")


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "test": TestConfig,
    "production": ProductionConfig,
}


def config_from_environment() -> Config:
    """The configuration named by CONSORTIO_CONFIG (development by default)."""
    name = os.environ.get("CONSORTIO_CONFIG", "development")
    try:
        return CONFIGS[name]()
    except KeyError:
        raise RuntimeError(f"Unknown CONSORTIO_CONFIG {name!r}: use one of {', '.join(CONFIGS)}.") from None
