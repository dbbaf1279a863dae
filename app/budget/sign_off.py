"""Sign-off: a partner's director certifies its figures; any later change to them voids it.

Validity is derived from the digest of the figures (app/budget/figures.load); `voided_at` only
records when a save was first seen to void a sign-off, which is when people are told.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from app import content_version
from app.audit import EventKind, record_event
from app.auth.models import User
from app.budget import calculations as calc
from app.budget.models import SignOff
from app.budget.services import consolidation_of
from app.consortia.models import Consortium, Partner, Role, RoleGrant
from app.database import utcnow
from app.errors import Invalid, NotAllowed
from app.extensions import db
from app.mail.services import public_link, queue_mail
from app.notifications.models import NotificationKind
from app.notifications.services import notify
from app.permissions import can_manage_consortium, can_sign_off

CERTIFICATION = "Je certifie l'exactitude de ces engagements"


@dataclass(frozen=True)
class PartnerSignOff:
    """A partner's sign-off state: the latest one, whether it is valid, and every past one."""

    partner: Partner
    state: calc.SignOffState
    latest: SignOff | None
    history: tuple[SignOff, ...]  # newest first
    digest: str  # the digest of the figures as they are now


def _digests(consortium: Consortium) -> dict[str, str]:
    """Each partner's figures digest, by partner code (computed once per content version)."""

    def compute() -> dict[str, str]:
        plain = consolidation_of(consortium).data.figures
        return {p.id: calc.figures_digest(plain.model, plain.indicators, p) for p in plain.partners}

    return content_version.remembered(consortium, "figure-digests", compute)


def _history(partners: Sequence[Partner]) -> dict[int, list[SignOff]]:
    rows = db.session.scalars(
        select(SignOff)
        .where(SignOff.partner_id.in_([p.id for p in partners]))
        .order_by(SignOff.recorded_at.desc(), SignOff.id.desc())
    )
    history: dict[int, list[SignOff]] = {p.id: [] for p in partners}
    for row in rows:
        history[row.partner_id].append(row)
    return history


def _state(latest: SignOff | None, digest: str) -> calc.SignOffState:
    if latest is None:
        return calc.SignOffState.NONE
    return calc.SignOffState.VALID if latest.digest == digest else calc.SignOffState.VOID


def state_of(partner: Partner) -> PartnerSignOff:
    """The partner's sign-off as of its current figures."""
    digest = _digests(partner.consortium)[partner.code]
    history = _history([partner])[partner.id]
    latest = history[0] if history else None
    return PartnerSignOff(partner, _state(latest, digest), latest, tuple(history), digest)


@dataclass(frozen=True)
class SignOffRecord:
    """One certification as the partner's pages show it (plain values)."""

    at: datetime
    by_email: str
    voided_at: datetime | None


@dataclass(frozen=True)
class ShownSignOff:
    """What the partner's pages show of its sign-off: the state, the latest and every past one."""

    state: calc.SignOffState
    latest: SignOffRecord | None
    history: tuple[SignOffRecord, ...]  # newest first


def shown_state(partner: Partner) -> ShownSignOff:
    """The partner's sign-off for its pages, read once per content version (a signature moves it)."""

    def build() -> ShownSignOff:
        current = state_of(partner)
        rows = tuple(SignOffRecord(row.at, row.by_email, row.voided_at) for row in current.history)
        return ShownSignOff(current.state, rows[0] if rows else None, rows)

    return content_version.remembered(partner.consortium, ("sign-off", partner.id), build)


def states_of(consortium: Consortium) -> list[PartnerSignOff]:
    """Every partner's sign-off, in the consortium's order (constant number of queries)."""
    digests = _digests(consortium)
    partners = sorted(consortium.partners, key=lambda p: p.position)
    history = _history(partners)
    result = []
    for partner in partners:
        rows = history[partner.id]
        latest = rows[0] if rows else None
        result.append(
            PartnerSignOff(
                partner, _state(latest, digests[partner.code]), latest, tuple(rows), digests[partner.code]
            )
        )
    return result


def sign(partner: Partner, *, certified: bool, by: User) -> SignOff:
    """Record the director's certification of the partner's current figures."""
    if not can_sign_off(by, partner):
        raise NotAllowed(_("Seule la direction de ce membre peut certifier ses engagements."))
    if not partner.is_active:
        raise Invalid(
            _(
                "%(partner)s s'est retiré du consortium : ses chiffres ne se signent plus.",
                partner=partner.name,
            )
        )
    if not certified:
        raise Invalid(_("Cochez « Je certifie l'exactitude de ces engagements » pour signer."))
    current = state_of(partner)
    now = utcnow()
    row = SignOff(
        partner_id=partner.id,
        by_email=by.email,
        by_user_id=by.id,
        at=now,
        at_utc_offset_minutes=0,
        digest=current.digest,
        recorded_at=now,
    )
    db.session.add(row)
    db.session.flush()
    record_event(
        EventKind.BUDGET_SIGNED_OFF,
        actor_id=by.id,
        consortium_id=partner.consortium_id,
        partner_id=partner.id,
        partner=partner.code,
        digest=current.digest,
        previous=current.state.value,
    )
    return row


def directors_of(partner: Partner) -> list[User]:
    """The people who direct the partner."""
    grants = db.session.scalars(
        select(RoleGrant).where(RoleGrant.partner_id == partner.id, RoleGrant.role == Role.DIRECTOR)
    )
    return sorted((grant.user for grant in grants), key=lambda user: user.email)


def _coordinators(consortium: Consortium) -> list[User]:
    grants = db.session.scalars(
        select(RoleGrant).where(RoleGrant.consortium_id == consortium.id, RoleGrant.role == Role.COORDINATOR)
    )
    return sorted((grant.user for grant in grants), key=lambda user: user.email)


def is_valid(partner: Partner) -> bool:
    """Whether the partner's latest sign-off matches its figures now (call before a save)."""
    return state_of(partner).state is calc.SignOffState.VALID


def void_if_changed(partner: Partner, *, by: User, was_valid: bool | None = None) -> bool:
    """After a save: if it voided the partner's valid sign-off, record when and tell the people concerned.

    `was_valid` is `is_valid(partner)` taken before the save; without it, a sign-off that was already
    void (an imported one, say) and never marked is treated as voided by this save.
    """
    current = state_of(partner)
    latest = current.latest
    if latest is None or current.state is not calc.SignOffState.VOID or latest.voided_at is not None:
        return False
    if was_valid is False:
        return False
    latest.voided_at = utcnow()
    record_event(
        EventKind.BUDGET_SIGN_OFF_VOIDED,
        actor_id=by.id,
        consortium_id=partner.consortium_id,
        partner_id=partner.id,
        partner=partner.code,
        sign_off_id=latest.id,
    )
    consortium = partner.consortium
    link = public_link("commitments.budget", slug=consortium.slug, partner_code=partner.code)
    recipients = {
        user.email: user for user in (*directors_of(partner), *_coordinators(consortium)) if user.active
    }
    for email in sorted(recipients):
        notify(
            recipients[email],
            NotificationKind.SIGN_OFF_VOIDED,
            subject=_("%(partner)s : la signature des engagements est caduque", partner=partner.name),
            template="sign_off_voided",
            consortium=consortium,
            partner=partner,
            by=by,
            signed=latest,
            link=link,
        )
    db.session.flush()
    return True


def reminder_recipients(partner: Partner) -> list[str]:
    """Who a reminder goes to: the partner's directors, else its listed contacts."""
    return recipients_of([partner])[partner.id]


def recipients_of(partners: list[Partner]) -> dict[int, list[str]]:
    """Each partner's reminder recipients (its active directors, else its contacts), in one query."""
    directors: dict[int, list[str]] = {partner.id: [] for partner in partners}
    for partner_id, email in db.session.execute(
        select(RoleGrant.partner_id, User.email)
        .join(User, User.id == RoleGrant.user_id)
        .where(
            RoleGrant.partner_id.in_(list(directors)),
            RoleGrant.role == Role.DIRECTOR,
            User.active.is_(True),
        )
        .order_by(User.email)
    ):
        if partner_id is not None:
            directors[partner_id].append(email)
    return {
        partner.id: directors[partner.id]
        or sorted({contact["email"] for contact in partner.contacts or [] if contact.get("email")})
        for partner in partners
    }


def reminder_context(partner: Partner, state: calc.SignOffState, *, by: User) -> dict[str, object]:
    """What a reminder e-mail says, for the preview and the outbox alike."""
    consortium = partner.consortium
    return {
        "partner": partner,
        "state": state.value,
        "by": by,
        "link": public_link("commitments.budget", slug=consortium.slug, partner_code=partner.code),
    }


def reminder_subject(partner: Partner) -> str:
    """The subject of a reminder."""
    return _("%(partner)s : vos engagements attendent la signature de la direction", partner=partner.name)


def to_remind(consortium: Consortium, code: str | None) -> list[PartnerSignOff]:
    """The active partners a reminder goes to: one, or all those not validly signed."""
    states = [
        s for s in states_of(consortium) if s.partner.is_active and s.state is not calc.SignOffState.VALID
    ]
    if code is not None:
        states = [s for s in states if s.partner.code == code]
    return states


def send_reminders(consortium: Consortium, code: str | None, *, by: User) -> int:
    """Queue a reminder to each partner not validly signed (one, or all); the number of e-mails queued."""
    if not can_manage_consortium(by, consortium):
        raise NotAllowed(_("Seule la coordination envoie des relances."))
    targets = to_remind(consortium, code)
    if not targets:
        raise Invalid(_("Aucun membre à relancer : tous les membres actifs concernés ont signé."))
    sent = 0
    for target in targets:
        recipients = reminder_recipients(target.partner)
        for email in recipients:
            queue_mail(
                email,
                "sign_off_reminder",
                subject=reminder_subject(target.partner),
                kind="sign_off_reminder",
                consortium=consortium,
                **reminder_context(target.partner, target.state, by=by),
            )
            sent += 1
        record_event(
            EventKind.BUDGET_SIGN_OFF_REMINDED,
            actor_id=by.id,
            consortium_id=consortium.id,
            partner_id=target.partner.id,
            partner=target.partner.code,
            recipients=recipients,
        )
    db.session.flush()
    return sent
