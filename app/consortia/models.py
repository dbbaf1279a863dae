"""Calls for projects, consortia, organisations, partners and the roles people hold in them."""

from __future__ import annotations

import enum
import unicodedata
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.database import Base, DecimalText, Money, UTCDateTime, stored_enum, utcnow


class ConsortiumStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"


class PartnerRole(enum.StrEnum):
    LEAD = "lead"
    MEMBER = "member"


class PartnerStatus(enum.StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"


class Role(enum.StrEnum):
    """A person's role in one consortium."""

    COORDINATOR = "coordinator"
    DIRECTOR = "director"
    CONTRIBUTOR = "contributor"
    READER = "reader"


# The roles held for one partner (its people); the others are the consortium's (coordination, reading).
PARTNER_ROLES = (Role.DIRECTOR, Role.CONTRIBUTOR)

ROLE_LABELS = {
    Role.COORDINATOR: "Coordination",
    Role.DIRECTOR: "Direction",
    Role.CONTRIBUTOR: "Contribution",
    Role.READER: "Lecture",
}


def name_key(name: str) -> str:
    """The form of a name used to recognise the same organisation: NFC, case-folded, spaces folded."""
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


class Call(Base):
    """A call for projects and the rules its applications are checked against.

    Each consortium has its own row (several may share a code): changing one consortium's rules,
    or importing another consortium answering the same call, never changes another's checks.
    """

    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(300))
    programme: Mapped[str | None] = mapped_column(String(300))
    operator: Mapped[str | None] = mapped_column(String(300))
    submission_deadline: Mapped[date | None]
    min_total_cost: Mapped[Decimal | None] = mapped_column(Money)
    min_duration_months: Mapped[int | None]
    max_duration_months: Mapped[int | None]
    main_funder: Mapped[str | None] = mapped_column(String(64))
    main_funder_share_min: Mapped[Decimal | None] = mapped_column(DecimalText)
    main_funder_share_max: Mapped[Decimal | None] = mapped_column(DecimalText)
    min_local_cofunding_share: Mapped[Decimal | None] = mapped_column(DecimalText)
    # None means the rule was not given (checked as 0.00): exports reproduce what was imported.
    balance_tolerance: Mapped[Decimal | None] = mapped_column(Money)
    extensions: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    rules_extensions: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Consortium(Base):
    """A consortium answering one call: its period, its budget model and its members."""

    __tablename__ = "consortia"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    acronym: Mapped[str] = mapped_column(String(60), default="")
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    status: Mapped[ConsortiumStatus] = mapped_column(
        stored_enum(ConsortiumStatus), default=ConsortiumStatus.DRAFT
    )
    project_start: Mapped[date]
    project_end: Mapped[date]
    lead_partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("partners.id", use_alter=True, ondelete="SET NULL")
    )
    # The budget model's scalar parts; categories, funders and indicators are rows of budget.models.
    years: Mapped[list[int]] = mapped_column(JSON, default=list)
    indirect_category: Mapped[str | None] = mapped_column(String(64))
    indirect_rate: Mapped[Decimal | None] = mapped_column(DecimalText)
    indirect_base: Mapped[list[str] | None] = mapped_column(JSON)
    indirect_extensions: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Extension objects of the exchange format, kept verbatim.
    extensions: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    document_extensions: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    budget_model_extensions: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The public call for volunteers (appel à manifestation d'intérêt).
    volunteering_open: Mapped[bool] = mapped_column(default=False)
    volunteering_intro: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Moved on by every write to what the dossier shows (app.content_version): the caches' key.
    content_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # Moved on by every comment written, resolved or reopened (app.content_version.discussion_moved):
    # the dossier shows none, the pages that count open threads are kept by it.
    discussion_version: Mapped[int] = mapped_column(default=0, server_default="0")

    call: Mapped[Call] = relationship()
    lead_partner: Mapped[Partner | None] = relationship(foreign_keys=[lead_partner_id], post_update=True)
    partners: Mapped[list[Partner]] = relationship(
        back_populates="consortium",
        foreign_keys="Partner.consortium_id",
        order_by="Partner.position",
        cascade="all, delete-orphan",
    )

    def __repr__(self) -> str:
        return f"<Consortium {self.slug}>"


class Organisation(Base):
    """A body that may join several consortia over time; its profile carries over."""

    __tablename__ = "organisations"
    __table_args__ = (Index("ix_organisations_name_key_departement", "name_key", "departement"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    name_key: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(300), default="")
    departement: Mapped[str] = mapped_column(String(40), default="")
    territory: Mapped[str] = mapped_column(String(300), default="")
    siret: Mapped[str | None] = mapped_column(String(14), unique=True)
    address: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def rename(self, name: str) -> None:
        """Change the name and its comparison key together."""
        self.name = unicodedata.normalize("NFC", name).strip()
        self.name_key = name_key(name)


class Partner(Base):
    """An organisation's membership of one consortium, with its commitments."""

    __tablename__ = "partners"
    __table_args__ = (UniqueConstraint("consortium_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortia.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    code: Mapped[str] = mapped_column(String(64))  # the partner "id" of the exchange format
    position: Mapped[int] = mapped_column(default=0)
    status: Mapped[PartnerStatus] = mapped_column(stored_enum(PartnerStatus), default=PartnerStatus.ACTIVE)
    withdrawn_reason: Mapped[str] = mapped_column(Text, default="")
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    contacts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    extensions: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    consortium: Mapped[Consortium] = relationship(back_populates="partners", foreign_keys=[consortium_id])
    organisation: Mapped[Organisation] = relationship(lazy="joined")

    @property
    def name(self) -> str:
        return self.organisation.name

    @property
    def is_active(self) -> bool:
        return self.status == PartnerStatus.ACTIVE

    @property
    def role(self) -> PartnerRole:
        """Lead or member: the lead is the one the consortium names, never stored twice."""
        return PartnerRole.LEAD if self.consortium.lead_partner_id == self.id else PartnerRole.MEMBER

    def __repr__(self) -> str:
        return f"<Partner {self.code}>"


class RoleGrant(Base):
    """A person's role in a consortium; directors and contributors act for one partner."""

    __tablename__ = "role_grants"
    __table_args__ = (UniqueConstraint("user_id", "consortium_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortia.id", ondelete="CASCADE"), index=True)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(stored_enum(Role))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()
    consortium: Mapped[Consortium] = relationship()
    partner: Mapped[Partner | None] = relationship()


class RequestStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class VolunteerRequest(Base):
    """An organisation volunteering to join a consortium through its public page, until decided."""

    __tablename__ = "volunteer_requests"
    __table_args__ = (
        # One pending request per organisation and consortium, even under a double submit.
        Index(
            "uq_volunteer_requests_pending",
            "consortium_id",
            "organisation_key",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortia.id", ondelete="CASCADE"), index=True)
    status: Mapped[RequestStatus] = mapped_column(stored_enum(RequestStatus), default=RequestStatus.PENDING)
    # The SIRET when given, else the normalised name and département: how "the same organisation" is told.
    organisation_key: Mapped[str] = mapped_column(String(400))
    organisation_name: Mapped[str] = mapped_column(String(300))
    organisation_kind: Mapped[str] = mapped_column(String(300), default="")
    departement: Mapped[str] = mapped_column(String(40))
    territory: Mapped[str] = mapped_column(String(300), default="")
    siret: Mapped[str | None] = mapped_column(String(14))
    address: Mapped[str] = mapped_column(Text, default="")
    contact_name: Mapped[str] = mapped_column(String(200))
    contact_role: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(254))
    participants_per_year: Mapped[int | None]
    territories_qpv: Mapped[str] = mapped_column(Text, default="")
    motivation: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decision_message: Mapped[str] = mapped_column(Text, default="")
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id", ondelete="SET NULL"))

    consortium: Mapped[Consortium] = relationship()
    partner: Mapped[Partner | None] = relationship()


class Invitation(Base):
    """A single-use link, valid 14 days, that gives a role in a consortium to whoever opens it.

    With a partner: join that partner (director, contributor). With an organisation name and no
    partner: the organisation is invited to join, its partner is created on acceptance. With
    neither: a reader (or a coordinator of the lead).
    """

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortia.id", ondelete="CASCADE"), index=True)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(stored_enum(Role))
    email: Mapped[str] = mapped_column(String(254), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    organisation_name: Mapped[str | None] = mapped_column(String(300))
    organisation_departement: Mapped[str] = mapped_column(String(40), default="")
    volunteer_request_id: Mapped[int | None] = mapped_column(
        ForeignKey("volunteer_requests.id", ondelete="SET NULL")
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    message: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    send_count: Mapped[int] = mapped_column(default=0)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    consortium: Mapped[Consortium] = relationship()
    partner: Mapped[Partner | None] = relationship()
