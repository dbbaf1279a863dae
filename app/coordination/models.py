"""Internal milestones before the call's deadline, and the log of reminders sent to partners."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.database import Base, UTCDateTime, utcnow


class Milestone(Base):
    """An internal deadline ("textes des partenaires", "budgets signés") covering some kinds of owed items."""

    __tablename__ = "milestones"

    id: Mapped[int] = mapped_column(primary_key=True)
    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortia.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    due_date: Mapped[date]
    # Which kinds of owed items it covers (see app/coordination/owed.py), e.g. ["partner_text", "sign_off"].
    covers: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Automatic reminders (send-reminders) go out this many days before the due date; None: none.
    remind_days_before: Mapped[int | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Reminder(Base):
    """A reminder sent to a partner: to whom, when, by whom (None: the scheduled command), what it listed."""

    __tablename__ = "reminders"
    __table_args__ = (
        # The scheduled command never sends the same reminder twice in a (Paris) day.
        Index(
            "uq_reminders_automatic_daily",
            "partner_id",
            "milestone_id",
            "sent_on",
            unique=True,
            sqlite_where=text("automatic = 1"),
            postgresql_where=text("automatic"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortia.id", ondelete="CASCADE"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"), index=True)
    milestone_id: Mapped[int | None] = mapped_column(ForeignKey("milestones.id", ondelete="SET NULL"))
    automatic: Mapped[bool] = mapped_column(default=False)
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_on: Mapped[date]
    recipients: Mapped[list[str]] = mapped_column(JSON, default=list)
    # What the e-mail listed: [{"kind": …, "label": …, "state": …}].
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
