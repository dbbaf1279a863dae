"""Opening a consortium: its call, lead partner, default budget model, indicators and chapters.

Opening assembles a whole consortium, so this module writes rows of budget and sections, as the
exchange importer does. Its settings are then changed in `settings`, its budget lines in `app.budget.lines`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from app.audit import EventKind, audit_value, record_event
from app.auth.models import User
from app.budget.lines import CategoryRow, FunderRow, IndicatorRow, write_model
from app.budget.models import FunderGroup, IndicatorKind
from app.consortia.models import Call, Consortium, Organisation, Partner, Role, RoleGrant
from app.consortia.services import find_organisation, grant_role
from app.consortia.siret import is_valid_siret, normalise_siret
from app.consortia.validation import (
    MAX_ACRONYM_LENGTH,
    MAX_SLUG_LENGTH,
    MAX_TITLE_LENGTH,
    Errors,
    InvalidFields,
    check_text,
    clean_line,
    clean_text,
    slug_from,
)
from app.errors import NotAllowed
from app.extensions import db
from app.opening.defaults import FLAT_RATES, IndirectRule, defaults
from app.opening.settings import (
    CallInput,
    apply_call,
    check_call,
    check_deadline,
    check_period,
    years_between,
)
from app.permissions import can_open_consortium, is_admin
from app.sections.models import Section, SectionScope

SLUG_PATTERN = re.compile(r"\A[a-z0-9][a-z0-9-]*\Z")
MAX_DEPARTEMENT_LENGTH = 40
MAX_ADDRESS_LENGTH = 1000
# Paths of this application that a consortium's address must not shadow (/consortia/nouveau).
RESERVED_SLUGS = frozenset({"nouveau"})

# --- Inputs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrganisationInput:
    """A lead organisation typed in the opening form."""

    name: str
    kind: str = ""
    departement: str = ""
    territory: str = ""
    siret: str = ""
    address: str = ""


@dataclass(frozen=True)
class OpeningInput:
    """The opening form: one of call_id/new_call, and one of organisation_id/new_organisation."""

    title: str
    acronym: str
    slug: str
    project_start: date
    project_end: date
    indirect_rule: IndirectRule
    call_id: int | None = None
    new_call: CallInput | None = None
    # For a call already known: its deadline for this dossier, when it changed (None keeps the call's).
    submission_deadline: date | None = None
    organisation_id: int | None = None
    new_organisation: OrganisationInput | None = None


# --- Reading --------------------------------------------------------------------------------------


def _visible_consortium_ids(user: User) -> Any:
    return select(RoleGrant.consortium_id).where(RoleGrant.user_id == user.id)


def known_calls(user: User) -> list[Call]:
    """The calls a person may start from: those of the consortia they see, latest copy of each code."""
    query = select(Call).join(Consortium, Consortium.call_id == Call.id).order_by(Call.id.desc())
    if not is_admin(user):
        query = query.where(Consortium.id.in_(_visible_consortium_ids(user)))
    seen: dict[str, Call] = {}
    for call in db.session.scalars(query):
        seen.setdefault(call.code, call)
    return sorted(seen.values(), key=lambda call: call.name.casefold())


def known_organisations(user: User) -> list[Organisation]:
    """The organisations a person may name as lead: members of the consortia they see (all for admins)."""
    query = select(Organisation).order_by(Organisation.name_key, Organisation.id)
    if not is_admin(user):
        members = select(Partner.organisation_id).where(
            Partner.consortium_id.in_(_visible_consortium_ids(user))
        )
        query = query.where(Organisation.id.in_(members))
    return list(db.session.scalars(query))


def default_lead_organisation(user: User) -> Organisation | None:
    """The organisation a coordinator already leads with (the most recent), as the likely lead again."""
    return db.session.scalar(
        select(Organisation)
        .join(Partner, Partner.organisation_id == Organisation.id)
        .join(RoleGrant, RoleGrant.partner_id == Partner.id)
        .where(RoleGrant.user_id == user.id, RoleGrant.role == Role.COORDINATOR)
        .order_by(RoleGrant.id.desc())
        .limit(1)
    )


def slug_is_free(slug: str) -> bool:
    """Whether no consortium uses this address yet (and the application does not reserve it)."""
    if slug in RESERVED_SLUGS:
        return False
    return not db.session.scalar(select(exists().where(Consortium.slug == slug)))


def suggest_slug(title: str) -> str:
    """A free address made from the title: `cap-emploi`, else `cap-emploi-2`, `cap-emploi-3`…"""
    base = slug_from(title, max_length=MAX_SLUG_LENGTH - 4) or "consortium"
    candidate, number = base, 1
    while not slug_is_free(candidate):
        number += 1
        candidate = f"{base}-{number}"
    return candidate


# --- Opening -------------------------------------------------------------------------------------


def open_consortium(opening: OpeningInput, *, by: User) -> Consortium:
    """Create a consortium (call, lead partner, default model and chapters) that `by` coordinates."""
    if not can_open_consortium(by):
        raise NotAllowed(_("Seules les personnes qui coordonnent déjà un consortium peuvent en ouvrir un."))
    errors = Errors()
    title, acronym, slug = (
        clean_line(opening.title),
        clean_line(opening.acronym),
        opening.slug.strip().lower(),
    )
    check_text(errors, "title", title, maximum=MAX_TITLE_LENGTH)
    check_text(errors, "acronym", acronym, maximum=MAX_ACRONYM_LENGTH, required=False)
    if not slug and title:
        slug = suggest_slug(title)
    check_slug(errors, slug)
    check_period(errors, opening.project_start, opening.project_end)

    source_call: Call | None = None
    if opening.call_id is not None:
        source_call = next((call for call in known_calls(by) if call.id == opening.call_id), None)
        if source_call is None:
            errors.add("call_choice", _("Choisissez un appel dans la liste."))
    elif opening.new_call is not None:
        check_call(errors, opening.new_call, (funder.code for funder in defaults().funders))
    else:
        errors.add("call_choice", _("Choisissez un appel ou décrivez-en un nouveau."))
    deadline = _deadline_of(opening, source_call)
    if "project_end" not in errors:
        check_deadline(errors, deadline, opening.project_start)

    organisation: Organisation | None = None
    new_organisation: OrganisationInput | None = None
    if opening.organisation_id is not None:
        organisation = next(
            (org for org in known_organisations(by) if org.id == opening.organisation_id), None
        )
        if organisation is None:
            errors.add("organisation_choice", _("Choisissez une organisation dans la liste."))
    elif opening.new_organisation is not None:
        new_organisation = check_organisation(errors, opening.new_organisation)
    else:
        errors.add("organisation_choice", _("Choisissez le chef de file ou décrivez-le."))
    errors.raise_if_any()

    try:
        with db.session.begin_nested():
            call = (
                _copy_call(source_call, deadline) if source_call is not None else _new_call(opening.new_call)
            )
            consortium = _create(opening, title, acronym, slug, call, organisation, new_organisation, by)
    except IntegrityError as error:
        # Another person opened a consortium at this address, or registered this SIRET, meanwhile.
        if db.session.scalar(select(exists().where(Consortium.slug == slug))):
            raise InvalidFields(
                {"slug": [_("Cette adresse vient d'être prise : choisissez-en une autre.")]}
            ) from error
        raise InvalidFields(
            {"organisation_siret": [_("Ce SIRET vient d'être enregistré pour une autre organisation.")]}
        ) from error
    return consortium


def check_slug(errors: Errors, slug: str) -> None:
    """Note what is wrong with a consortium's address (format, reserved, taken)."""
    if not slug:
        errors.add("slug", _("Ce champ est obligatoire."))
    elif len(slug) > MAX_SLUG_LENGTH:
        errors.add("slug", _("%(count)s caractères au plus.", count=MAX_SLUG_LENGTH))
    elif not SLUG_PATTERN.match(slug):
        errors.add(
            "slug",
            _("Lettres minuscules sans accent, chiffres et tirets seulement, par exemple cap-emploi-2025."),
        )
    elif not slug_is_free(slug):
        errors.add(
            "slug",
            _("Cette adresse est déjà prise. Proposition : %(slug)s", slug=suggest_slug(slug)),
        )


def check_organisation(errors: Errors, source: OrganisationInput) -> OrganisationInput:
    """Note what is wrong with a typed organisation; return it cleaned (spaces, SIRET digits)."""
    cleaned = OrganisationInput(
        name=clean_line(source.name),
        kind=clean_line(source.kind),
        departement=clean_line(source.departement),
        territory=clean_line(source.territory),
        siret=normalise_siret(source.siret),
        address=clean_text(source.address),
    )
    check_text(errors, "organisation_name", cleaned.name, maximum=MAX_TITLE_LENGTH)
    check_text(errors, "organisation_kind", cleaned.kind, maximum=MAX_TITLE_LENGTH, required=False)
    check_text(errors, "organisation_departement", cleaned.departement, maximum=MAX_DEPARTEMENT_LENGTH)
    check_text(errors, "organisation_territory", cleaned.territory, maximum=MAX_TITLE_LENGTH, required=False)
    check_text(errors, "organisation_address", cleaned.address, maximum=MAX_ADDRESS_LENGTH, required=False)
    if cleaned.siret and not is_valid_siret(cleaned.siret):
        errors.add(
            "organisation_siret",
            _(
                "Ce SIRET n'est pas valide : 14 chiffres dont le dernier est une clé de contrôle. "
                "Vérifiez-le."
            ),
        )
    return cleaned


def _deadline_of(opening: OpeningInput, source_call: Call | None) -> date | None:
    """The deadline the new consortium's call will have: the one typed, else the known call's."""
    if opening.new_call is not None:
        return opening.new_call.submission_deadline
    if opening.submission_deadline is not None:
        return opening.submission_deadline
    return source_call.submission_deadline if source_call is not None else None


def _copy_call(source: Call, deadline: date | None) -> Call:
    """The new consortium's own copy of a call it answers too (its rules may then be edited apart)."""
    funders = {funder.code for funder in defaults().funders}
    call = Call(
        code=source.code,
        name=source.name,
        programme=source.programme,
        operator=source.operator,
        submission_deadline=deadline,
        min_total_cost=source.min_total_cost,
        min_duration_months=source.min_duration_months,
        max_duration_months=source.max_duration_months,
        main_funder=source.main_funder if source.main_funder in funders else None,
        main_funder_share_min=source.main_funder_share_min,
        main_funder_share_max=source.main_funder_share_max,
        min_local_cofunding_share=source.min_local_cofunding_share,
        balance_tolerance=source.balance_tolerance,
        extensions=source.extensions,
        rules_extensions=source.rules_extensions,
    )
    db.session.add(call)
    return call


def _new_call(source: CallInput | None) -> Call:
    assert source is not None  # checked by open_consortium
    call = Call(code=slug_from(source.name) or "appel")
    apply_call(call, CallInput(clean_line(source.name), source.submission_deadline, source.rules))
    db.session.add(call)
    return call


def _lead_organisation(source: OrganisationInput) -> tuple[Organisation, bool]:
    """The organisation already known (same SIRET, or same name and département), else a new one."""
    found = find_organisation(source.name, source.departement, source.siret or None)
    if found is not None:
        # Its profile carries over; only what it lacks is completed from the form.
        for name in ("kind", "territory", "address"):
            if not getattr(found, name) and getattr(source, name):
                setattr(found, name, getattr(source, name))
        if found.siret is None and source.siret:
            found.siret = source.siret
        return found, True
    organisation = Organisation(
        kind=source.kind,
        departement=source.departement,
        territory=source.territory,
        siret=source.siret or None,
        address=source.address,
    )
    organisation.rename(source.name)
    db.session.add(organisation)
    return organisation, False


def _create(
    opening: OpeningInput,
    title: str,
    acronym: str,
    slug: str,
    call: Call,
    organisation: Organisation | None,
    new_organisation: OrganisationInput | None,
    by: User,
) -> Consortium:
    settings = defaults()
    consortium = Consortium(
        slug=slug,
        title=title,
        acronym=acronym,
        call=call,
        project_start=opening.project_start,
        project_end=opening.project_end,
        years=years_between(opening.project_start, opening.project_end),
    )
    db.session.add(consortium)
    db.session.flush()
    flat = FLAT_RATES.get(opening.indirect_rule)
    if flat is not None:
        consortium.indirect_category = settings.indirect_category
        consortium.indirect_rate = flat.rate
        consortium.indirect_base = list(flat.base)
    indirect = settings.indirect_category
    write_model(
        consortium,
        categories=(
            CategoryRow(c.code, settings.actual_costs_label, computed=False)
            if c.code == indirect and flat is None
            else CategoryRow(c.code, c.label, computed=c.code == indirect)
            for c in settings.expense_categories
        ),
        funders=(FunderRow(f.code, f.label, FunderGroup(f.group)) for f in settings.funders),
        indicators=(
            IndicatorRow(i.code, i.label, IndicatorKind(i.kind), per_year=i.per_year, part_of=i.part_of)
            for i in settings.indicators
        ),
    )
    for position, section in enumerate(settings.sections, start=1):
        db.session.add(
            Section(
                consortium_id=consortium.id,
                code=section.code,
                position=position,
                title=section.title,
                guidance=section.guidance,
                scope=SectionScope(section.scope),
                max_chars=section.max_chars,
                max_chars_per_partner=section.max_chars_per_partner,
                generated=section.generated,
            )
        )

    reused = True
    if organisation is None:
        assert new_organisation is not None  # checked by open_consortium
        organisation, reused = _lead_organisation(new_organisation)
    db.session.flush()
    partner = Partner(
        consortium=consortium,
        organisation=organisation,
        code=slug_from(organisation.name) or "chef-de-file",
        position=0,
    )
    db.session.add(partner)
    db.session.flush()
    consortium.lead_partner = partner
    db.session.flush()
    grant_role(by, consortium, Role.COORDINATOR, partner, by=by)
    record_event(
        EventKind.CONSORTIUM_OPENED,
        actor_id=by.id,
        consortium_id=consortium.id,
        slug=consortium.slug,
        title=consortium.title,
        call={"code": call.code, "name": call.name},
        lead={"partner": partner.code, "organisation_id": organisation.id, "reused": reused},
        period=[audit_value(consortium.project_start), audit_value(consortium.project_end)],
        indirect_rule=opening.indirect_rule.value,
    )
    db.session.flush()
    return consortium
