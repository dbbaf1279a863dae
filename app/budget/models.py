"""The budget model of a consortium and each partner's commitments: amounts, FTE, indicators, sign-offs."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.consortia.models import Consortium, Partner
from app.database import Base, Money, UTCDateTime, stored_enum, utcnow

# Indicator values for indicators counted over the whole project (not per year) use this year.
WHOLE_PROJECT = 0


class FunderGroup(enum.StrEnum):
    ETAT = "etat"
    UE = "ue"
    COLLECTIVITES = "collectivites"
    AUTRES_PUBLICS = "autres_publics"
    PRIVES = "prives"
    AUTOFINANCEMENT = "autofinancement"


FUNDER_GROUP_LABELS = {
    FunderGroup.ETAT: "État",
    FunderGroup.UE: "Union européenne",
    FunderGroup.COLLECTIVITES: "Collectivités territoriales",
    FunderGroup.AUTRES_PUBLICS: "Autres financements publics",
    FunderGroup.PRIVES: "Financements privés",
    FunderGroup.AUTOFINANCEMENT: "Autofinancement",
}


class AmountKind(enum.StrEnum):
    EXPENSE = "expense"
    RESOURCE = "resource"


class IndicatorKind(enum.StrEnum):
    OUTPUT = "output"
    RESULT = "result"


class ExpenseCategory(Base):
    """A line of expenses in a consortium's budget model; computed ones are never typed."""

    __tablename__ = "expense_categories"
    __table_args__ = (UniqueConstraint("consortium_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortia.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(300))
    computed: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)
    extensions: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    consortium: Mapped[Consortium] = relationship()


class Funder(Base):
    """A source of resources in a consortium's budget model."""

    __tablename__ = "funders"
    __table_args__ = (UniqueConstraint("consortium_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortia.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(300))
    group: Mapped[FunderGroup] = mapped_column(stored_enum(FunderGroup))
    position: Mapped[int] = mapped_column(default=0)
    extensions: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    consortium: Mapped[Consortium] = relationship()


class IndicatorDefinition(Base):
    """An indicator partners commit to, per year or for the whole project, maybe part of another."""

    __tablename__ = "indicator_definitions"
    __table_args__ = (UniqueConstraint("consortium_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortia.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(300))
    kind: Mapped[IndicatorKind] = mapped_column(stored_enum(IndicatorKind))
    per_year: Mapped[bool] = mapped_column(default=True)
    part_of: Mapped[str | None] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(default=0)
    extensions: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    consortium: Mapped[Consortium] = relationship()


class BudgetAmount(Base):
    """One amount of a partner: a year × an expense category or a funder. Missing means zero."""

    __tablename__ = "budget_amounts"
    __table_args__ = (UniqueConstraint("partner_id", "year", "kind", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"), index=True)
    year: Mapped[int]
    kind: Mapped[AmountKind] = mapped_column(stored_enum(AmountKind))
    code: Mapped[str] = mapped_column(String(64))
    amount: Mapped[Decimal] = mapped_column(Money)
    # Each cell save states the version it started from (concurrent edits never overwrite silently).
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    partner: Mapped[Partner] = relationship()


class StaffLine(Base):
    """Full-time equivalents a partner commits for one function."""

    __tablename__ = "staff_lines"
    __table_args__ = (UniqueConstraint("partner_id", "function"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"), index=True)
    function: Mapped[str] = mapped_column(String(64))
    fte: Mapped[Decimal] = mapped_column(Money)  # two decimals, like money
    position: Mapped[int] = mapped_column(default=0)
    annual_cost: Mapped[Decimal | None] = mapped_column(Money)
    version: Mapped[int] = mapped_column(default=1)

    partner: Mapped[Partner] = relationship()


class IndicatorValue(Base):
    """A partner's target for one indicator, for one year or (year 0) for the whole project."""

    __tablename__ = "indicator_values"
    __table_args__ = (UniqueConstraint("partner_id", "code", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    year: Mapped[int] = mapped_column(default=WHOLE_PROJECT)
    value: Mapped[int] = mapped_column(default=0)
    version: Mapped[int] = mapped_column(default=1)

    partner: Mapped[Partner] = relationship()


class SignOff(Base):
    """A director's confirmation of the partner's figures; void once the figures' digest changes."""

    __tablename__ = "sign_offs"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"), index=True)
    by_email: Mapped[str] = mapped_column(String(254))
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The offset the time was given with, so an export writes it back as it came.
    at_utc_offset_minutes: Mapped[int] = mapped_column(default=0)
    digest: Mapped[str] = mapped_column(String(64))
    extensions: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When a change to the figures was first seen to void it (validity itself is derived from the digest).
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    partner: Mapped[Partner] = relationship()


class SpreadsheetImport(Base):
    """An uploaded budget spreadsheet, parsed and waiting for confirmation (preview, then apply)."""

    __tablename__ = "spreadsheet_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(255), default="")
    # [{"year", "kind", "code", "old", "new", "version"}]: the cells that differ, amounts as strings.
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    partner: Mapped[Partner] = relationship()
