"""The public call for volunteers: requests, and the coordination's decision on each.

A volunteer request is pending until the coordination accepts it (the organisation is reused or
created, its partner created, and its director invited) or declines it (with a message).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app.audit import EventKind, record_event
from app.auth.models import User
from app.consortia.models import (
    ROLE_LABELS,
    Consortium,
    Invitation,
    Organisation,
    RequestStatus,
    Role,
    RoleGrant,
    VolunteerRequest,
    name_key,
)
from app.consortia.services import (
    MANAGERS_ONLY,
    add_partner,
    find_organisation,
    member_of,
    require_manager,
    role_description,
    role_of,
)
from app.consortia.validation import (
    FieldInvalid,
    checked_email,
    checked_siret,
    normalise_departements,
    optional_line,
    required_line,
    visible_text,
)
from app.errors import Conflict
from app.extensions import db
from app.invitations.services import new_invitation, send_invitation
from app.mail.services import public_link, queue_mail
from app.templating import french_datetime

MAX_PARTICIPANTS = 1_000_000

REQUEST_STATUS_LABELS = {
    RequestStatus.PENDING: _l("En attente"),
    RequestStatus.ACCEPTED: _l("Acceptée"),
    RequestStatus.DECLINED: _l("Refusée"),
}


def set_volunteering(consortium: Consortium, *, is_open: bool, by: User) -> None:
    """Open or close the consortium's public call for volunteers."""
    require_manager(consortium, by, MANAGERS_ONLY)
    if consortium.volunteering_open == is_open:
        return
    consortium.volunteering_open = is_open
    record_event(
        EventKind.VOLUNTEERING_OPENED if is_open else EventKind.VOLUNTEERING_CLOSED,
        actor_id=by.id,
        consortium_id=consortium.id,
        old={"open": not is_open},
        new={"open": is_open},
    )
    db.session.flush()


def set_volunteering_intro(consortium: Consortium, intro: str, *, by: User) -> None:
    """Change the text shown at the top of the public page (plain text, paragraphs kept)."""
    require_manager(consortium, by, MANAGERS_ONLY)
    text = visible_text(intro)
    if len(text) > 5000:
        raise FieldInvalid("intro", _("%(n)d caractères au plus.", n=5000))
    if text == consortium.volunteering_intro:
        return
    record_event(
        EventKind.VOLUNTEERING_INTRO_CHANGED,
        actor_id=by.id,
        consortium_id=consortium.id,
        old=consortium.volunteering_intro,
        new=text,
    )
    consortium.volunteering_intro = text
    db.session.flush()


@dataclass(frozen=True)
class Volunteering:
    """What a volunteer typed on the public page, as given (the service cleans and checks it)."""

    organisation_name: str
    organisation_kind: str
    departement: str
    territory: str
    siret: str
    address: str
    contact_name: str
    contact_role: str
    email: str
    participants_per_year: int | None
    territories_qpv: str
    motivation: str


def organisation_key(name: str, departement: str, siret: str | None) -> str:
    """How two requests are told to come from the same organisation: its SIRET, else name and département."""
    return f"siret:{siret}" if siret else f"nom:{name_key(name)}|{departement}"


def _same_organisation(request: VolunteerRequest, name: str, departement: str, siret: str | None) -> bool:
    # The rule of find_organisation: same SIRET, or same name and département unless both SIRETs differ.
    if siret and request.siret:
        return siret == request.siret
    return name_key(request.organisation_name) == name_key(name) and request.departement == departement


def _already_pending() -> str:
    return _(
        "Une candidature pour cette organisation est déjà en attente de réponse de la coordination. "
        "Inutile de la renvoyer : la personne qui l'a déposée recevra un e-mail dès qu'elle sera examinée."
    )


def submit_volunteer_request(consortium: Consortium, data: Volunteering) -> VolunteerRequest:
    """Record a request from the public page (nobody is logged in); the coordinators are told by e-mail."""
    if not consortium.volunteering_open:
        raise Conflict(_("L'appel à candidatures de ce consortium est fermé : rien n'a été enregistré."))
    name = required_line(
        data.organisation_name, "organisation_name", 300, _("Indiquez le nom de l'organisation.")
    )
    departement = normalise_departements(data.departement)
    siret = checked_siret(data.siret)
    contact_name = required_line(data.contact_name, "contact_name", 200, _("Indiquez votre nom."))
    email = checked_email(data.email)
    participants = data.participants_per_year
    if participants is not None and not 0 <= participants <= MAX_PARTICIPANTS:
        raise FieldInvalid(
            "participants_per_year", _("Indiquez un nombre entier de personnes par an, par exemple 120.")
        )
    pending = db.session.scalars(
        select(VolunteerRequest).where(
            VolunteerRequest.consortium_id == consortium.id, VolunteerRequest.status == RequestStatus.PENDING
        )
    )
    if any(_same_organisation(request, name, departement, siret) for request in pending):
        raise Conflict(_already_pending())
    if member_of(consortium, find_organisation(name, departement, siret)) is not None:
        raise FieldInvalid(
            "organisation_name",
            _(
                "« %(name)s » est déjà membre de ce consortium. Pour y accéder, demandez à sa direction "
                "ou à la coordination de vous inviter.",
                name=name,
            ),
        )
    request = VolunteerRequest(
        consortium_id=consortium.id,
        status=RequestStatus.PENDING,
        organisation_key=organisation_key(name, departement, siret),
        organisation_name=name,
        organisation_kind=optional_line(data.organisation_kind, "organisation_kind", 300),
        departement=departement,
        territory=optional_line(data.territory, "territory", 300),
        siret=siret,
        address=visible_text(data.address),
        contact_name=contact_name,
        contact_role=optional_line(data.contact_role, "contact_role", 200),
        email=email,
        participants_per_year=participants,
        territories_qpv=visible_text(data.territories_qpv),
        motivation=visible_text(data.motivation),
    )
    try:
        # The partial unique index is the backstop when two submissions cross (double click).
        with db.session.begin_nested():
            db.session.add(request)
            db.session.flush()
    except IntegrityError:
        raise Conflict(_already_pending()) from None
    record_event(
        EventKind.VOLUNTEER_REQUESTED,
        actor_id=None,
        consortium_id=consortium.id,
        request_id=request.id,
        organisation=name,
        email=email,
    )
    link = public_link("volunteering.manage", slug=consortium.slug)
    for address in _coordinator_emails(consortium):
        queue_mail(
            address,
            "volunteer_received",
            subject=_(
                "Nouvelle candidature au consortium « %(title)s » : %(name)s",
                title=consortium.title,
                name=name,
            ),
            kind="volunteer.received",
            consortium=consortium,
            volunteer=request,
            link=link,
        )
    db.session.flush()
    return request


def _coordinator_emails(consortium: Consortium) -> list[str]:
    return list(
        db.session.scalars(
            select(User.email)
            .join(RoleGrant, RoleGrant.user_id == User.id)
            .where(
                RoleGrant.consortium_id == consortium.id,
                RoleGrant.role == Role.COORDINATOR,
                User.active.is_(True),
            )
            .order_by(User.email)
        )
    )


def volunteer_requests(consortium: Consortium) -> list[VolunteerRequest]:
    """Every request of the consortium: the pending ones first (oldest first), then the decided ones."""
    rows = db.session.scalars(
        select(VolunteerRequest)
        .options(joinedload(VolunteerRequest.partner))
        .where(VolunteerRequest.consortium_id == consortium.id)
        .order_by(VolunteerRequest.created_at, VolunteerRequest.id)
    )
    requests = list(rows)
    pending = [r for r in requests if r.status == RequestStatus.PENDING]
    decided = sorted(
        (r for r in requests if r.status != RequestStatus.PENDING),
        key=lambda r: r.decided_at or r.created_at,
        reverse=True,
    )
    return pending + decided


def known_organisation(request: VolunteerRequest) -> Organisation | None:
    """The organisation that accepting the request would reuse, if it is already known."""
    return find_organisation(request.organisation_name, request.departement, request.siret)


def _already_decided(request: VolunteerRequest) -> Conflict:
    decider = db.session.get(User, request.decided_by_id) if request.decided_by_id else None
    values: dict[str, Any] = {
        "when": french_datetime(request.decided_at),
        "who": decider.name if decider else _("la coordination"),
    }
    if request.status == RequestStatus.ACCEPTED:
        return Conflict(
            _(
                "Cette candidature a déjà été acceptée le %(when)s par %(who)s. Rien n'a été modifié.",
                **values,
            )
        )
    return Conflict(
        _("Cette candidature a déjà été refusée le %(when)s par %(who)s. Rien n'a été modifié.", **values)
    )


def _decide(request: VolunteerRequest, status: RequestStatus, *, by: User, message: str) -> None:
    """Mark the request decided, only if it is still pending: a second tab's click changes nothing."""
    if request.status != RequestStatus.PENDING:
        raise _already_decided(request)
    result = db.session.execute(
        update(VolunteerRequest)
        .where(VolunteerRequest.id == request.id, VolunteerRequest.status == RequestStatus.PENDING)
        .values(status=status, decided_at=datetime.now(UTC), decided_by_id=by.id, decision_message=message)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(request)
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise _already_decided(request)


def accept_volunteer_request(request: VolunteerRequest, *, by: User) -> Invitation:
    """Admit the organisation (reused if known, else created) and invite the volunteer as its director."""
    consortium = request.consortium
    require_manager(consortium, by, MANAGERS_ONLY)
    if request.status != RequestStatus.PENDING:
        raise _already_decided(request)
    grant = role_of(consortium, request.email)
    if grant is not None:
        raise Conflict(
            _(
                "%(email)s a déjà un rôle dans ce consortium (%(role)s) : modifiez d'abord ce rôle "
                "sur la page des personnes. Rien n'a été modifié.",
                email=request.email,
                role=role_description(grant),
            )
        )
    organisation = known_organisation(request)
    member = member_of(consortium, organisation)
    if member is not None:
        raise Conflict(
            _(
                "« %(name)s » est déjà membre de ce consortium%(withdrawn)s. Refusez cette candidature "
                "avec un message, ou invitez la personne comme collègue de ce membre.",
                name=member.name,
                withdrawn=_(" (retiré : la page des membres permet de le réintégrer)")
                if not member.is_active
                else "",
            )
        )
    _decide(request, RequestStatus.ACCEPTED, by=by, message="")
    if organisation is None:
        organisation = Organisation(
            kind=request.organisation_kind,
            departement=request.departement,
            territory=request.territory,
            siret=request.siret,
            address=request.address,
        )
        organisation.rename(request.organisation_name)
        db.session.add(organisation)
        created = True
    else:
        # Its profile carries over; only what it lacked is completed from the request.
        created = False
        given = {
            "kind": request.organisation_kind,
            "territory": request.territory,
            "address": request.address,
            "siret": request.siret,
        }
        for attribute, value in given.items():
            if value and not getattr(organisation, attribute):
                setattr(organisation, attribute, value)
    db.session.flush()
    partner = add_partner(
        consortium,
        organisation,
        contact={"role": request.contact_role or str(ROLE_LABELS[Role.DIRECTOR]), "email": request.email},
        by=by,
    )
    request.partner_id = partner.id
    invitation, token = new_invitation(
        consortium,
        role=Role.DIRECTOR,
        email=request.email,
        name=request.contact_name,
        partner=partner,
        volunteer_request_id=request.id,
        by=by,
    )
    record_event(
        EventKind.VOLUNTEER_ACCEPTED,
        actor_id=by.id,
        consortium_id=consortium.id,
        request_id=request.id,
        organisation_id=organisation.id,
        organisation_reused=not created,
        partner_id=partner.id,
        partner=partner.code,
        invitation_id=invitation.id,
        old={"status": RequestStatus.PENDING.value},
        new={"status": RequestStatus.ACCEPTED.value},
    )
    send_invitation(invitation, token, inviter=by)
    db.session.flush()
    return invitation


def decline_volunteer_request(request: VolunteerRequest, *, by: User, message: str) -> None:
    """Turn the request down with a message, sent to the volunteer by e-mail."""
    consortium = request.consortium
    require_manager(consortium, by, MANAGERS_ONLY)
    text = visible_text(message)
    if not text:
        raise FieldInvalid("message", _("Écrivez un message à la personne : il lui sera envoyé par e-mail."))
    if len(text) > 5000:
        raise FieldInvalid("message", _("%(n)d caractères au plus.", n=5000))
    _decide(request, RequestStatus.DECLINED, by=by, message=text)
    record_event(
        EventKind.VOLUNTEER_DECLINED,
        actor_id=by.id,
        consortium_id=consortium.id,
        request_id=request.id,
        organisation=request.organisation_name,
        message=text,
        old={"status": RequestStatus.PENDING.value},
        new={"status": RequestStatus.DECLINED.value},
    )
    queue_mail(
        request.email,
        "volunteer_declined",
        subject=_("Votre candidature au consortium « %(title)s »", title=consortium.title),
        kind="volunteer.declined",
        consortium=consortium,
        volunteer=request,
        message=text,
        decider=by.name,
        link=public_link("volunteering.volunteer", slug=consortium.slug),
    )
    db.session.flush()
