"""Joining a consortium: the public call for volunteers, and invitations by e-mail.

A volunteer request is pending until the coordination accepts it (the organisation is reused or
created, its partner created, and its director invited) or declines it (with a message). An
invitation is a single-use link, valid 14 days, whose token is only stored hashed.
"""

from __future__ import annotations

import enum
import hashlib
import re
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app.audit import record_event
from app.auth.models import User, normalise_email
from app.auth.services import check_email, check_new_password, create_user, find_user, set_password
from app.consortia.models import (
    ROLE_LABELS,
    Consortium,
    Invitation,
    Organisation,
    Partner,
    PartnerStatus,
    RequestStatus,
    Role,
    RoleGrant,
    VolunteerRequest,
    name_key,
)
from app.consortia.services import find_organisation, grant_role, require_manager
from app.consortia.siret import is_valid_siret, normalise_siret
from app.consortia.validation import visible_line, visible_text
from app.errors import Conflict, DomainError, Invalid, NotAllowed
from app.extensions import db
from app.mail.services import public_link, queue_mail
from app.permissions import can_invite_colleagues, can_manage_consortium, can_manage_invitation
from app.templating import french_datetime

INVITATION_VALIDITY = timedelta(days=14)
MAX_PARTICIPANTS = 1_000_000


class FieldInvalid(Invalid):
    """A rule broken by one field of a form: the page shows the message next to that field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class InvitationUnusable(DomainError):
    """The invitation link was used, revoked or has expired: nothing is granted (HTTP 410)."""

    status_code = 410


class InvitationState(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    EXPIRED = "expired"
    REVOKED = "revoked"


INVITATION_STATE_LABELS = {
    InvitationState.PENDING: _l("En attente"),
    InvitationState.ACCEPTED: _l("Acceptée"),
    InvitationState.EXPIRED: _l("Expirée"),
    InvitationState.REVOKED: _l("Annulée"),
}

_MANAGERS_ONLY = _l("Seule la coordination du consortium peut faire cela.")

REQUEST_STATUS_LABELS = {
    RequestStatus.PENDING: _l("En attente"),
    RequestStatus.ACCEPTED: _l("Acceptée"),
    RequestStatus.DECLINED: _l("Refusée"),
}

_DEPARTEMENT = re.compile(r"\A(?:0[1-9]|[1-8][0-9]|9[0-5]|2A|2B|97[1-8]|IDF)\Z")


def normalise_departements(text: str) -> str:
    """`93`, or several as `94/91`; accepts « 94, 91 », « 94 et 91 », « idf »."""
    parts: list[str] = []
    for part in re.split(r"[\s/,;+&]+", visible_line(text).upper()):
        if part in ("", "ET"):
            continue
        code = f"0{part}" if len(part) == 1 and part.isdigit() else part
        if not _DEPARTEMENT.match(code):
            raise FieldInvalid(
                "departement",
                _(
                    "Département non reconnu : « %(value)s ». Indiquez son numéro (93), "
                    "ou plusieurs numéros séparés par « / » (94/91).",
                    value=part,
                ),
            )
        if code not in parts:
            parts.append(code)
    if not parts:
        raise FieldInvalid("departement", _("Indiquez le ou les départements couverts (par exemple 93)."))
    result = "/".join(parts)
    if len(result) > 40:
        raise FieldInvalid("departement", _("Trop de départements : indiquez « IDF » pour toute la région."))
    return result


def checked_siret(text: str) -> str | None:
    """The SIRET without spaces, None when left empty; refused when its check digit is wrong."""
    value = normalise_siret(text)
    if not value:
        return None
    if not is_valid_siret(value):
        raise FieldInvalid(
            "siret",
            _(
                "Ce numéro SIRET n'est pas valide : il compte 14 chiffres dont le dernier est une clé de "
                "contrôle. Vérifiez-le (sur l'avis de situation Insee par exemple) ou laissez le champ vide."
            ),
        )
    return value


def _required_line(value: str, field: str, limit: int, missing: str) -> str:
    text = visible_line(value)
    if not text:
        raise FieldInvalid(field, missing)
    if len(text) > limit:
        raise FieldInvalid(field, _("%(n)d caractères au plus.", n=limit))
    return text


def _optional_line(value: str, field: str, limit: int) -> str:
    text = visible_line(value)
    if len(text) > limit:
        raise FieldInvalid(field, _("%(n)d caractères au plus.", n=limit))
    return text


def checked_email(value: str, field: str = "email") -> str:
    """The normalised address, or FieldInvalid saying how it looks wrong."""
    try:
        return check_email(visible_line(value))
    except Invalid:
        raise FieldInvalid(
            field, _("Adresse e-mail invalide : vérifiez-la (par exemple prenom.nom@plie-exemple.fr).")
        ) from None


# --- The call for volunteers ----------------------------------------------------------------------


def set_volunteering(consortium: Consortium, *, is_open: bool, by: User) -> None:
    """Open or close the consortium's public call for volunteers."""
    require_manager(consortium, by, _MANAGERS_ONLY)
    if consortium.volunteering_open == is_open:
        return
    consortium.volunteering_open = is_open
    record_event(
        "volunteering.opened" if is_open else "volunteering.closed",
        actor_id=by.id,
        consortium_id=consortium.id,
        old={"open": not is_open},
        new={"open": is_open},
    )
    db.session.flush()


def set_volunteering_intro(consortium: Consortium, intro: str, *, by: User) -> None:
    """Change the text shown at the top of the public page (plain text, paragraphs kept)."""
    require_manager(consortium, by, _MANAGERS_ONLY)
    text = visible_text(intro)
    if len(text) > 5000:
        raise FieldInvalid("intro", _("%(n)d caractères au plus.", n=5000))
    if text == consortium.volunteering_intro:
        return
    record_event(
        "volunteering.intro_changed",
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


def _member_of(consortium: Consortium, organisation: Organisation | None) -> Partner | None:
    if organisation is None or organisation.id is None:
        return None
    return db.session.scalar(
        select(Partner).where(
            Partner.consortium_id == consortium.id, Partner.organisation_id == organisation.id
        )
    )


def _already_pending() -> str:
    return _(
        "Une candidature pour cette organisation est déjà en attente de réponse de la coordination. "
        "Inutile de la renvoyer : la personne qui l'a déposée recevra un e-mail dès qu'elle sera examinée."
    )


def submit_volunteer_request(consortium: Consortium, data: Volunteering) -> VolunteerRequest:
    """Record a request from the public page (nobody is logged in); the coordinators are told by e-mail."""
    if not consortium.volunteering_open:
        raise Conflict(_("L'appel à candidatures de ce consortium est fermé : rien n'a été enregistré."))
    name = _required_line(
        data.organisation_name, "organisation_name", 300, _("Indiquez le nom de l'organisation.")
    )
    departement = normalise_departements(data.departement)
    siret = checked_siret(data.siret)
    contact_name = _required_line(data.contact_name, "contact_name", 200, _("Indiquez votre nom."))
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
    if _member_of(consortium, find_organisation(name, departement, siret)) is not None:
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
        organisation_kind=_optional_line(data.organisation_kind, "organisation_kind", 300),
        departement=departement,
        territory=_optional_line(data.territory, "territory", 300),
        siret=siret,
        address=visible_text(data.address),
        contact_name=contact_name,
        contact_role=_optional_line(data.contact_role, "contact_role", 200),
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
        "volunteer.requested",
        actor_id=None,
        consortium_id=consortium.id,
        request_id=request.id,
        organisation=name,
        email=email,
    )
    link = public_link("joining.volunteering", slug=consortium.slug)
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


def _role_of(consortium: Consortium, email: str) -> RoleGrant | None:
    return db.session.scalar(
        select(RoleGrant)
        .join(User, User.id == RoleGrant.user_id)
        .where(RoleGrant.consortium_id == consortium.id, User.email == normalise_email(email))
    )


def _role_description(grant: RoleGrant) -> str:
    label = ROLE_LABELS[grant.role]
    return f"{label} — {grant.partner.name}" if grant.partner is not None else label


def accept_volunteer_request(request: VolunteerRequest, *, by: User) -> Invitation:
    """Admit the organisation (reused if known, else created) and invite the volunteer as its director."""
    consortium = request.consortium
    require_manager(consortium, by, _MANAGERS_ONLY)
    if request.status != RequestStatus.PENDING:
        raise _already_decided(request)
    grant = _role_of(consortium, request.email)
    if grant is not None:
        raise Conflict(
            _(
                "%(email)s a déjà un rôle dans ce consortium (%(role)s) : modifiez d'abord ce rôle "
                "sur la page des personnes. Rien n'a été modifié.",
                email=request.email,
                role=_role_description(grant),
            )
        )
    organisation = known_organisation(request)
    member = _member_of(consortium, organisation)
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
    partner = _add_partner(
        consortium,
        organisation,
        contact={"role": request.contact_role or str(ROLE_LABELS[Role.DIRECTOR]), "email": request.email},
        by=by,
    )
    request.partner_id = partner.id
    invitation, token = _new_invitation(
        consortium,
        role=Role.DIRECTOR,
        email=request.email,
        name=request.contact_name,
        partner=partner,
        volunteer_request_id=request.id,
        by=by,
    )
    record_event(
        "volunteer.accepted",
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
    _send_invitation(invitation, token, inviter=by)
    db.session.flush()
    return invitation


def decline_volunteer_request(request: VolunteerRequest, *, by: User, message: str) -> None:
    """Turn the request down with a message, sent to the volunteer by e-mail."""
    consortium = request.consortium
    require_manager(consortium, by, _MANAGERS_ONLY)
    text = visible_text(message)
    if not text:
        raise FieldInvalid("message", _("Écrivez un message à la personne : il lui sera envoyé par e-mail."))
    if len(text) > 5000:
        raise FieldInvalid("message", _("%(n)d caractères au plus.", n=5000))
    _decide(request, RequestStatus.DECLINED, by=by, message=text)
    record_event(
        "volunteer.declined",
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
        link=public_link("joining.volunteer", slug=consortium.slug),
    )
    db.session.flush()


def partner_code(consortium: Consortium, name: str) -> str:
    """A new partner's exchange identifier: the name as a slug, unique in the consortium."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:56].strip("-") or "membre"
    taken = set(db.session.scalars(select(Partner.code).where(Partner.consortium_id == consortium.id)))
    code, number = base, 2
    while code in taken:
        code = f"{base}-{number}"
        number += 1
    return code


def _add_partner(
    consortium: Consortium, organisation: Organisation, *, contact: dict[str, str], by: User
) -> Partner:
    last = db.session.scalar(select(func.max(Partner.position)).where(Partner.consortium_id == consortium.id))
    partner = Partner(
        organisation=organisation,
        code=partner_code(consortium, organisation.name),
        position=0 if last is None else last + 1,
        status=PartnerStatus.ACTIVE,
        contacts=[contact],
    )
    partner.consortium = consortium
    db.session.add(partner)
    db.session.flush()
    record_event(
        "partner.created",
        actor_id=by.id,
        consortium_id=consortium.id,
        partner_id=partner.id,
        partner=partner.code,
        organisation_id=organisation.id,
        name=organisation.name,
    )
    return partner


# --- Invitations ----------------------------------------------------------------------------------


def token_hash(token: str) -> str:
    """The stored form of an invitation token."""
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_state(invitation: Invitation, now: datetime | None = None) -> InvitationState:
    """Pending, accepted, expired or revoked."""
    if invitation.accepted_at is not None:
        return InvitationState.ACCEPTED
    if invitation.revoked_at is not None:
        return InvitationState.REVOKED
    if invitation.expires_at <= (now or datetime.now(UTC)):
        return InvitationState.EXPIRED
    return InvitationState.PENDING


def _new_invitation(
    consortium: Consortium,
    *,
    role: Role,
    email: str,
    name: str,
    by: User,
    partner: Partner | None = None,
    organisation_name: str | None = None,
    organisation_departement: str = "",
    volunteer_request_id: int | None = None,
    message: str = "",
) -> tuple[Invitation, str]:
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    invitation = Invitation(
        consortium=consortium,
        partner=partner,
        role=role,
        email=email,
        name=name,
        organisation_name=organisation_name,
        organisation_departement=organisation_departement,
        volunteer_request_id=volunteer_request_id,
        token_hash=token_hash(token),
        message=message,
        created_by_id=by.id,
        expires_at=now + INVITATION_VALIDITY,
        last_sent_at=now,
        send_count=1,
    )
    db.session.add(invitation)
    db.session.flush()
    return invitation, token


def _invite(
    consortium: Consortium,
    *,
    role: Role,
    email: str,
    name: str,
    message: str,
    by: User,
    logged: dict[str, Any],
    partner: Partner | None = None,
    organisation_name: str | None = None,
    organisation_departement: str = "",
) -> Invitation:
    """Create an invitation, log it (with `logged` added to the event) and e-mail it."""
    invitation, token = _new_invitation(
        consortium,
        role=role,
        email=email,
        name=name,
        partner=partner,
        organisation_name=organisation_name,
        organisation_departement=organisation_departement,
        message=visible_text(message)[:5000],
        by=by,
    )
    record_event(
        "invitation.created",
        actor_id=by.id,
        consortium_id=consortium.id,
        partner_id=partner.id if partner is not None else None,
        invitation_id=invitation.id,
        email=email,
        role=role.value,
        **logged,
    )
    _send_invitation(invitation, token, inviter=by)
    db.session.flush()
    return invitation


def _send_invitation(invitation: Invitation, token: str, *, inviter: User) -> None:
    consortium = invitation.consortium
    if invitation.volunteer_request_id is not None:
        reason = "volunteer"
        subject = _("Votre candidature au consortium « %(title)s » est acceptée", title=consortium.title)
    else:
        reason = "organisation" if invitation.organisation_name is not None else "person"
        subject = _("Invitation à rejoindre le consortium « %(title)s »", title=consortium.title)
    partner = invitation.partner
    queue_mail(
        invitation.email,
        "invitation",
        subject=subject,
        kind=f"invitation.{reason}",
        consortium=consortium,
        invitation=invitation,
        reason=reason,
        link=public_link("joining.accept", token=token),
        inviter=inviter.name,
        role_label=ROLE_LABELS[invitation.role],
        partner_name=partner.name if partner is not None and invitation.role != Role.COORDINATOR else "",
        organisation_name=invitation.organisation_name or (partner.name if partner is not None else ""),
        expires_at=invitation.expires_at,
        message=invitation.message,
    )


def _check_invitee(consortium: Consortium, email: str) -> str:
    """The normalised address, if it has no role in the consortium nor a pending invitation."""
    address = checked_email(email)
    grant = _role_of(consortium, address)
    if grant is not None:
        raise FieldInvalid(
            "email",
            _(
                "%(email)s a déjà un rôle dans ce consortium (%(role)s) : pas besoin de l'inviter.",
                email=address,
                role=_role_description(grant),
            ),
        )
    pending = db.session.scalar(
        select(Invitation).where(
            Invitation.consortium_id == consortium.id,
            Invitation.email == address,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > datetime.now(UTC),
        )
    )
    if pending is not None:
        raise FieldInvalid(
            "email",
            _(
                "Une invitation envoyée le %(when)s attend déjà la réponse de %(email)s : "
                "renvoyez-la depuis la liste plutôt que d'en créer une autre.",
                when=french_datetime(pending.last_sent_at or pending.created_at),
                email=address,
            ),
        )
    return address


def invite_organisation(
    consortium: Consortium,
    *,
    organisation_name: str,
    departement: str,
    name: str,
    email: str,
    message: str = "",
    by: User,
) -> Invitation:
    """Invite an organisation: on acceptance its partner is created and the person becomes its director."""
    require_manager(consortium, by, _MANAGERS_ONLY)
    organisation = _required_line(
        organisation_name, "organisation_name", 300, _("Indiquez le nom de l'organisation.")
    )
    departements = normalise_departements(departement)
    person = _required_line(name, "name", 200, _("Indiquez le nom de la personne invitée."))
    member = _member_of(consortium, find_organisation(organisation, departements, None))
    if member is not None:
        raise FieldInvalid(
            "organisation_name",
            _(
                "« %(name)s » est déjà membre de ce consortium : invitez plutôt la personne comme "
                "membre de son équipe.",
                name=member.name,
            ),
        )
    address = _check_invitee(consortium, email)
    return _invite(
        consortium,
        role=Role.DIRECTOR,
        email=address,
        name=person,
        organisation_name=organisation,
        organisation_departement=departements,
        message=message,
        by=by,
        logged={"organisation": organisation, "departement": departements},
    )


def invite_person(
    consortium: Consortium,
    *,
    role: Role,
    email: str,
    name: str,
    partner: Partner | None = None,
    message: str = "",
    by: User,
) -> Invitation:
    """Invite someone: a colleague (director or contributor) of a partner, a reader, or a coordinator."""
    if role in (Role.READER, Role.COORDINATOR):
        require_manager(consortium, by, _MANAGERS_ONLY)
        if role == Role.COORDINATOR:
            partner = consortium.lead_partner
            if partner is None:
                raise Invalid(_("Désignez d'abord le chef de file : la coordination lui est rattachée."))
        else:
            partner = None
    else:
        if partner is None or partner.consortium_id != consortium.id:
            raise FieldInvalid("partner", _("Choisissez le membre du consortium que la personne rejoint."))
        if not can_invite_colleagues(by, partner):
            raise NotAllowed(_("Vous ne pouvez inviter que des collègues de votre propre organisation."))
        if not partner.is_active:
            raise FieldInvalid("partner", _("« %(name)s » s'est retiré du consortium.", name=partner.name))
    person = _required_line(name, "name", 200, _("Indiquez le nom de la personne invitée."))
    address = _check_invitee(consortium, email)
    return _invite(
        consortium,
        role=role,
        email=address,
        name=person,
        partner=partner,
        message=message,
        by=by,
        logged={"partner": partner.code if partner is not None else None},
    )


def invitations_for(consortium: Consortium, user: User) -> list[Invitation]:
    """The invitations the user may see: every one for coordinators, its own partner's for a director."""
    query = (
        select(Invitation)
        .options(joinedload(Invitation.partner))
        .where(Invitation.consortium_id == consortium.id)
        .order_by(Invitation.created_at.desc(), Invitation.id.desc())
    )
    if not can_manage_consortium(user, consortium):
        grant = db.session.scalar(
            select(RoleGrant).where(RoleGrant.user_id == user.id, RoleGrant.consortium_id == consortium.id)
        )
        if grant is None or grant.role != Role.DIRECTOR or grant.partner_id is None:
            return []
        query = query.where(Invitation.partner_id == grant.partner_id, Invitation.organisation_name.is_(None))
    return list(db.session.scalars(query))


def people_names(ids: Sequence[int | None]) -> dict[int, str]:
    """The names of the given accounts, by id (who invited, who accepted)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(db.session.execute(select(User.id, User.name).where(User.id.in_(wanted))).all())


def _require_invitation_manager(user: User, invitation: Invitation) -> None:
    if not can_manage_invitation(user, invitation):
        raise NotAllowed(
            _("Seule la coordination, ou la direction du membre concerné, gère cette invitation.")
        )


def revoke_invitation(invitation: Invitation, *, by: User) -> None:
    """Cancel an invitation that has not been accepted: its link stops working."""
    _require_invitation_manager(by, invitation)
    now = datetime.now(UTC)
    result = db.session.execute(
        update(Invitation)
        .where(
            Invitation.id == invitation.id, Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None)
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(invitation)
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise _not_changeable(invitation)
    record_event(
        "invitation.revoked",
        actor_id=by.id,
        consortium_id=invitation.consortium_id,
        invitation_id=invitation.id,
        email=invitation.email,
    )
    db.session.flush()


def resend_invitation(invitation: Invitation, *, by: User) -> None:
    """Send a new link (the old one stops working), valid 14 days from now."""
    _require_invitation_manager(by, invitation)
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    result = db.session.execute(
        update(Invitation)
        .where(
            Invitation.id == invitation.id, Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None)
        )
        .values(
            token_hash=token_hash(token),
            expires_at=now + INVITATION_VALIDITY,
            last_sent_at=now,
            send_count=Invitation.send_count + 1,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(invitation)
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise _not_changeable(invitation)
    record_event(
        "invitation.resent",
        actor_id=by.id,
        consortium_id=invitation.consortium_id,
        invitation_id=invitation.id,
        email=invitation.email,
        send_count=invitation.send_count,
    )
    _send_invitation(invitation, token, inviter=by)
    db.session.flush()


def _not_changeable(invitation: Invitation) -> Conflict:
    if invitation.accepted_at is not None:
        return Conflict(_("Cette invitation a déjà été acceptée : rien n'a été modifié."))
    return Conflict(_("Cette invitation a déjà été annulée : rien n'a été modifié."))


def find_invitation(token: str) -> Invitation | None:
    """The invitation whose link carries this token, whatever its state."""
    if not token or len(token) > 200:
        return None
    return db.session.scalar(
        select(Invitation)
        .options(joinedload(Invitation.consortium), joinedload(Invitation.partner))
        .where(Invitation.token_hash == token_hash(token))
    )


def check_usable(invitation: Invitation) -> None:
    """Raise InvitationUnusable, saying why in French, when the link may no longer be used."""
    state = invitation_state(invitation)
    if state == InvitationState.ACCEPTED:
        raise InvitationUnusable(
            _(
                "Cette invitation a déjà été utilisée le %(when)s. Connectez-vous avec votre compte "
                "pour retrouver le consortium.",
                when=french_datetime(invitation.accepted_at),
            )
        )
    if state == InvitationState.REVOKED:
        raise InvitationUnusable(
            _(
                "Cette invitation a été annulée le %(when)s. Si vous pensez que c'est une erreur, "
                "contactez la personne qui vous l'avait envoyée.",
                when=french_datetime(invitation.revoked_at),
            )
        )
    if state == InvitationState.EXPIRED:
        raise InvitationUnusable(
            _(
                "Cette invitation a expiré le %(when)s. Demandez à la personne qui vous l'a envoyée "
                "de vous la renvoyer : vous recevrez un nouveau lien par e-mail.",
                when=french_datetime(invitation.expires_at),
            )
        )


def _partner_for_organisation(invitation: Invitation) -> tuple[Organisation | None, Partner | None]:
    """The invited organisation if it is known, and its partner in the consortium if it has one."""
    organisation = find_organisation(
        invitation.organisation_name or "", invitation.organisation_departement, None
    )
    partner = _member_of(invitation.consortium, organisation)
    if partner is not None and not partner.is_active:
        raise Conflict(
            _(
                "« %(name)s » s'est retiré du consortium : demandez à la coordination de le réintégrer "
                "avant d'accepter l'invitation.",
                name=partner.name,
            )
        )
    return organisation, partner


def accept_invitation(invitation: Invitation, *, user: User) -> RoleGrant:
    """Give the invited person its role (creating the invited organisation's partner); the link is used up."""
    check_usable(invitation)
    if normalise_email(user.email) != normalise_email(invitation.email):
        raise NotAllowed(
            _(
                "Cette invitation est adressée à %(email)s : connectez-vous avec ce compte pour l'accepter.",
                email=invitation.email,
            )
        )
    if not user.active:
        raise NotAllowed(_("Ce compte est désactivé : contactez la coordination."))
    consortium = invitation.consortium
    current = _role_of(consortium, user.email)
    if current is not None:
        raise Conflict(
            _(
                "Vous avez déjà un rôle dans ce consortium (%(role)s) : l'invitation n'a pas été utilisée. "
                "Demandez à la coordination de modifier votre rôle si besoin.",
                role=_role_description(current),
            )
        )
    partner = invitation.partner
    organisation: Organisation | None = None
    if invitation.organisation_name is not None:
        organisation, partner = _partner_for_organisation(invitation)
    elif partner is not None and not partner.is_active:
        raise Conflict(
            _(
                "« %(name)s » s'est retiré du consortium : l'invitation ne peut plus être acceptée.",
                name=partner.name,
            )
        )
    now = datetime.now(UTC)
    result = db.session.execute(
        update(Invitation)
        .where(
            Invitation.id == invitation.id,
            Invitation.token_hash == invitation.token_hash,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
        )
        .values(accepted_at=now, accepted_by_id=user.id)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(invitation)
    if result.rowcount != 1:  # type: ignore[attr-defined]
        check_usable(invitation)
        raise InvitationUnusable(_("Ce lien d'invitation n'est plus valable."))
    if invitation.organisation_name is not None and partner is None:
        if organisation is None:
            organisation = Organisation(departement=invitation.organisation_departement)
            organisation.rename(invitation.organisation_name)
            db.session.add(organisation)
            db.session.flush()
        partner = _add_partner(
            consortium,
            organisation,
            contact={"role": str(ROLE_LABELS[Role.DIRECTOR]), "email": user.email},
            by=user,
        )
        invitation.partner_id = partner.id
    grant = grant_role(user, consortium, invitation.role, partner, by=user)
    record_event(
        "invitation.accepted",
        actor_id=user.id,
        consortium_id=consortium.id,
        invitation_id=invitation.id,
        email=user.email,
        role=invitation.role.value,
        partner_id=partner.id if partner is not None else None,
        partner=partner.code if partner is not None else None,
    )
    db.session.flush()
    return grant


def has_password(email: str) -> bool:
    """Whether an account with this address exists and can log in with a password."""
    user = find_user(email)
    return user is not None and bool(user.password_hash)


def create_account_and_accept(invitation: Invitation, *, name: str, password: str) -> User:
    """Create the invited person's account (or give a password to one that had none), then accept."""
    check_usable(invitation)
    person = _required_line(
        name, "name", 200, _("Indiquez votre nom, tel que vos partenaires le connaissent.")
    )
    try:
        check_new_password(password)
    except Invalid as error:
        raise FieldInvalid("password", str(error)) from None
    user = find_user(invitation.email)
    if user is not None and user.password_hash:
        raise Conflict(
            _(
                "Un compte existe déjà pour %(email)s : connectez-vous pour accepter l'invitation.",
                email=user.email,
            )
        )
    if user is None:
        user = create_user(invitation.email, name=person, password=password)
        record_event(
            "account.created", actor_id=user.id, consortium_id=invitation.consortium_id, email=user.email
        )
    else:
        user.name = person
        set_password(user, password)
        record_event(
            "account.password_set", actor_id=user.id, consortium_id=invitation.consortium_id, email=user.email
        )
    accept_invitation(invitation, user=user)
    return user
