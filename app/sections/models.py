"""The application's chapters and their text, kept as append-only revisions."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, event, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.consortia.models import Consortium, Partner
from app.database import Base, UTCDateTime, stored_enum, utcnow
from app.richtext import visible_length


class SectionScope(enum.StrEnum):
    SHARED = "shared"
    PER_PARTNER = "per_partner"
    SHARED_AND_PER_PARTNER = "shared_and_per_partner"

    @property
    def has_shared_part(self) -> bool:
        return self is not SectionScope.PER_PARTNER

    @property
    def has_partner_parts(self) -> bool:
        return self is not SectionScope.SHARED


class SectionStatus(enum.StrEnum):
    TODO = "todo"
    IN_PROGRESS = "in_progress"
    IN_REVIEW = "in_review"
    VALIDATED = "validated"


SECTION_STATUS_LABELS = {
    SectionStatus.TODO: "À rédiger",
    SectionStatus.IN_PROGRESS: "En cours",
    SectionStatus.IN_REVIEW: "À relire",
    SectionStatus.VALIDATED: "Validé",
}


class RevisionKind(enum.StrEnum):
    EDIT = "edit"
    MERGE = "merge"
    CONFLICT_COPY = "conflict_copy"
    RESTORE = "restore"
    IMPORT = "import"


class Section(Base):
    """A chapter of the application: its place, guidance, scope, limits and status."""

    __tablename__ = "sections"
    __table_args__ = (UniqueConstraint("consortium_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortia.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(default=0)
    title: Mapped[str] = mapped_column(String(300))
    guidance: Mapped[str] = mapped_column(Text, default="")
    scope: Mapped[SectionScope] = mapped_column(stored_enum(SectionScope), default=SectionScope.SHARED)
    max_chars: Mapped[int | None]
    max_chars_per_partner: Mapped[int | None]
    generated: Mapped[bool] = mapped_column(default=False)
    status: Mapped[SectionStatus] = mapped_column(stored_enum(SectionStatus), default=SectionStatus.TODO)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    extensions: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The lead writer of the shared text (a partner, a person, or both) and the internal due date.
    writer_partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id", ondelete="SET NULL"))
    writer_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    due_date: Mapped[date | None]

    consortium: Mapped[Consortium] = relationship()
    writer_partner: Mapped[Partner | None] = relationship(foreign_keys=[writer_partner_id])
    parts: Mapped[list[SectionPart]] = relationship(back_populates="section", cascade="all, delete-orphan")


class SectionPart(Base):
    """The shared text of a section (no partner) or one partner's part of it."""

    __tablename__ = "section_parts"
    __table_args__ = (
        UniqueConstraint("section_id", "partner_id"),
        # NULLs are distinct in unique constraints: one shared part per section needs its own index.
        Index(
            "uq_section_parts_shared",
            "section_id",
            unique=True,
            sqlite_where=text("partner_id IS NULL"),
            postgresql_where=text("partner_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id", ondelete="CASCADE"), index=True)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"), index=True)
    # The revision the text currently is, and a counter every accepted save increments.
    head_revision_id: Mapped[int | None] = mapped_column(
        ForeignKey("section_revisions.id", use_alter=True, ondelete="SET NULL")
    )
    version: Mapped[int] = mapped_column(default=0)
    # A partner's part has its own status; the shared part follows Section.status.
    status: Mapped[SectionStatus] = mapped_column(stored_enum(SectionStatus), default=SectionStatus.TODO)

    section: Mapped[Section] = relationship(back_populates="parts")
    partner: Mapped[Partner | None] = relationship()
    head_revision: Mapped[SectionRevision | None] = relationship(
        foreign_keys=[head_revision_id], post_update=True
    )


class SectionRevision(Base):
    """One saved state of a part's text. Never updated nor deleted: every save appends one."""

    __tablename__ = "section_revisions"
    __table_args__ = (UniqueConstraint("part_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("section_parts.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    kind: Mapped[RevisionKind] = mapped_column(stored_enum(RevisionKind), default=RevisionKind.EDIT)
    content: Mapped[str] = mapped_column(Text)
    # The text's visible characters (app.richtext.visible_length), measured once when it is saved:
    # the pages that show states and counts never parse the HTML again.
    visible_chars: Mapped[int] = mapped_column(default=0)
    base_revision_id: Mapped[int | None] = mapped_column(
        ForeignKey("section_revisions.id", ondelete="SET NULL")
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    part: Mapped[SectionPart] = relationship(foreign_keys=[part_id])


@event.listens_for(SectionRevision, "before_insert")
def _measure(_mapper: object, _connection: object, revision: SectionRevision) -> None:
    revision.visible_chars = visible_length(revision.content or "")


class SectionComment(Base):
    """A comment on a part of a section, or a reply to one; resolved threads stay readable."""

    __tablename__ = "section_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("section_parts.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("section_comments.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    # [{"kind": "partner" | "user", "id": int}]: who was mentioned (and notified).
    mentions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    part: Mapped[SectionPart] = relationship()


class EditingPresence(Base):
    """Who is editing a part right now (advisory): refreshed by a heartbeat, stale after a while."""

    __tablename__ = "editing_presences"
    __table_args__ = (UniqueConstraint("part_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("section_parts.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
