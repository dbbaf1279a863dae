"""Milestones: internal deadlines set by the coordination, and what each still lacks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app.audit import EventKind, audit_value, record_event
from app.auth.models import User
from app.consortia.models import Consortium
from app.coordination.models import Milestone
from app.coordination.owed import KIND_LABELS, KINDS, Owed, OwedItem, PartnerOwed, board_owed
from app.database import utcnow
from app.errors import Invalid, NotAllowed, NotFound
from app.extensions import db
from app.permissions import can_coordinate
from app.templating import PARIS, french_date

TITLE_MAX = 200
REMIND_MAX = 365


def paris_today() -> date:
    """Today's date in Paris, whatever the server's time zone."""
    return utcnow().astimezone(PARIS).date()


def countdown(deadline: date | None, today: date) -> str:
    """ "J-12", "Jour J", or how long ago the date passed."""
    if deadline is None:
        return ""
    days = (deadline - today).days
    if days > 0:
        return f"J-{days}"
    if days == 0:
        return _("Jour J")
    return _("Dépassé de %(days)s jour(s)", days=-days)


@dataclass(frozen=True)
class MilestoneDraft:
    """A milestone as the coordinator typed it, checked."""

    title: str
    due_date: date
    covers: tuple[str, ...]
    remind_days_before: int | None


def read_draft(
    consortium: Consortium,
    *,
    title: str,
    due_date: str,
    covers: Sequence[str],
    remind_days_before: str,
    today: date | None = None,
    previous_due: date | None = None,
) -> MilestoneDraft:
    """Check what the form gave; every problem is reported at once, in French."""
    today = today or paris_today()
    errors: list[str] = []
    if any("\x00" in value for value in (title, due_date, remind_days_before, *covers)):
        raise Invalid(_("Le formulaire contient un caractère interdit."))
    clean_title = " ".join(title.split())
    if not clean_title:
        errors.append(_("Donnez un titre à l'échéance."))
    elif len(clean_title) > TITLE_MAX:
        errors.append(_("Le titre ne doit pas dépasser %(max)s caractères.", max=TITLE_MAX))
    due: date | None = None
    try:
        due = date.fromisoformat(due_date.strip())
    except ValueError:
        errors.append(_("Indiquez une date d'échéance valide (jj/mm/aaaa)."))
    if due is not None and due != previous_due:
        if due < today:
            errors.append(_("La date d'échéance (%(due)s) est déjà passée.", due=french_date(due)))
        deadline = consortium.call.submission_deadline
        if deadline is not None and due > deadline:
            errors.append(
                _(
                    "L'échéance (%(due)s) ne peut pas tomber après la date de dépôt du dossier "
                    "(%(deadline)s).",
                    due=french_date(due),
                    deadline=french_date(deadline),
                )
            )
    chosen = tuple(kind for kind in KINDS if kind in set(covers))
    if set(covers) - set(KINDS):
        errors.append(_("Un des éléments cochés n'existe pas."))
    elif not chosen:
        errors.append(_("Cochez au moins un élément concerné par l'échéance."))
    remind: int | None = None
    raw = remind_days_before.strip()
    if raw:
        if not raw.isascii() or not raw.isdigit() or int(raw) > REMIND_MAX:
            errors.append(
                _(
                    "Le rappel se donne en jours avant l'échéance : un nombre entier de 0 à %(max)s.",
                    max=REMIND_MAX,
                )
            )
        else:
            remind = int(raw)
    if errors or due is None:
        raise Invalid(" ".join(errors))
    return MilestoneDraft(clean_title, due, chosen, remind)


def _require(consortium: Consortium, by: User) -> None:
    if not can_coordinate(by, consortium):
        raise NotAllowed(_("Seule la coordination gère les échéances."))


def milestones_of(consortium: Consortium) -> list[Milestone]:
    """The consortium's milestones, soonest first."""
    return list(
        db.session.scalars(
            select(Milestone)
            .where(Milestone.consortium_id == consortium.id)
            .order_by(Milestone.due_date, Milestone.id)
        )
    )


def milestone_of(consortium: Consortium, milestone_id: int) -> Milestone:
    """One milestone of this consortium (another consortium's is not found)."""
    milestone = db.session.get(Milestone, milestone_id)
    if milestone is None or milestone.consortium_id != consortium.id:
        raise NotFound(_("Cette échéance n'existe pas."))
    return milestone


def _values(milestone: Milestone) -> dict[str, Any]:
    return {
        "title": milestone.title,
        "due_date": audit_value(milestone.due_date),
        "covers": list(milestone.covers or []),
        "remind_days_before": milestone.remind_days_before,
    }


def add_milestone(consortium: Consortium, draft: MilestoneDraft, *, by: User) -> Milestone:
    """Add a milestone to the consortium."""
    _require(consortium, by)
    milestone = Milestone(
        consortium_id=consortium.id,
        title=draft.title,
        due_date=draft.due_date,
        covers=list(draft.covers),
        remind_days_before=draft.remind_days_before,
        created_by_id=by.id,
    )
    db.session.add(milestone)
    db.session.flush()
    record_event(
        EventKind.MILESTONE_ADDED,
        actor_id=by.id,
        consortium_id=consortium.id,
        milestone_id=milestone.id,
        **_values(milestone),
    )
    return milestone


def update_milestone(
    milestone: Milestone, draft: MilestoneDraft, consortium: Consortium, *, by: User
) -> bool:
    """Change a milestone; whether anything changed (old → new in the activity log)."""
    _require(consortium, by)
    old = _values(milestone)
    milestone.title = draft.title
    milestone.due_date = draft.due_date
    milestone.covers = list(draft.covers)
    milestone.remind_days_before = draft.remind_days_before
    new = _values(milestone)
    changes = {key: {"old": old[key], "new": new[key]} for key in old if old[key] != new[key]}
    if not changes:
        return False
    db.session.flush()
    record_event(
        EventKind.MILESTONE_CHANGED,
        actor_id=by.id,
        consortium_id=consortium.id,
        milestone_id=milestone.id,
        title=milestone.title,
        changes=changes,
    )
    return True


def remove_milestone(milestone: Milestone, consortium: Consortium, *, by: User) -> None:
    """Delete a milestone (the reminders it caused stay in the log)."""
    _require(consortium, by)
    record_event(
        EventKind.MILESTONE_REMOVED,
        actor_id=by.id,
        consortium_id=consortium.id,
        milestone_id=milestone.id,
        **_values(milestone),
    )
    db.session.delete(milestone)
    db.session.flush()


def covers_labels(milestone: Milestone) -> list[str]:
    """The French names of the kinds a milestone covers."""
    return [KIND_LABELS[kind] for kind in KINDS if kind in (milestone.covers or [])]


@dataclass(frozen=True)
class Lack:
    """What one partner still owes for a milestone."""

    partner: PartnerOwed
    items: tuple[OwedItem, ...]


def lacks_of(milestone: Milestone, owed: Owed) -> list[Lack]:
    """Per partner, the items of the milestone's kinds not done yet (partners owing nothing left out)."""
    result = []
    for row in owed.partners:
        items = row.outstanding_of(milestone.covers or [])
        if items:
            result.append(Lack(row, items))
    return result


def next_deadline(
    consortium: Consortium, milestones: Sequence[Milestone], kinds: set[str], today: date
) -> tuple[date | None, Milestone | None]:
    """The nearest milestone still ahead covering one of these kinds, else the call's deadline."""
    for milestone in milestones:
        if milestone.due_date >= today and kinds & set(milestone.covers or []):
            return milestone.due_date, milestone
    return consortium.call.submission_deadline, None


@dataclass(frozen=True)
class TodoItem:
    """One thing a partner still owes and the date it is due by (a milestone's, else the call's)."""

    item: OwedItem
    due: date | None
    milestone: Milestone | None


@dataclass(frozen=True)
class PartnerTodo:
    """A partner's own list: what it still owes, each with its due date, soonest first."""

    partner: PartnerOwed
    items: tuple[TodoItem, ...]
    deadline: date | None  # the call's submission date

    @property
    def nearest(self) -> TodoItem | None:
        """The item due soonest."""
        dated = [todo for todo in self.items if todo.due is not None]
        return min(dated, key=lambda todo: todo.due or date.max) if dated else None

    @property
    def latest_due(self) -> date | None:
        """The date by which everything left is due."""
        dates = [todo.due for todo in self.items if todo.due is not None]
        return max(dates) if dates else None

    @property
    def overdue(self) -> bool:
        """Whether the date by which everything left is due has already passed (Paris time)."""
        latest = self.latest_due
        return latest is not None and latest < paris_today()

    @property
    def due_soonest(self) -> tuple[TodoItem, ...]:
        """The items due at the nearest date."""
        nearest = self.nearest
        return tuple(t for t in self.items if nearest is not None and t.due == nearest.due)


def todo_of(consortium: Consortium, partner_id: int, today: date | None = None) -> PartnerTodo | None:
    """What a partner still owes, each item due by the nearest milestone covering it, else the deadline."""
    today = today or paris_today()
    row = board_owed(consortium).of(partner_id)
    if row is None:
        return None
    milestones = milestones_of(consortium)
    items = []
    for item in row.outstanding:
        due, milestone = next_deadline(consortium, milestones, {item.kind}, today)
        items.append(TodoItem(item, due, milestone))
    items.sort(key=lambda todo: todo.due or date.max)
    return PartnerTodo(row, tuple(items), consortium.call.submission_deadline)
