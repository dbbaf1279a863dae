"""Accepting an invitation: the link is checked, the role given (and the invited organisation's partner
created), with a new account when the person has none.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from app.audit import EventKind, record_event
from app.auth.models import User, normalise_email
from app.auth.services import (
    check_new_password,
    create_user,
    find_user,
    set_password,
)
from app.consortia.models import (
    ROLE_LABELS,
    Invitation,
    Organisation,
    Partner,
    Role,
    RoleGrant,
)
from app.consortia.services import (
    add_partner,
    find_organisation,
    grant_role,
    member_of,
    role_description,
    role_of,
)
from app.consortia.validation import (
    FieldInvalid,
    required_line,
)
from app.errors import Conflict, Invalid, NotAllowed
from app.extensions import db
from app.invitations.services import InvitationState, InvitationUnusable, invitation_state, token_hash
from app.templating import french_datetime


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
    partner = member_of(invitation.consortium, organisation)
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
    current = role_of(consortium, user.email)
    if current is not None:
        raise Conflict(
            _(
                "Vous avez déjà un rôle dans ce consortium (%(role)s) : l'invitation n'a pas été utilisée. "
                "Demandez à la coordination de modifier votre rôle si besoin.",
                role=role_description(current),
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
        partner = add_partner(
            consortium,
            organisation,
            contact={"role": str(ROLE_LABELS[Role.DIRECTOR]), "email": user.email},
            by=user,
        )
        invitation.partner_id = partner.id
    grant = grant_role(user, consortium, invitation.role, partner, by=user)
    record_event(
        EventKind.INVITATION_ACCEPTED,
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
    person = required_line(
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
            EventKind.ACCOUNT_CREATED,
            actor_id=user.id,
            consortium_id=invitation.consortium_id,
            email=user.email,
        )
    else:
        user.name = person
        set_password(user, password)
        record_event(
            EventKind.ACCOUNT_PASSWORD_SET,
            actor_id=user.id,
            consortium_id=invitation.consortium_id,
            email=user.email,
        )
    accept_invitation(invitation, user=user)
    return user
