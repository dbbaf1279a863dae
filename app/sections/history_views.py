"""History pages: every revision of a part, the comparison of two, and restoring one."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.consortia.models import Consortium, Partner, PartnerStatus
from app.consortia.services import visible_consortium
from app.errors import Conflict, DomainError, Invalid, NotFound
from app.extensions import db
from app.sections import history
from app.sections.blueprint import bp
from app.sections.merge import diff_html
from app.sections.models import Section
from app.sections.saving import check_can_save, restore_revision


def _load(slug: str, code: str) -> tuple[Consortium, Section, Partner | None]:
    consortium = visible_consortium(slug, current_user)
    section = db.session.scalar(
        select(Section).where(Section.consortium_id == consortium.id, Section.code == code)
    )
    if section is None:
        raise NotFound(_("Ce chapitre n'existe pas dans ce consortium."))
    raw = request.args.get("partenaire", "")
    partner = None
    if raw:
        partner = db.session.get(Partner, int(raw)) if raw.isdecimal() and len(raw) < 12 else None
        if partner is None or partner.consortium_id != consortium.id or not section.scope.has_partner_parts:
            raise NotFound(_("Ce membre n'a pas de partie dans ce chapitre."))
    elif not section.scope.has_shared_part:
        first = next((p for p in consortium.partners if p.status is PartnerStatus.ACTIVE), None)
        if first is None:
            raise NotFound(_("Aucun membre actif n'a de partie dans ce chapitre."))
        partner = first
    return consortium, section, partner


def _may_restore(section: Section, partner: Partner | None) -> bool:
    try:
        check_can_save(section, partner, current_user)
    except DomainError:
        return False
    return True


def _part_args(partner: Partner | None) -> dict[str, int]:
    return {"partenaire": partner.id} if partner is not None else {}


@bp.get("/consortia/<slug>/chapitres/<code>/historique", endpoint="history")
def history_page(slug: str, code: str) -> ResponseReturnValue:
    """Historique d'un texte: every revision, newest first, to compare or restore."""
    consortium, section, partner = _load(slug, code)
    return render_template(
        "sections/history/index.html",
        consortium=consortium,
        section=section,
        partner=partner,
        part_args=_part_args(partner),
        revisions=history.revisions_of(section, partner),
        may_restore=_may_restore(section, partner),
    )


def _number(name: str) -> int | None:
    raw = request.args.get(name, "")
    return int(raw) if raw.isdecimal() and len(raw) < 12 else None


@bp.get("/consortia/<slug>/chapitres/<code>/historique/comparer")
def compare(slug: str, code: str) -> ResponseReturnValue:
    """Comparaison de deux versions: word-level differences of the visible text."""
    consortium, section, partner = _load(slug, code)
    revisions = history.revisions_of(section, partner)
    if not revisions:
        raise NotFound(_("Ce texte n'a encore aucune version."))
    numbers = [row.number for row in revisions]
    new = _number("b") or numbers[0]
    old = _number("a") or next((n for n in numbers if n < new), new)
    old_revision = history.revision(section, partner, old)
    new_revision = history.revision(section, partner, new)
    pieces = history.compare(section, partner, old, new)
    return render_template(
        "sections/history/compare.html",
        consortium=consortium,
        section=section,
        partner=partner,
        part_args=_part_args(partner),
        revisions=revisions,
        old=old_revision,
        new=new_revision,
        labels=history.KIND_LABELS,
        differences=diff_html(pieces),
        changed=any(piece.kind != "equal" for piece in pieces),
        may_restore=_may_restore(section, partner),
    )


@bp.post("/consortia/<slug>/chapitres/<code>/historique/<int:number>/restaurer", endpoint="restore_revision")
def restore(slug: str, code: str, number: int) -> ResponseReturnValue:
    """Restaurer une version: its text becomes the current text, as a new revision."""
    _consortium, section, partner = _load(slug, code)
    try:
        result = restore_revision(section, partner, number, by=current_user)
    except (Invalid, Conflict) as error:
        db.session.rollback()
        flash(str(error), "danger")
    else:
        db.session.commit()
        flash(
            _(
                "Version n°%(old)s restaurée : elle est devenue la version n°%(new)s.",
                old=number,
                new=result.revision,
            ),
            "success",
        )
    target = url_for(".history", slug=slug, code=code, partenaire=partner.id if partner else None)
    return redirect(target, 303)
