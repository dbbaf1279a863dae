"""Test fixtures: one application per run on SQLite or PostgreSQL, a clean database for every test."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError
from werkzeug.test import TestResponse

from app import create_app
from app.extensions import db
from config import TestConfig

# No per-example deadline: on a busy two-core machine a slow example is not a failure.
settings.register_profile("consortio", deadline=None)
settings.load_profile("consortio")


def database_url(tmp_dir: Path) -> str:
    """PostgreSQL when TEST_DATABASE_URL is set, else a SQLite file (several connections share it)."""
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_dir / 'test.sqlite3'}"


def reset_schema() -> None:
    """An empty database with exactly the models' tables."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    else:
        db.drop_all()
        with db.engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    db.create_all()


def empty_tables() -> None:
    """Remove every row, keeping the schema (faster than recreating it for each test)."""
    for attempt in range(5):
        try:
            _empty_tables()
            return
        except OperationalError:
            # A request of the live server that outlived its test can deadlock with TRUNCATE.
            if attempt == 4:
                raise
            time.sleep(0.5)


def _empty_tables() -> None:
    tables = list(reversed(db.metadata.sorted_tables))
    with db.engine.begin() as connection:
        if db.engine.dialect.name == "postgresql":
            names = ", ".join(f'"{table.name}"' for table in tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            connection.execute(text("PRAGMA foreign_keys=OFF"))
            for table in tables:
                connection.execute(table.delete())
            connection.execute(text("PRAGMA foreign_keys=ON"))


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """The application under test, with a fresh schema."""

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = database_url(tmp_path_factory.mktemp("db"))

    application = create_app(Config)
    with application.app_context():
        reset_schema()
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _database(app: Flask) -> Iterator[None]:
    """Each test runs in an app context and leaves no row behind."""
    with app.app_context():
        yield
        db.session.rollback()
        db.session.remove()
        empty_tables()


class RequestClient(FlaskClient):
    """Each request runs in its own application context, as in production (its own session and `g`).

    The test's pending work is committed first, as a previous request would have done, so the
    request sees it and no transaction of the test holds SQLite's write lock.
    """

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        db.session.commit()
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A browser-like client keeping cookies."""
    app.test_client_class = RequestClient
    return app.test_client()


class QueryCounter:
    """Counts the SQL statements run while active."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, conn: object, cursor: object, statement: str, *args: object) -> None:
        if not statement.startswith(("PRAGMA", "BEGIN", "SAVEPOINT", "RELEASE")):
            self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(app: Flask) -> Iterator[QueryCounter]:
    """Count the SQL statements of a block: `with` not needed, reset `.statements` between phases."""
    counter = QueryCounter()
    event.listen(db.engine, "before_cursor_execute", counter)
    yield counter
    event.remove(db.engine, "before_cursor_execute", counter)


def without_csrf(page: str) -> str:
    """The page without its CSRF tokens, which carry a timestamp: two pages a second apart differ there."""
    page = re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token"', page)
    return re.sub(r'name="csrf-token" content="[^"]*"', 'name="csrf-token"', page)
