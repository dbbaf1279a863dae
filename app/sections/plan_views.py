"""The section plan page: the coordinator adds, renames, reorders, limits and retires chapters."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from app.consortia.models import Consortium
from app.consortia.services import managed_consortium
from app.consortia.validation import InvalidFields
from app.errors import Invalid
from app.extensions import db
from app.sections import plan
from app.sections.blueprint import bp
from app.sections.models import Section
from app.sections.plan_forms import SectionForm
from app.security import checks_csrf_in_form

EXPIRED = "Votre session a expiré. Vos saisies sont conservées : validez à nouveau."
MOVES = {"up": -1, "down": 1}


def _show(form: SectionForm, error: Invalid) -> None:
    if isinstance(error, InvalidFields):
        form.add_errors(error.errors)
    else:
        form.form_errors.append(str(error))


def _render_index(
    consortium: Consortium, form: SectionForm | None = None, status: int = 200
) -> ResponseReturnValue:
    return render_template(
        "sections/plan/index.html",
        consortium=consortium,
        plan=plan.plan_of(consortium),
        form=form or SectionForm(formdata=None),
        scope_labels=plan.SCOPE_LABELS,
    ), status


@bp.get("/consortia/<slug>/chapitres", endpoint="plan")
def plan_page(slug: str) -> ResponseReturnValue:
    """Plan des chapitres: every chapter in order, its scope and limits, and a form to add one."""
    return _render_index(managed_consortium(slug, current_user))


@bp.post("/consortia/<slug>/chapitres")
@checks_csrf_in_form
def plan_add(slug: str) -> ResponseReturnValue:
    """Add a chapter at the end of the plan."""
    consortium = managed_consortium(slug, current_user)
    form = SectionForm()
    status = 422
    if form.validate_on_submit():
        try:
            section = plan.add_section(consortium, form.draft(), form.code.data or "", by=current_user)
        except Invalid as error:
            db.session.rollback()
            _show(form, error)
        else:
            db.session.commit()
            flash(_("Chapitre « %(title)s » ajouté en fin de plan.", title=section.title), "success")
            return redirect(url_for(".plan", slug=consortium.slug, _anchor=f"chapitre-{section.code}"), 303)
    elif form.csrf_token.errors:
        status = 400
        form.form_errors.append(_(EXPIRED))
    return _render_index(consortium, form, status)


def _section(consortium: Consortium, code: str) -> Section:
    return plan.section_of(consortium, code)


@bp.route("/consortia/<slug>/chapitres/<code>/parametres", methods=["GET", "POST"])
@checks_csrf_in_form
def plan_edit(slug: str, code: str) -> ResponseReturnValue:
    """Modifier un chapitre: title, guidance, scope and limits (its code stays)."""
    consortium = managed_consortium(slug, current_user)
    section = _section(consortium, code)
    if request.method == "GET":
        form = SectionForm(formdata=None)
        form.fill(section)
        return render_template("sections/plan/edit.html", consortium=consortium, section=section, form=form)
    form = SectionForm()
    status = 422
    if form.validate_on_submit():
        try:
            changes = plan.update_section(section, form.draft(), by=current_user)
        except Invalid as error:
            db.session.rollback()
            _show(form, error)
        else:
            db.session.commit()
            flash(_("Chapitre enregistré.") if changes else _("Aucun changement à enregistrer."), "success")
            return redirect(url_for(".plan", slug=consortium.slug, _anchor=f"chapitre-{section.code}"), 303)
    elif form.csrf_token.errors:
        status = 400
        form.form_errors.append(_(EXPIRED))
    form.code.data = section.code
    return render_template(
        "sections/plan/edit.html", consortium=consortium, section=section, form=form
    ), status


@bp.post("/consortia/<slug>/chapitres/<code>/deplacer")
def plan_move(slug: str, code: str) -> ResponseReturnValue:
    """Move a chapter one place up or down."""
    consortium = managed_consortium(slug, current_user)
    section = _section(consortium, code)
    direction = request.form.get("direction", "")
    if direction not in MOVES:
        abort(400)
    plan.move_section(section, MOVES[direction], by=current_user)
    db.session.commit()
    return redirect(
        url_for(".plan", slug=consortium.slug, _anchor=f"chapitre-{section.code}-{direction}"), 303
    )


@bp.post("/consortia/<slug>/chapitres/<code>/retirer")
def plan_remove(slug: str, code: str) -> ResponseReturnValue:
    """Delete a chapter nobody wrote in; archive one holding text."""
    consortium = managed_consortium(slug, current_user)
    section = _section(consortium, code)
    title = section.title
    deleted = plan.remove_section(section, by=current_user)
    db.session.commit()
    if deleted:
        flash(_("Chapitre « %(title)s » supprimé (il ne contenait aucun texte).", title=title), "success")
    else:
        flash(
            _(
                "Chapitre « %(title)s » archivé : ses textes sont conservés et il peut être rétabli.",
                title=title,
            ),
            "success",
        )
    return redirect(url_for(".plan", slug=consortium.slug), 303)


@bp.post("/consortia/<slug>/chapitres/<code>/retablir")
def plan_restore(slug: str, code: str) -> ResponseReturnValue:
    """Bring an archived chapter back at the end of the plan."""
    consortium = managed_consortium(slug, current_user)
    section = _section(consortium, code)
    plan.restore_section(section, by=current_user)
    db.session.commit()
    flash(_("Chapitre « %(title)s » rétabli en fin de plan.", title=section.title), "success")
    return redirect(url_for(".plan", slug=consortium.slug, _anchor=f"chapitre-{section.code}"), 303)
