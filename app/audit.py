"""The activity log: every change a person makes to shared data leaves an event."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.database import Base, UTCDateTime, utcnow
from app.extensions import db


class AuditEvent(Base):
    """Who did what, when (UTC), with the old and new values where they apply. Never edited."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_consortium_at", "consortium_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    consortium_id: Mapped[int | None] = mapped_column(ForeignKey("consortia.id", ondelete="SET NULL"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The partner the change concerns, when it concerns one (the partner's own activity feed filters on it).
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(80))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


def record_event(
    kind: str,
    *,
    actor_id: int | None,
    consortium_id: int | None = None,
    partner_id: int | None = None,
    **data: Any,
) -> None:
    """Add an audit event to the session (flushed with the change it describes)."""
    if partner_id is not None:
        data["partner_id"] = partner_id
    db.session.add(
        AuditEvent(
            kind=kind, actor_id=actor_id, consortium_id=consortium_id, partner_id=partner_id, data=data
        )
    )


def audit_value(value: Any) -> Any:
    """A value as the audit log's JSON keeps it."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [audit_value(item) for item in value]
    return value
