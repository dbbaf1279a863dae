"""Import an exchange document into the database: all or nothing, one consortium at a time."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, select

from app.audit import EventKind, record_event
from app.auth.models import ApiToken, User
from app.budget.lines import CategoryRow, FunderRow, IndicatorRow, write_model
from app.budget.models import (
    WHOLE_PROJECT,
    AmountKind,
    BudgetAmount,
    FunderGroup,
    IndicatorKind,
    IndicatorValue,
    SignOff,
    StaffLine,
)
from app.consortia.models import (
    Call,
    Consortium,
    ConsortiumStatus,
    Organisation,
    Partner,
    PartnerStatus,
    Role,
    RoleGrant,
)
from app.consortia.services import find_organisation
from app.errors import Invalid
from app.exchange import document as doc
from app.exchange.validation import ExchangeInvalid
from app.extensions import db
from app.sections.models import RevisionKind, Section, SectionScope, SectionStatus
from app.sections.services import append_revision


def _new_call(call: doc.Call) -> Call:
    """The consortium's own copy of the call and its rules."""
    row = Call(code=call.code)
    db.session.add(row)
    rules = call.rules
    row.name = call.name
    row.programme = call.programme
    row.operator = call.operator
    row.submission_deadline = call.submission_deadline
    row.min_total_cost = rules.min_total_cost
    row.min_duration_months = rules.min_duration_months
    row.max_duration_months = rules.max_duration_months
    row.main_funder = rules.main_funder
    share_range = rules.main_funder_share_range
    row.main_funder_share_min, row.main_funder_share_max = share_range if share_range else (None, None)
    row.min_local_cofunding_share = rules.min_local_cofunding_share
    row.balance_tolerance = rules.balance_tolerance
    row.extensions = _plain(call.extensions)
    row.rules_extensions = _plain(rules.extensions)
    return row


def _plain(extensions: doc.Extensions | None) -> dict[str, Any] | None:
    return None if extensions is None else dict(extensions)


def _organisation(partner: doc.Partner, path: str, taken: dict[int, str]) -> Organisation:
    """The partner's organisation, found or created; `taken` maps organisations already used by the
    document's earlier partners to their paths, so two partners never share (and overwrite) one."""
    organisation = find_organisation(partner.name, partner.departement, partner.siret, exclude=taken)
    if organisation is not None and organisation.id in taken:
        # Only a SIRET match lands here: one establishment cannot be two partners. The format's
        # checks do not catch it (the organisation table's unique SIRET does), so say it the same way.
        raise ExchangeInvalid(
            [
                f"{path}.siret: "
                + _(
                    "SIRET « %(siret)s » en double (déjà en %(first)s)",
                    siret=partner.siret or "",
                    first=f"{taken[organisation.id]}.siret",
                )
            ]
        )
    if organisation is None:
        organisation = Organisation()
        db.session.add(organisation)
    organisation.rename(partner.name)
    organisation.kind = partner.kind
    organisation.departement = partner.departement
    organisation.territory = partner.territory
    if partner.siret:
        organisation.siret = partner.siret
    db.session.flush()
    taken[organisation.id] = path
    return organisation


def _remove_existing(slug: str) -> dict[int, tuple[Role, str | None]]:
    """Delete the consortium with this slug, returning its people's roles to give back afterwards."""
    existing = db.session.scalar(select(Consortium).where(Consortium.slug == slug))
    if existing is None:
        return {}
    grants = {
        grant.user_id: (grant.role, grant.partner.code if grant.partner else None)
        for grant in db.session.scalars(select(RoleGrant).where(RoleGrant.consortium_id == existing.id))
    }
    db.session.flush()
    call_id = existing.call_id
    db.session.execute(delete(Consortium).where(Consortium.id == existing.id))
    db.session.execute(delete(Call).where(Call.id == call_id))
    # The database cascaded the delete behind the session's back, and SQLite may give the new rows
    # the ids of the deleted ones: forget every object the delete may have touched. Accounts, calls
    # and organisations are left attached, so the caller's `by` user (and current_user) stay usable.
    for instance in list(db.session.identity_map.values()):
        if not isinstance(instance, User | ApiToken | Call | Organisation):
            db.session.expunge(instance)
    return grants


def import_document(
    document: doc.ExchangeDocument, *, replace: bool = False, by: User | None = None
) -> Consortium:
    """Create the consortium the document describes; refuse an existing slug unless `replace`.

    All or nothing: any error, from the rules or from the database, undoes the whole import (a
    savepoint), leaving the caller's own pending work as it was. Only flushes: the caller commits.
    """
    with db.session.begin_nested():
        return _import(document, replace=replace, by=by)


def _import(document: doc.ExchangeDocument, *, replace: bool, by: User | None) -> Consortium:
    info = document.consortium
    exists = db.session.scalar(select(Consortium.id).where(Consortium.slug == info.slug)) is not None
    if exists and not replace:
        raise Invalid(
            _("Le consortium « %(slug)s » existe déjà. Utilisez --replace pour le remplacer.", slug=info.slug)
        )
    actor_id = by.id if by is not None else None
    grants = _remove_existing(info.slug) if exists else {}

    model = document.budget_model
    indirect = model.indirect_costs
    consortium = Consortium(
        slug=info.slug,
        title=info.title,
        acronym=info.acronym,
        call=_new_call(document.call),
        status=ConsortiumStatus(info.status),
        project_start=info.project_start,
        project_end=info.project_end,
        years=list(model.years),
        indirect_category=indirect.category if indirect else None,
        indirect_rate=indirect.rate if indirect else None,
        indirect_base=list(indirect.base_categories) if indirect else None,
        indirect_extensions=_plain(indirect.extensions) if indirect else None,
        extensions=_plain(info.extensions),
        document_extensions=_plain(document.extensions),
        budget_model_extensions=_plain(model.extensions),
    )
    db.session.add(consortium)
    db.session.flush()
    write_model(
        consortium,
        categories=(
            CategoryRow(c.code, c.label, computed=c.computed, extensions=_plain(c.extensions))
            for c in model.expense_categories
        ),
        funders=(
            FunderRow(f.code, f.label, FunderGroup(f.group), extensions=_plain(f.extensions))
            for f in model.funders
        ),
        indicators=(
            IndicatorRow(
                i.code,
                i.label,
                IndicatorKind(i.kind),
                per_year=i.per_year,
                part_of=i.part_of,
                extensions=_plain(i.extensions),
            )
            for i in document.indicators
        ),
    )

    partners: dict[str, Partner] = {}
    taken: dict[int, str] = {}
    for position, source in enumerate(document.partners):
        partner = Partner(
            consortium=consortium,
            organisation=_organisation(source, f"partners[{position}]", taken),
            code=source.id,
            position=position,
            status=PartnerStatus(source.status),
            contacts=[_contact(contact) for contact in source.contacts],
            extensions=_plain(source.extensions),
        )
        db.session.add(partner)
        db.session.flush()
        partners[source.id] = partner
        _import_figures(partner, source, model)
    consortium.lead_partner = partners[info.lead_partner]

    for source_section in document.sections:
        _import_section(consortium, source_section, document.partners, partners, actor_id)

    for user_id, (role, partner_code) in grants.items():
        # A director or contributor whose partner left the document loses the role with it.
        acts_for = partners.get(partner_code) if partner_code else None
        if role in (Role.DIRECTOR, Role.CONTRIBUTOR) and acts_for is None:
            continue
        if role == Role.COORDINATOR:
            acts_for = consortium.lead_partner
        db.session.add(RoleGrant(user_id=user_id, consortium=consortium, role=role, partner=acts_for))

    record_event(
        EventKind.CONSORTIUM_IMPORTED,
        actor_id=actor_id,
        consortium_id=consortium.id,
        slug=consortium.slug,
        replaced=exists,
        partners=len(partners),
    )
    db.session.flush()
    return consortium


def _contact(contact: doc.Contact) -> dict[str, Any]:
    row: dict[str, Any] = {"role": contact.role, "email": contact.email}
    if contact.extensions is not None:
        row["extensions"] = dict(contact.extensions)
    return row


def _import_figures(partner: Partner, source: doc.Partner, model: doc.BudgetModel) -> None:
    computed = {category.code for category in model.expense_categories if category.computed}
    for year, budget in source.budget.items():
        for code, amount in budget.expenses.items():
            if amount and code not in computed:
                db.session.add(
                    BudgetAmount(
                        partner=partner, year=year, kind=AmountKind.EXPENSE, code=code, amount=amount
                    )
                )
        for code, amount in budget.resources.items():
            if amount:
                db.session.add(
                    BudgetAmount(
                        partner=partner, year=year, kind=AmountKind.RESOURCE, code=code, amount=amount
                    )
                )
    for position, (function, fte) in enumerate(source.staff_fte.items()):
        db.session.add(StaffLine(partner=partner, function=function, fte=fte, position=position))
    for year, values in source.indicators.per_year.items():
        for code, value in values.items():
            if value:
                db.session.add(IndicatorValue(partner=partner, code=code, year=year, value=value))
    for code, value in source.indicators.totals.items():
        if value:
            db.session.add(IndicatorValue(partner=partner, code=code, year=WHOLE_PROJECT, value=value))
    if source.sign_off is not None:
        offset = source.sign_off.at.utcoffset()
        db.session.add(
            SignOff(
                partner=partner,
                by_email=source.sign_off.by,
                at=source.sign_off.at.astimezone(UTC),
                at_utc_offset_minutes=int(offset.total_seconds() // 60) if offset else 0,
                digest=source.sign_off.digest,
                extensions=_plain(source.sign_off.extensions),
            )
        )


def _import_section(
    consortium: Consortium,
    source: doc.Section,
    source_partners: tuple[doc.Partner, ...],
    partners: dict[str, Partner],
    actor_id: int | None,
) -> None:
    section = Section(
        consortium=consortium,
        code=source.code,
        position=source.position,
        title=source.title,
        guidance=source.guidance,
        scope=SectionScope(source.scope),
        max_chars=source.max_chars,
        max_chars_per_partner=source.max_chars_per_partner,
        generated=source.generated,
        status=SectionStatus(source.status),
        extensions=_plain(source.extensions),
    )
    db.session.add(section)
    db.session.flush()
    if source.content is not None:
        append_revision(section, None, source.content, kind=RevisionKind.IMPORT, author_id=actor_id)
    for source_partner in source_partners:
        text = source_partner.sections.get(source.code)
        if text is not None:
            append_revision(
                section, partners[source_partner.id].id, text, kind=RevisionKind.IMPORT, author_id=actor_id
            )
