"""Imports every model so the metadata (and Alembic) sees the whole schema."""

from app.annexes.models import Annex, RequiredAnnex
from app.audit import AuditEvent
from app.auth.models import ApiToken, LoginFailure, User
from app.budget.models import (
    BudgetAmount,
    ExpenseCategory,
    Funder,
    IndicatorDefinition,
    IndicatorValue,
    SignOff,
    SpreadsheetImport,
    StaffLine,
)
from app.consortia.models import (
    Call,
    Consortium,
    Invitation,
    Organisation,
    Partner,
    RoleGrant,
    VolunteerRequest,
)
from app.coordination.models import Milestone, Reminder
from app.dossier.models import DossierRender, DossierSnapshot
from app.mail.models import OutboxMessage
from app.notifications.models import DigestItem, NotificationPreference
from app.sections.models import EditingPresence, Section, SectionComment, SectionPart, SectionRevision
from app.storage import StoredFile

__all__ = [
    "Annex",
    "ApiToken",
    "AuditEvent",
    "BudgetAmount",
    "Call",
    "Consortium",
    "DigestItem",
    "DossierRender",
    "DossierSnapshot",
    "EditingPresence",
    "ExpenseCategory",
    "Funder",
    "IndicatorDefinition",
    "IndicatorValue",
    "Invitation",
    "LoginFailure",
    "Milestone",
    "NotificationPreference",
    "Organisation",
    "OutboxMessage",
    "Partner",
    "Reminder",
    "RequiredAnnex",
    "RoleGrant",
    "Section",
    "SectionComment",
    "SectionPart",
    "SectionRevision",
    "SignOff",
    "SpreadsheetImport",
    "StaffLine",
    "StoredFile",
    "User",
    "VolunteerRequest",
]
