"""Leaving and coming back: withdrawal, reinstatement and the lead hand-over, audited and e-mailed."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select, update

from app.audit import EventKind, record_event
from app.auth.models import User
from app.consortia.models import Consortium, Partner, PartnerStatus, Role, RoleGrant
from app.database import utcnow
from app.errors import Conflict, Invalid, NotAllowed, NotFound
from app.extensions import db
from app.mail.services import queue_mail
from app.permissions import can_manage_consortium, can_withdraw_partner

REASON_MAX_CHARS = 2000


def _recipients(consortium: Consortium, *partners: Partner) -> list[str]:
    """The e-mail addresses of the partners' directors and of the coordinators (one query)."""
    ids = [partner.id for partner in partners]
    users = db.session.scalars(
        select(User)
        .join(RoleGrant, RoleGrant.user_id == User.id)
        .where(
            RoleGrant.consortium_id == consortium.id,
            User.active.is_(True),
            (RoleGrant.role == Role.COORDINATOR)
            | ((RoleGrant.role == Role.DIRECTOR) & RoleGrant.partner_id.in_(ids)),
        )
    )
    return sorted({user.email for user in users})


def _notify(partner: Partner, template: str, subject: str, kind: str, **context: Any) -> None:
    consortium = partner.consortium
    for address in _recipients(consortium, partner):
        queue_mail(
            address, template, subject=subject, kind=kind, consortium=consortium, partner=partner, **context
        )


def check_can_withdraw(partner: Partner, *, by: User) -> None:
    """NotAllowed, saying why, unless the user may withdraw the partner (never the lead)."""
    if partner.consortium.lead_partner_id == partner.id:
        raise NotAllowed(
            _(
                "Le chef de file ne peut pas se retirer. La coordination doit d'abord confier le rôle "
                "de chef de file à un autre membre."
            )
        )
    if not can_withdraw_partner(by, partner):
        raise NotAllowed(_("Seules la coordination et la direction de ce membre peuvent le retirer."))


def _switch_status(partner: Partner, current: PartnerStatus, **values: Any) -> bool:
    """Write the values if the partner still has the current status; False (and refreshed) if not."""
    # Conditional: of two simultaneous submits, only one finds the partner still in that status.
    result = db.session.execute(
        update(Partner)
        .where(Partner.id == partner.id, Partner.status == current)
        .values(**values)
        .execution_options(synchronize_session="fetch")
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        db.session.refresh(partner)
        return False
    return True


def withdraw_partner(partner: Partner, *, by: User, reason: str) -> bool:
    """Take a partner out of every total, check and dossier, keeping all it wrote and entered.

    False when it was already withdrawn (a double submit changes nothing)."""
    consortium = partner.consortium
    check_can_withdraw(partner, by=by)
    reason = reason.strip()
    if not reason:
        raise Invalid(_("Indiquez la raison du retrait : elle est communiquée aux autres membres."))
    if len(reason) > REASON_MAX_CHARS:
        raise Invalid(_("La raison du retrait dépasse %(count)d caractères.", count=REASON_MAX_CHARS))
    if not partner.is_active:
        return False
    now = utcnow()
    if not _switch_status(
        partner,
        PartnerStatus.ACTIVE,
        status=PartnerStatus.WITHDRAWN,
        withdrawn_reason=reason,
        withdrawn_at=now,
        withdrawn_by_id=by.id,
    ):
        return False
    record_event(
        EventKind.PARTNER_WITHDRAWN,
        actor_id=by.id,
        consortium_id=consortium.id,
        partner_id=partner.id,
        partner=partner.code,
        old="active",
        new="withdrawn",
        reason=reason,
    )
    _notify(
        partner,
        "partner_withdrawn",
        _(
            "%(partner)s s'est retiré du consortium %(consortium)s",
            partner=partner.name,
            consortium=consortium.title,
        ),
        "partner.withdrawn",
        reason=reason,
        by=by,
    )
    db.session.flush()
    return True


def reinstate_partner(partner: Partner, *, by: User) -> bool:
    """Bring a withdrawn partner back into every total; False when it was already active."""
    consortium = partner.consortium
    if not can_manage_consortium(by, consortium):
        raise NotAllowed(_("Seule la coordination peut réintégrer un membre."))
    if partner.is_active:
        return False
    old_reason = partner.withdrawn_reason
    if not _switch_status(
        partner,
        PartnerStatus.WITHDRAWN,
        status=PartnerStatus.ACTIVE,
        withdrawn_reason="",
        withdrawn_at=None,
        withdrawn_by_id=None,
    ):
        return False
    record_event(
        EventKind.PARTNER_REINSTATED,
        actor_id=by.id,
        consortium_id=consortium.id,
        partner_id=partner.id,
        partner=partner.code,
        old="withdrawn",
        new="active",
        withdrawn_reason=old_reason,
    )
    _notify(
        partner,
        "partner_reinstated",
        _(
            "%(partner)s réintègre le consortium %(consortium)s",
            partner=partner.name,
            consortium=consortium.title,
        ),
        "partner.reinstated",
        by=by,
    )
    db.session.flush()
    return True


def lead_candidates(consortium: Consortium) -> list[Partner]:
    """The partners that may become lead: active ones other than the current lead."""
    return [
        partner
        for partner in consortium.partners
        if partner.is_active and partner.id != consortium.lead_partner_id
    ]


def hand_over_lead(consortium: Consortium, new_lead: Partner, *, by: User) -> bool:
    """Make another active partner the lead; coordinators keep their role (False when already lead)."""
    if not can_manage_consortium(by, consortium):
        raise NotAllowed(_("Seule la coordination peut confier le rôle de chef de file."))
    if new_lead.consortium_id != consortium.id:
        raise NotFound(_("Ce membre n'existe pas dans ce consortium."))
    if consortium.lead_partner_id == new_lead.id:
        return False
    if not new_lead.is_active:
        raise Invalid(_("Un membre retiré ne peut pas devenir chef de file : réintégrez-le d'abord."))
    old_lead = consortium.lead_partner
    result = db.session.execute(
        update(Consortium)
        .where(Consortium.id == consortium.id, Consortium.lead_partner_id == consortium.lead_partner_id)
        .values(lead_partner_id=new_lead.id)
        .execution_options(synchronize_session="fetch")
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(_("Le chef de file vient d'être changé par quelqu'un d'autre : vérifiez la liste."))
    db.session.refresh(consortium)
    record_event(
        EventKind.CONSORTIUM_LEAD_CHANGED,
        actor_id=by.id,
        consortium_id=consortium.id,
        old=old_lead.code if old_lead else None,
        new=new_lead.code,
    )
    subject = _(
        "%(partner)s devient chef de file du consortium %(consortium)s",
        partner=new_lead.name,
        consortium=consortium.title,
    )
    partners = [new_lead] + ([old_lead] if old_lead else [])
    for address in _recipients(consortium, *partners):
        queue_mail(
            address,
            "partner_lead",
            subject=subject,
            kind="consortium.lead_changed",
            consortium=consortium,
            partner=new_lead,
            old_lead=old_lead,
            by=by,
        )
    db.session.flush()
    return True
