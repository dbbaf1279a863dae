"""Coordination: the board of what each partner still owes, milestones, reminders."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from app import content_version
from app.consortia.models import Consortium
from app.consortia.services import visible_consortium
from app.coordination import reminders, services
from app.coordination.cli import send_reminders
from app.coordination.models import Milestone
from app.coordination.owed import KIND_LABELS, KINDS, STATE_LABELS, STATES, Owed, board_owed
from app.errors import DomainError, Invalid, NotAllowed, NotFound
from app.extensions import db
from app.permissions import can_coordinate, partner_acted_for

# cli_group=None: commands registered here are top-level (`flask --app wsgi <command>`).
bp = Blueprint("coordination", __name__, cli_group=None)
bp.cli.add_command(send_reminders)


@bp.app_context_processor
def _partner_todo() -> dict[str, Any]:
    # The overview (a lower feature's page) shows a partner's people what it still owes, without
    # importing coordination: its template calls this.
    def partner_todo(consortium: Consortium) -> services.PartnerTodo | None:
        partner = partner_acted_for(current_user, consortium)
        return None if partner is None else services.todo_of(consortium, partner.id)

    return {"partner_todo": partner_todo}


def _coordinated(slug: str) -> Consortium:
    consortium = visible_consortium(slug, current_user)
    if not can_coordinate(current_user, consortium):
        raise NotAllowed(_("Le suivi et les relances sont réservés à la coordination."))
    return consortium


@bp.get("/consortia/<slug>/suivi")
def board(slug: str) -> ResponseReturnValue:
    """Tableau de suivi: who still owes what, per partner and per thing owed, with the deadlines."""
    consortium = _coordinated(slug)
    owed = board_owed(consortium)
    departement = request.args.get("departement", "").strip()
    state = request.args.get("etat", "").strip()
    if state not in STATES:
        state = ""
    departements = sorted({d for row in owed.partners for d in row.departements})
    # A département no member covers shows no row: one key for all of them, whatever was typed.
    shown = departement if not departement or departement in departements else None
    table = content_version.remembered_html(
        consortium, ("board", shown, state), lambda: _board_table(owed, departement, state)
    )
    today = services.paris_today()
    milestones = services.milestones_of(consortium)
    deadline = consortium.call.submission_deadline
    return render_template(
        "coordination/board.html",
        consortium=consortium,
        table=table,
        departements=departements,
        departement=departement,
        state=state,
        states=STATES,
        state_labels=STATE_LABELS,
        today=today,
        deadline=deadline,
        deadline_countdown=services.countdown(deadline, today),
        milestones=[
            (m, services.countdown(m.due_date, today), services.covers_labels(m), services.lacks_of(m, owed))
            for m in milestones
        ],
    )


def _board_table(owed: Owed, departement: str, state: str) -> str:
    rows = [
        row
        for row in owed.partners
        if (not departement or departement in row.departements)
        and (not state or any(item.state == state for item in row.items))
    ]
    column_totals = {
        column.key: sum(1 for row in rows for item in row.items if item.key == column.key and not item.done)
        for column in owed.columns
    }
    return render_template(
        "coordination/_board_table.html",
        owed=owed,
        rows=rows,
        column_totals=column_totals,
        state=state,
        state_labels=STATE_LABELS,
        kind_labels=KIND_LABELS,
    )


def _draft_from_form(consortium: Consortium, previous_due: date | None = None) -> services.MilestoneDraft:
    return services.read_draft(
        consortium,
        title=request.form.get("title", ""),
        due_date=request.form.get("due_date", ""),
        covers=request.form.getlist("covers"),
        remind_days_before=request.form.get("remind_days_before", ""),
        previous_due=previous_due,
    )


def _render_milestones(
    consortium: Consortium,
    *,
    error: str | None = None,
    editing: Milestone | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    today = services.paris_today()
    owed = board_owed(consortium)
    milestones = services.milestones_of(consortium)
    return (
        render_template(
            "coordination/milestones.html",
            consortium=consortium,
            milestones=[
                (
                    m,
                    services.countdown(m.due_date, today),
                    services.covers_labels(m),
                    services.lacks_of(m, owed),
                )
                for m in milestones
            ],
            editing=editing,
            error=error,
            form=request.form if request.method == "POST" else None,
            kinds=KINDS,
            kind_labels=KIND_LABELS,
            owing=[row for row in owed.partners if row.outstanding],
            log=reminders.log_of(consortium),
            today=today,
            deadline=consortium.call.submission_deadline,
            all_target=reminders.ALL,
        ),
        status,
    )


def _milestone(consortium: Consortium, milestone_id: int) -> Milestone:
    try:
        return services.milestone_of(consortium, milestone_id)
    except NotFound:
        abort(404)


@bp.route("/consortia/<slug>/echeances", methods=["GET", "POST"])
def milestones(slug: str) -> ResponseReturnValue:
    """Échéances et relances: the milestones, the form to add one, reminders and their log."""
    consortium = _coordinated(slug)
    editing = None
    raw = request.args.get("modifier", "")
    if request.method == "GET" and raw:
        if not raw.isdecimal():
            abort(404)
        editing = _milestone(consortium, int(raw))
    if request.method == "GET":
        return _render_milestones(consortium, editing=editing)
    try:
        draft = _draft_from_form(consortium)
        milestone = services.add_milestone(consortium, draft, by=current_user)
    except DomainError as error:
        db.session.rollback()
        return _render_milestones(consortium, error=str(error), status=error.status_code)
    db.session.commit()
    flash(_("Échéance « %(title)s » ajoutée.", title=milestone.title), "success")
    return redirect(url_for(".milestones", slug=slug), 303)


@bp.post("/consortia/<slug>/echeances/<int:milestone_id>")
def edit_milestone(slug: str, milestone_id: int) -> ResponseReturnValue:
    """Change a milestone's title, date, kinds or reminder."""
    consortium = _coordinated(slug)
    milestone = _milestone(consortium, milestone_id)
    try:
        draft = _draft_from_form(consortium, previous_due=milestone.due_date)
        changed = services.update_milestone(milestone, draft, consortium, by=current_user)
    except DomainError as error:
        db.session.rollback()
        return _render_milestones(consortium, error=str(error), editing=milestone, status=error.status_code)
    db.session.commit()
    if changed:
        flash(_("Échéance « %(title)s » modifiée.", title=milestone.title), "success")
    return redirect(url_for(".milestones", slug=slug), 303)


@bp.post("/consortia/<slug>/echeances/<int:milestone_id>/supprimer")
def delete_milestone(slug: str, milestone_id: int) -> ResponseReturnValue:
    """Delete a milestone."""
    consortium = _coordinated(slug)
    milestone = _milestone(consortium, milestone_id)
    title = milestone.title
    services.remove_milestone(milestone, consortium, by=current_user)
    db.session.commit()
    flash(_("Échéance « %(title)s » supprimée.", title=title), "success")
    return redirect(url_for(".milestones", slug=slug), 303)


def _reminder_args() -> tuple[str, int | None]:
    target = request.values.get("membre", "").strip() or reminders.ALL
    raw = request.values.get("echeance", "").strip()
    if raw and not raw.isdecimal():
        abort(404)
    return target, int(raw) if raw else None


@bp.route("/consortia/<slug>/relances", methods=["GET", "POST"])
def remind(slug: str) -> ResponseReturnValue:
    """Relancer : preview each partner's e-mail (GET), then send (POST)."""
    consortium = _coordinated(slug)
    target, milestone_id = _reminder_args()
    milestone = _milestone(consortium, milestone_id) if milestone_id is not None else None
    if request.method == "POST":
        try:
            result = reminders.send(consortium, target, milestone_id=milestone_id, by=current_user)
        except DomainError as error:
            db.session.rollback()
            flash(str(error), "danger")
            return redirect(url_for(".milestones", slug=slug, _anchor="relances"), 303)
        db.session.commit()
        flash(
            _(
                "Relance placée dans la boîte d'envoi pour %(partners)s membre(s) : %(emails)s e-mail(s).",
                partners=len(result.sent),
                emails=result.emails,
            ),
            "success",
        )
        if result.without_address:
            flash(
                _(
                    "Sans adresse e-mail connue, non relancé(s) : %(names)s.",
                    names=", ".join(result.without_address),
                ),
                "warning",
            )
        return redirect(url_for(".milestones", slug=slug, _anchor="journal"), 303)
    try:
        messages = reminders.plan(consortium, target, milestone=milestone, by=current_user)
    except Invalid as error:
        flash(str(error), "info")
        return redirect(url_for(".milestones", slug=slug, _anchor="relances"), 303)
    return render_template(
        "coordination/remind.html",
        consortium=consortium,
        messages=messages,
        target=target,
        milestone=milestone,
        all_target=reminders.ALL,
    )
