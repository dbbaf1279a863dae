"""Partners' annexes (commitment letter, statutes…) and which kinds the coordination requires."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.consortia.models import Partner
from app.database import Base, UTCDateTime, stored_enum, utcnow
from app.storage import StoredFile


class AnnexKind(enum.StrEnum):
    COMMITMENT_LETTER = "commitment_letter"
    BOARD_DECISION = "board_decision"
    STATUTES = "statutes"
    SIRET_PROOF = "siret_proof"
    BANK_DETAILS = "bank_details"
    COFUNDING_LETTER = "cofunding_letter"
    OTHER = "other"


ANNEX_KIND_LABELS = {
    AnnexKind.COMMITMENT_LETTER: "Lettre d'engagement",
    AnnexKind.BOARD_DECISION: "Délibération de l'instance de décision",
    AnnexKind.STATUTES: "Statuts",
    AnnexKind.SIRET_PROOF: "Justificatif SIRET (avis de situation)",
    AnnexKind.BANK_DETAILS: "Relevé d'identité bancaire",
    AnnexKind.COFUNDING_LETTER: "Lettre d'engagement d'un cofinanceur",
    AnnexKind.OTHER: "Autre pièce",
}


class RequiredAnnex(Base):
    """A kind of annex every active partner must provide (set by the coordination)."""

    __tablename__ = "required_annexes"
    __table_args__ = (UniqueConstraint("consortium_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortia.id", ondelete="CASCADE"), index=True)
    kind: Mapped[AnnexKind] = mapped_column(stored_enum(AnnexKind))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Annex(Base):
    """One uploaded annex of a partner; a replaced one stays as history (superseded_at set)."""

    __tablename__ = "annexes"
    __table_args__ = (Index("ix_annexes_partner_kind", "partner_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortia.id", ondelete="CASCADE"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    kind: Mapped[AnnexKind] = mapped_column(stored_enum(AnnexKind))
    title: Mapped[str] = mapped_column(String(200), default="")
    # The name shown and offered on download, cleaned; the bytes are found by file_id, never by name.
    filename: Mapped[str] = mapped_column(String(255))
    file_id: Mapped[int] = mapped_column(ForeignKey("stored_files.id"), index=True)
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int]
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("annexes.id", ondelete="SET NULL"))

    partner: Mapped[Partner] = relationship()
    file: Mapped[StoredFile] = relationship()
