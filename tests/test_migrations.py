"""Migrations: from an empty database they build exactly the models' schema, in one line of history.

Each test gets its own empty database, never the suite's: a temporary SQLite file, or on
PostgreSQL (TEST_DATABASE_URL) a schema of its own, dropped afterwards, so the shared `test`
database keeps its tables, empty, and gets no alembic_version table.
"""

from __future__ import annotations

import logging.config
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import flask_migrate
import pytest
from alembic.autogenerate import produce_migrations, render_python_code
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask, current_app
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from app import create_app
from app.consortia.models import Consortium
from app.extensions import db
from config import TestConfig
from tests.factories import make_consortium

VERSION_TABLE = "alembic_version"


@pytest.fixture(autouse=True)
def _logging_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """migrations/env.py calls logging.config.fileConfig, which would disable every existing logger
    and replace the root handlers for the rest of the run; logging has no part in the schema."""
    monkeypatch.setattr(logging.config, "fileConfig", lambda *args, **kwargs: None)


@contextmanager
def _sqlite_file(tmp_path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}", {}


@contextmanager
def _postgres_schema(url: str, suite_app: Flask) -> Iterator[tuple[str, dict[str, Any]]]:
    """A schema of its own in the test database, alone in the search path, dropped afterwards."""
    schema = f"migrations_{uuid.uuid4().hex[:12]}"
    admin = create_engine(make_url(url))
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield url, {"connect_args": {"options": f"-c search_path={schema}"}}
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    # The rest of the suite shares the public schema: it must hold every model table and nothing else.
    with suite_app.app_context():
        tables = set(inspect(db.engine).get_table_names())
    assert tables == set(db.metadata.tables), "les migrations ont modifié le schéma partagé des tests"


@pytest.fixture
def empty_app(tmp_path: Path, app: Flask) -> Iterator[Flask]:
    """An application of its own on an empty database (never the suite's), in its app context."""
    postgres_url = os.environ.get("TEST_DATABASE_URL")
    database = _postgres_schema(postgres_url, app) if postgres_url else _sqlite_file(tmp_path)
    with database as (url, engine_options):
        options = {**TestConfig.SQLALCHEMY_ENGINE_OPTIONS, **engine_options}

        class Config(TestConfig):
            SQLALCHEMY_DATABASE_URI = url
            SQLALCHEMY_ENGINE_OPTIONS = options

        application = create_app(Config)
        with application.app_context():
            try:
                assert inspect(db.engine).get_table_names() == [], "la base des migrations n'est pas vide"
                yield application
            finally:
                db.session.remove()
                db.engine.dispose()  # before the schema is dropped: no pooled connection left


def missing_migration() -> str:
    """The migration `flask db migrate` would write to bring the database to the models ("" if none)."""
    configure_args = current_app.extensions["migrate"].configure_args
    options = {"compare_type": True, **{k: v for k, v in configure_args.items() if k.startswith("compare_")}}
    with db.engine.connect() as connection:
        script = produce_migrations(MigrationContext.configure(connection, opts=options), db.metadata)
    assert script.upgrade_ops is not None
    return "" if script.upgrade_ops.is_empty() else render_python_code(script.upgrade_ops)


def model_tables() -> set[str]:
    return set(inspect(db.engine).get_table_names()) - {VERSION_TABLE}


def current_revision() -> str | None:
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def script_directory() -> ScriptDirectory:
    migrate = current_app.extensions["migrate"].migrate
    return ScriptDirectory.from_config(migrate.get_config())


def test_upgrade_of_an_empty_database_gives_exactly_the_models_schema(empty_app: Flask) -> None:
    flask_migrate.upgrade()

    assert model_tables() == set(db.metadata.tables)
    differences = missing_migration()
    assert not differences, f"le schéma des migrations diffère des modèles :\n{differences}"
    assert current_revision() == script_directory().get_current_head()


def test_migrations_form_a_single_line_of_history() -> None:
    script = script_directory()
    heads = script.get_heads()

    assert len(heads) == 1, f"plusieurs têtes de migration ({', '.join(heads)}) : fusionnez-les"
    assert len(script.get_bases()) == 1
    for revision in script.walk_revisions():
        assert (revision.doc or "").strip(), f"la migration {revision.revision} n'a pas de message"


def test_downgrade_to_base_then_upgrade_again_rebuilds_the_same_schema(empty_app: Flask) -> None:
    flask_migrate.upgrade()

    flask_migrate.downgrade(revision="base")
    assert model_tables() == set()
    assert current_revision() is None

    flask_migrate.upgrade()
    differences = missing_migration()
    assert not differences, f"le schéma diffère des modèles après downgrade puis upgrade :\n{differences}"
    assert current_revision() == script_directory().get_current_head()


def test_every_migration_steps_down_and_up_again_with_a_consortium_in_the_database(empty_app: Flask) -> None:
    """Existing installations upgrade with their data in place (SQLite rebuilds tables to alter them)."""
    flask_migrate.upgrade()
    consortium = make_consortium()
    slug, partners = consortium.slug, len(consortium.partners)
    db.session.remove()

    revisions = [revision.revision for revision in script_directory().walk_revisions()]  # newest first
    for target in revisions[1:]:
        flask_migrate.downgrade(revision=target)
    for _step in revisions[1:]:
        flask_migrate.upgrade(revision="+1")

    assert current_revision() == script_directory().get_current_head()
    again = db.session.scalar(select(Consortium).where(Consortium.slug == slug))
    assert again is not None
    assert len(again.partners) == partners
