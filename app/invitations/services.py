"""Invitations by e-mail: to an organisation (its director) or to a person; listed, revoked, resent.

An invitation is a single-use link, valid 14 days, whose token is only stored hashed.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from app.audit import EventKind, record_event
from app.auth.models import User
from app.consortia.models import (
    PARTNER_ROLES,
    ROLE_LABELS,
    Consortium,
    Invitation,
    Partner,
    Role,
)
from app.consortia.services import (
    MANAGERS_ONLY,
    find_organisation,
    member_of,
    require_manager,
    role_description,
    role_of,
)
from app.consortia.validation import (
    FieldInvalid,
    checked_email,
    normalise_departements,
    required_line,
    visible_text,
)
from app.errors import Conflict, DomainError, Invalid, NotAllowed
from app.extensions import db
from app.mail.services import public_link, queue_mail
from app.permissions import (
    can_invite,
    can_manage_consortium,
    can_manage_invitation,
    can_view_invitations,
    partner_acted_for,
)
from app.templating import french_datetime

INVITATION_VALIDITY = timedelta(days=14)


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


def new_invitation(
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
    invitation, token = new_invitation(
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
        EventKind.INVITATION_CREATED,
        actor_id=by.id,
        consortium_id=consortium.id,
        partner_id=partner.id if partner is not None else None,
        invitation_id=invitation.id,
        email=email,
        role=role.value,
        **logged,
    )
    send_invitation(invitation, token, inviter=by)
    db.session.flush()
    return invitation


def send_invitation(invitation: Invitation, token: str, *, inviter: User) -> None:
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
        link=public_link("invitations.accept", token=token),
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
    grant = role_of(consortium, address)
    if grant is not None:
        raise FieldInvalid(
            "email",
            _(
                "%(email)s a déjà un rôle dans ce consortium (%(role)s) : pas besoin de l'inviter.",
                email=address,
                role=role_description(grant),
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
    require_manager(consortium, by, MANAGERS_ONLY)
    organisation = required_line(
        organisation_name, "organisation_name", 300, _("Indiquez le nom de l'organisation.")
    )
    departements = normalise_departements(departement)
    person = required_line(name, "name", 200, _("Indiquez le nom de la personne invitée."))
    member = member_of(consortium, find_organisation(organisation, departements, None))
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
    if role not in PARTNER_ROLES:
        if not can_invite(by, consortium, role, None):
            raise NotAllowed(str(MANAGERS_ONLY))
        if role == Role.COORDINATOR:
            partner = consortium.lead_partner
            if partner is None:
                raise Invalid(_("Désignez d'abord le chef de file : la coordination lui est rattachée."))
        else:
            partner = None
    else:
        if partner is None or partner.consortium_id != consortium.id:
            raise FieldInvalid("partner", _("Choisissez le membre du consortium que la personne rejoint."))
        if not can_invite(by, consortium, role, partner):
            raise NotAllowed(_("Vous ne pouvez inviter que des collègues de votre propre organisation."))
        if not partner.is_active:
            raise FieldInvalid("partner", _("« %(name)s » s'est retiré du consortium.", name=partner.name))
    person = required_line(name, "name", 200, _("Indiquez le nom de la personne invitée."))
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
    if not can_view_invitations(user, consortium):
        return []
    if not can_manage_consortium(user, consortium):
        own = partner_acted_for(user, consortium)
        assert own is not None  # a director sees its own partner's invitations
        query = query.where(Invitation.partner_id == own.id, Invitation.organisation_name.is_(None))
    return list(db.session.scalars(query))


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
        EventKind.INVITATION_REVOKED,
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
        EventKind.INVITATION_RESENT,
        actor_id=by.id,
        consortium_id=invitation.consortium_id,
        invitation_id=invitation.id,
        email=invitation.email,
        send_count=invitation.send_count,
    )
    send_invitation(invitation, token, inviter=by)
    db.session.flush()


def _not_changeable(invitation: Invitation) -> Conflict:
    if invitation.accepted_at is not None:
        return Conflict(_("Cette invitation a déjà été acceptée : rien n'a été modifié."))
    return Conflict(_("Cette invitation a déjà été annulée : rien n'a été modifié."))
