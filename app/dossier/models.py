"""Rendered dossiers (background jobs, then a cache keyed by content digest) and frozen submitted versions."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import Base, UTCDateTime, stored_enum, utcnow
from app.storage import StoredFile


class RenderStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class DossierRender(Base):
    """One rendering of a dossier's PDF: a job while it runs, then the cached file for that content digest."""

    __tablename__ = "dossier_renders"
    __table_args__ = (
        Index("ix_dossier_renders_consortium_digest", "consortium_id", "digest"),
        Index("ix_dossier_renders_consortium_content", "consortium_id", "content_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortia.id", ondelete="CASCADE"))
    # Digest of the Dossier's plain values (final flag and template version included).
    digest: Mapped[str] = mapped_column(String(64))
    # What it was built from: template, consortium content version, day and kind (`rendering.content_key`).
    content_key: Mapped[str | None] = mapped_column(String(120))
    final: Mapped[bool] = mapped_column(default=False)
    status: Mapped[RenderStatus] = mapped_column(stored_enum(RenderStatus), default=RenderStatus.QUEUED)
    progress: Mapped[int] = mapped_column(default=0)  # 0–100, shown on the page
    stage: Mapped[str] = mapped_column(String(120), default="")
    error: Mapped[str] = mapped_column(Text, default="")
    file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_files.id"))
    page_count: Mapped[int | None]
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    file: Mapped[StoredFile | None] = relationship()


class DossierPiece(Base):
    """One chapter of a draft dossier laid out on its own (app.dossier.pieces), kept under the digest of
    what it was laid out from, for the next draft that has the same chapter."""

    __tablename__ = "dossier_pieces"
    __table_args__ = (UniqueConstraint("consortium_id", "digest"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortia.id", ondelete="CASCADE"))
    digest: Mapped[str] = mapped_column(String(64))
    file_id: Mapped[int] = mapped_column(ForeignKey("stored_files.id"))
    page_count: Mapped[int]
    # The front matter (kept for its page count, the next draft's first guess) or a chapter.
    front: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    file: Mapped[StoredFile] = relationship()


class DossierSnapshot(Base):
    """A submitted version, frozen: the exchange JSON, the PDF and the xlsx as they were, never changed."""

    __tablename__ = "dossier_snapshots"
    __table_args__ = (UniqueConstraint("consortium_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortia.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]  # 1, 2… per consortium
    frozen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    frozen_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The exchange document's content digest at freezing time (compared with the current one).
    content_digest: Mapped[str] = mapped_column(String(64))
    # SHA-256 of the filed PDF (also on each stored file).
    sha256: Mapped[str] = mapped_column(String(64))
    pdf_file_id: Mapped[int] = mapped_column(ForeignKey("stored_files.id"))
    json_file_id: Mapped[int] = mapped_column(ForeignKey("stored_files.id"))
    xlsx_file_id: Mapped[int] = mapped_column(ForeignKey("stored_files.id"))
    page_count: Mapped[int]
    note: Mapped[str] = mapped_column(Text, default="")
