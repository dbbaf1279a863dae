"""The activity log: every change a person makes to shared data leaves an event of a known kind."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.database import Base, UTCDateTime, utcnow
from app.extensions import db


class EventKind(enum.StrEnum):
    """What an event records; its French label and how it reads live in app/activity/labels.py."""

    SECTION_EDIT = "section.edit"
    SECTION_MERGE = "section.merge"
    SECTION_CONFLICT_COPY = "section.conflict_copy"
    SECTION_RESTORE = "section.restore"
    SECTION_IMPORT = "section.import"
    SECTION_STATUS_CHANGED = "section.status_changed"
    SECTION_WRITER_ASSIGNED = "section.writer_assigned"
    SECTION_COMMENT_ADDED = "section.comment_added"
    SECTION_COMMENT_RESOLVED = "section.comment_resolved"
    SECTION_COMMENT_REOPENED = "section.comment_reopened"
    SECTION_ADDED = "section.added"
    SECTION_UPDATED = "section.updated"
    SECTION_MOVED = "section.moved"
    SECTION_ARCHIVED = "section.archived"
    SECTION_DELETED = "section.deleted"
    SECTION_RESTORED = "section.restored"
    BUDGET_AMOUNT_CHANGED = "budget.amount_changed"
    BUDGET_STAFF_CHANGED = "budget.staff_changed"
    BUDGET_INDICATOR_CHANGED = "budget.indicator_changed"
    BUDGET_SIGNED_OFF = "budget.signed_off"
    BUDGET_SIGN_OFF_VOIDED = "budget.sign_off_voided"
    BUDGET_SIGN_OFF_REMINDED = "budget.sign_off_reminded"
    PARTNER_CREATED = "partner.created"
    PARTNER_WITHDRAWN = "partner.withdrawn"
    PARTNER_REINSTATED = "partner.reinstated"
    CONSORTIUM_LEAD_CHANGED = "consortium.lead_changed"
    VOLUNTEER_REQUESTED = "volunteer.requested"
    VOLUNTEER_ACCEPTED = "volunteer.accepted"
    VOLUNTEER_DECLINED = "volunteer.declined"
    INVITATION_CREATED = "invitation.created"
    INVITATION_REVOKED = "invitation.revoked"
    INVITATION_RESENT = "invitation.resent"
    INVITATION_ACCEPTED = "invitation.accepted"
    ACCOUNT_CREATED = "account.created"
    ACCOUNT_PASSWORD_SET = "account.password_set"
    ROLE_GRANTED = "role.granted"
    ROLE_CHANGED = "role.changed"
    ROLE_REVOKED = "role.revoked"
    CONSORTIUM_OPENED = "consortium.opened"
    CONSORTIUM_SETTINGS_CHANGED = "consortium.settings_changed"
    VOLUNTEERING_OPENED = "volunteering.opened"
    VOLUNTEERING_CLOSED = "volunteering.closed"
    VOLUNTEERING_INTRO_CHANGED = "volunteering.intro_changed"
    BUDGET_MODEL_CATEGORY_ADDED = "budget_model.category_added"
    BUDGET_MODEL_CATEGORY_RENAMED = "budget_model.category_renamed"
    BUDGET_MODEL_CATEGORY_MOVED = "budget_model.category_moved"
    BUDGET_MODEL_CATEGORY_REMOVED = "budget_model.category_removed"
    BUDGET_MODEL_FUNDER_ADDED = "budget_model.funder_added"
    BUDGET_MODEL_FUNDER_CHANGED = "budget_model.funder_changed"
    BUDGET_MODEL_FUNDER_MOVED = "budget_model.funder_moved"
    BUDGET_MODEL_FUNDER_REMOVED = "budget_model.funder_removed"
    CONSORTIUM_EXPORTED = "consortium.exported"
    CONSORTIUM_IMPORTED = "consortium.imported"
    DOSSIER_EXPORTED = "dossier.exported"
    DOSSIER_FROZEN = "dossier.frozen"
    CONSORTIUM_SUBMITTED = "consortium.submitted"
    ANNEX_UPLOADED = "annex.uploaded"
    ANNEX_REQUIREMENTS_CHANGED = "annex.requirements_changed"
    MILESTONE_ADDED = "milestone.added"
    MILESTONE_CHANGED = "milestone.changed"
    MILESTONE_REMOVED = "milestone.removed"
    REMINDER_SENT = "reminder.sent"
    ACCESS_DENIED = "access.denied"
    MAIL_RETRIED = "mail.retried"
    MAIL_VIEWED = "mail.viewed"
    NOTIFICATIONS_CHANGED = "notifications.changed"


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
    kind: EventKind,
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
