"""The durable outbox: every e-mail is a row first, sent after the change that caused it commits."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.database import Base, UTCDateTime, stored_enum, utcnow


class MessageStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # gave up after the last retry; visible to admins, can be retried by hand


MESSAGE_STATUS_LABELS = {
    MessageStatus.PENDING: "En attente",
    MessageStatus.SENT: "Envoyé",
    MessageStatus.FAILED: "Échec",
}


class OutboxMessage(Base):
    """One e-mail to one address, in French, plain text plus HTML."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_status_next_attempt_at", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consortium_id: Mapped[int | None] = mapped_column(
        ForeignKey("consortia.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(80))
    to: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    status: Mapped[MessageStatus] = mapped_column(stored_enum(MessageStatus), default=MessageStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
