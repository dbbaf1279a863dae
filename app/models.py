"""Imports every model so the metadata (and Alembic) sees the whole schema."""

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
from app.mail.models import OutboxMessage
from app.sections.models import EditingPresence, Section, SectionComment, SectionPart, SectionRevision

__all__ = [
    "ApiToken",
    "AuditEvent",
    "BudgetAmount",
    "Call",
    "Consortium",
    "EditingPresence",
    "ExpenseCategory",
    "Funder",
    "IndicatorDefinition",
    "IndicatorValue",
    "Invitation",
    "LoginFailure",
    "Organisation",
    "OutboxMessage",
    "Partner",
    "RoleGrant",
    "Section",
    "SectionComment",
    "SectionPart",
    "SectionRevision",
    "SignOff",
    "SpreadsheetImport",
    "StaffLine",
    "User",
    "VolunteerRequest",
]
