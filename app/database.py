"""The declarative base, column types shared by every model, and connection settings."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from flask import has_request_context, request
from sqlalchemy import BigInteger, DateTime, Dialect, Enum, MetaData, String, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from app.money import from_cents, to_cents

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every model: one metadata with a naming convention, so migrations name constraints."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def stored_enum(cls: type[enum.Enum]) -> Enum:
    """Store an enum by value, as a plain string column (no native enum type to migrate)."""
    return Enum(cls, values_callable=lambda c: [m.value for m in c], native_enum=False, length=32)


def utcnow() -> datetime:
    """The current time, aware, in UTC (used as a column default: called per row, not at import)."""
    return datetime.now(UTC)


class Money(TypeDecorator[Decimal]):
    """Euros as integer cents in the database, `Decimal` with two decimals in Python.

    Identical on SQLite and PostgreSQL: SQLite would store NUMERIC as a float.
    Also used for FTE, which the exchange format fixes to two decimals too.
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> int | None:
        return None if value is None else to_cents(Decimal(value))

    def process_result_value(self, value: int | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else from_cents(int(value))


class DecimalText(TypeDecorator[Decimal]):
    """A rate kept as its exact decimal text ("0.15", "0.60"), so exports reproduce it."""

    impl = String(24)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> str | None:
        return None if value is None else str(Decimal(value))

    def process_result_value(self, value: str | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime, stored without zone so both databases behave the same."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are refused: pass an aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


@event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection: Any, connection_record: Any) -> None:
    """Foreign keys, WAL and a busy timeout on every SQLite connection."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    # Let SQLAlchemy issue BEGIN itself (see _begin_immediate) instead of pysqlite's implicit one.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@event.listens_for(Engine, "begin")
def _begin_immediate(connection: Any) -> None:
    """On SQLite a request that may write takes the write lock at once, so read-then-write never
    fails midway with "database is locked"; pages that only read keep concurrent readers (WAL)."""
    if connection.dialect.name != "sqlite":
        return
    reading = has_request_context() and request.method in ("GET", "HEAD", "OPTIONS")
    connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")
