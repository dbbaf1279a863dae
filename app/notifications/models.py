"""How each person wants to hear of things (immediately or in a daily digest), and the digest's items."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.database import Base, UTCDateTime, stored_enum, utcnow


class NotificationKind(enum.StrEnum):
    MENTION = "mention"
    COMMENT = "comment"
    SIGN_OFF_VOIDED = "sign_off_voided"
    STATUS_CHANGED = "status_changed"


class Delivery(enum.StrEnum):
    IMMEDIATE = "immediate"
    DIGEST = "digest"


class NotificationPreference(Base):
    """One person's choice for one kind of notification (no row: immediately)."""

    __tablename__ = "notification_preferences"
    __table_args__ = (UniqueConstraint("user_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[NotificationKind] = mapped_column(stored_enum(NotificationKind))
    delivery: Mapped[Delivery] = mapped_column(stored_enum(Delivery), default=Delivery.IMMEDIATE)


class DigestItem(Base):
    """A notification waiting for the person's daily digest."""

    __tablename__ = "digest_items"
    __table_args__ = (Index("ix_digest_items_user_sent", "user_id", "sent_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    consortium_id: Mapped[int | None] = mapped_column(ForeignKey("consortia.id", ondelete="CASCADE"))
    kind: Mapped[NotificationKind] = mapped_column(stored_enum(NotificationKind))
    subject: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
