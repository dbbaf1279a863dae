"""The activity feed of a consortium: events filtered, paginated and told in French."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import Select, func, or_, select

from app import content_version
from app.activity.descriptions import Change
from app.activity.labels import GROUP_LABELS, HIDDEN_KINDS, describe, group_of, kinds_of, label_of
from app.annexes.models import ANNEX_KIND_LABELS
from app.audit import AuditEvent
from app.auth.models import User
from app.budget.models import ExpenseCategory, Funder, IndicatorDefinition
from app.consortia.models import Consortium, Partner, RoleGrant
from app.errors import NotAllowed
from app.extensions import db
from app.permissions import can_manage_consortium, can_view_activity, grant_of
from app.sections.models import Section
from app.templating import paris_midnight

PER_PAGE = 50
REFUSAL = "Le journal d'activité est réservé à la coordination et aux personnes des membres du consortium."


def feed_scope(user: User, consortium: Consortium) -> int | None:
    """The partner whose events the person may see, or None for the whole consortium (coordination)."""
    if not can_view_activity(user, consortium):
        raise NotAllowed(
            _("Le journal d'activité est réservé à la coordination et aux membres du consortium.")
        )
    if can_manage_consortium(user, consortium):
        return None
    grant = grant_of(user, consortium)
    if grant is None or grant.partner_id is None:  # never the whole log by accident
        raise NotAllowed(_(REFUSAL))
    return grant.partner_id


@dataclass(frozen=True)
class FeedFilters:
    """What the feed is narrowed to; empty fields filter nothing."""

    partner_id: int | None = None
    actor_id: int | None = None
    group: str | None = None
    start: date | None = None
    end: date | None = None


@dataclass(frozen=True)
class FeedEntry:
    """One event as the feed shows it."""

    id: int
    at: datetime
    kind: str
    label: str
    group: str | None
    actor: str
    partner: str
    subject: str
    changes: tuple[Change, ...]
    note: str
    link: str | None


@dataclass(frozen=True)
class FeedPage:
    """One page of the feed."""

    entries: tuple[FeedEntry, ...]
    total: int
    page: int
    pages: int


def _parse_date(value: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        pass
    try:
        return datetime.strptime(value, "%d/%m/%Y").date()
    except ValueError as error:
        raise ValueError(value) from error


def parse_filters(
    consortium: Consortium, args: Mapping[str, str], *, scope: int | None
) -> tuple[FeedFilters, list[str]]:
    """The filters asked for in the address, and a French message for each one that cannot be used."""
    errors: list[str] = []
    partner_id = actor_id = None
    group = None
    partner_code = (args.get("membre") or "").strip()
    if partner_code and scope is None:
        partner = next((p for p in consortium.partners if p.code == partner_code), None)
        if partner is None:
            errors.append(_("Ce membre ne fait pas partie du consortium : le filtre par membre est ignoré."))
        else:
            partner_id = partner.id
    person = (args.get("personne") or "").strip()
    if person:
        if person.isdecimal() and int(person) in {user.id for user in people_choices(consortium, scope)}:
            actor_id = int(person)
        else:
            errors.append(
                _("Cette personne n'apparaît pas dans le journal : le filtre par personne est ignoré.")
            )
    wanted_group = (args.get("type") or "").strip()
    if wanted_group:
        if wanted_group in GROUP_LABELS:
            group = wanted_group
        else:
            errors.append(_("Ce type d'action n'existe pas : le filtre par type est ignoré."))
    start = end = None
    for key, label in (("du", "de début"), ("au", "de fin")):
        try:
            parsed = _parse_date(args.get(key) or "")
        except ValueError:
            errors.append(
                _("La date %(which)s n'est pas une date valide (jj/mm/aaaa) : elle est ignorée.", which=label)
            )
            continue
        if key == "du":
            start = parsed
        else:
            end = parsed
    if start and end and end < start:
        errors.append(
            _("La période est inversée : la date de fin précède la date de début. Elle est ignorée.")
        )
        start = end = None
    return FeedFilters(partner_id=partner_id, actor_id=actor_id, group=group, start=start, end=end), errors


def _query(consortium: Consortium, filters: FeedFilters, scope: int | None) -> Select[AuditEvent]:
    query = select(AuditEvent).where(
        AuditEvent.consortium_id == consortium.id, AuditEvent.kind.not_in(sorted(HIDDEN_KINDS))
    )
    if scope is not None:
        query = query.where(AuditEvent.partner_id == scope)
    elif filters.partner_id is not None:
        query = query.where(AuditEvent.partner_id == filters.partner_id)
    if filters.actor_id is not None:
        query = query.where(AuditEvent.actor_id == filters.actor_id)
    if filters.group is not None:
        query = query.where(AuditEvent.kind.in_(kinds_of(filters.group)))
    if filters.start is not None:
        query = query.where(AuditEvent.at >= paris_midnight(filters.start))
    if filters.end is not None:
        # The whole last day, in Paris time (a day of 23 or 25 hours at the clock changes).
        query = query.where(AuditEvent.at < paris_midnight(filters.end + timedelta(days=1)))
    return query


def latest_event_id(consortium: Consortium) -> int:
    """The consortium's newest event (events are only ever added): the feed is the same until it moves."""
    return (
        db.session.scalar(select(func.max(AuditEvent.id)).where(AuditEvent.consortium_id == consortium.id))
        or 0
    )


def people_choices(consortium: Consortium, scope: int | None) -> list[User]:
    """The people the person filter offers: those with a role here and those who acted in the feed."""
    actors = select(AuditEvent.actor_id).where(AuditEvent.consortium_id == consortium.id)
    members = select(RoleGrant.user_id).where(RoleGrant.consortium_id == consortium.id)
    if scope is not None:
        actors = actors.where(AuditEvent.partner_id == scope)
        members = members.where(RoleGrant.partner_id == scope)
    return list(
        db.session.scalars(
            select(User).where(or_(User.id.in_(actors), User.id.in_(members))).order_by(User.name, User.id)
        )
    )


def _labels(consortium: Consortium) -> dict[str, dict[str, str]]:
    """The budget lines' and indicators' labels by code (they change with the content version)."""
    labels: dict[str, dict[str, str]] = {}
    for key, model in (
        ("category", ExpenseCategory),
        ("funder", Funder),
        ("indicator", IndicatorDefinition),
    ):
        rows = db.session.execute(select(model.code, model.label).where(model.consortium_id == consortium.id))
        labels[key] = {str(code): str(label) for code, label in rows}
    return labels


class _Names:
    """Turns identifiers stored in events into the names people know (looked up once per page)."""

    def __init__(self, consortium: Consortium, events: list[AuditEvent]) -> None:
        self.consortium = consortium
        self.partners_by_id = {p.id: p for p in consortium.partners}
        self.partners_by_code = {p.code: p for p in consortium.partners}
        self.sections = {
            s.code: s
            for s in db.session.scalars(select(Section).where(Section.consortium_id == consortium.id))
        }
        user_ids = {e.actor_id for e in events if e.actor_id is not None}
        for event in events:
            for pair in (event.data.get("old"), event.data.get("new")):
                if isinstance(pair, dict) and isinstance(pair.get("writer_user_id"), int):
                    user_ids.add(pair["writer_user_id"])
        self.users = (
            {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(user_ids)))}
            if user_ids
            else {}
        )
        emails = {
            e.data["user"]
            for e in events
            if e.kind.startswith("role.") and isinstance(e.data.get("user"), str)
        }
        self.names_by_email = (
            {u.email: u.name for u in db.session.scalars(select(User).where(User.email.in_(emails)))}
            if emails
            else {}
        )
        self.labels = content_version.remembered(consortium, "activity-labels", lambda: _labels(consortium))

    def __call__(self, what: str, key: Any) -> str:
        if key is None or key == "":
            return "—"
        if what == "section":
            section = self.sections.get(str(key))
            return section.title if section else str(key)
        if what in ("partner", "writer_partner_id", "partner_id"):
            partner = (
                self.partners_by_id.get(key) if isinstance(key, int) else self.partners_by_code.get(str(key))
            )
            return partner.name if partner else str(key)
        if what in ("user_id", "writer_user_id"):
            user = self.users.get(key) if isinstance(key, int) else None
            return user.name if user else _("personne supprimée")
        if what == "user_email":
            person = self.names_by_email.get(str(key))
            return f"{person} ({key})" if person else str(key)
        if what in self.labels:
            return self.labels[what].get(str(key), str(key))
        if what == "annex_kind":
            return next((label for kind, label in ANNEX_KIND_LABELS.items() if kind.value == key), str(key))
        return str(key)

    def actor(self, event: AuditEvent) -> str:
        if event.actor_id is None:
            if event.kind == "volunteer.requested":
                return _("Candidature publique")
            return _("Consortio (automatique)")
        user = self.users.get(event.actor_id)
        return user.name if user else _("Compte supprimé")

    def partner_of(self, event: AuditEvent) -> Partner | None:
        if event.partner_id is not None:
            return self.partners_by_id.get(event.partner_id)
        code = event.data.get("partner")
        return self.partners_by_code.get(code) if isinstance(code, str) else None


def _link(consortium: Consortium, event: AuditEvent, partner: Partner | None, names: _Names) -> str | None:
    """Where the object of the event lives, when it still exists and has a page."""
    kind, data, slug = event.kind, event.data, consortium.slug
    if kind.startswith("section."):
        code = data.get("section") or data.get("code")
        section = names.sections.get(str(code)) if code else None
        if section is None or section.archived_at is not None:
            return None
        anchor = f"#commentaire-{data['comment_id']}" if data.get("comment_id") else ""
        return url_for("sections.edit", slug=slug, code=section.code) + anchor
    if kind.startswith("budget.") and partner is not None:
        grid = {
            "budget.staff_changed": "commitments.staff",
            "budget.indicator_changed": "commitments.indicators",
        }.get(kind, "commitments.budget")
        return url_for(grid, slug=slug, partner_code=partner.code)
    if kind.startswith(("partner.", "role.")) and partner is not None:
        return url_for("members.partner", slug=slug, code=partner.code)
    endpoints = {
        "consortium.settings_changed": "opening.settings",
        "annex.uploaded": "annexes.index",
        "annex.requirements_changed": "annexes.requirements",
        "milestone.added": "coordination.milestones",
        "milestone.changed": "coordination.milestones",
        "reminder.sent": "coordination.milestones",
        "dossier.frozen": "dossier.index",
        "dossier.exported": "dossier.index",
    }
    endpoint: str | None = endpoints.get(kind)
    if endpoint is None and kind.startswith("budget_model."):
        endpoint = "opening.settings"
    return url_for(endpoint, slug=slug) if endpoint else None


def feed(consortium: Consortium, filters: FeedFilters, *, scope: int | None, page: int = 1) -> FeedPage:
    """One page of the consortium's events, newest first."""
    query = _query(consortium, filters, scope)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, math.ceil(total / PER_PAGE))
    page = min(max(page, 1), pages)
    events = list(
        db.session.scalars(
            query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .offset((page - 1) * PER_PAGE)
            .limit(PER_PAGE)
        )
    )
    names = _Names(consortium, events)
    entries = []
    for event in events:
        partner = names.partner_of(event)
        description = describe(event.kind, event.data or {}, names)
        entries.append(
            FeedEntry(
                id=event.id,
                at=event.at,
                kind=event.kind,
                label=label_of(event.kind),
                group=group_of(event.kind),
                actor=names.actor(event),
                partner=partner.name if partner else "",
                subject=description.subject,
                changes=tuple(description.changes),
                note=description.note,
                link=_link(consortium, event, partner, names),
            )
        )
    return FeedPage(entries=tuple(entries), total=total, page=page, pages=pages)
