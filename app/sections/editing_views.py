"""The writing pages: sections summary, one section's texts, statuses, lead writer, comments, presence."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape
from sqlalchemy import select

from app import content_version
from app.auth.services import people_names
from app.consortia.models import Consortium, Partner
from app.consortia.services import visible_consortium
from app.errors import DomainError, Invalid, NotFound
from app.extensions import db
from app.permissions import can_edit_section_part, can_manage_consortium, texts_rights
from app.sections import comments, editing, summary
from app.sections import presence as presences
from app.sections.blueprint import bp
from app.sections.editing_forms import CommentForm, TextForm, WriterForm
from app.sections.models import Section, SectionStatus
from app.sections.parts import part_for, partner_of, section_of
from app.sections.states import PART_STATE_LABELS, section_state
from app.security import checks_csrf_in_form

# The history pages are built alongside; the brief named the first, the code has the second.
EXPIRED = "Votre session a expiré. Votre texte est conservé ci-dessous : enregistrez à nouveau."
EXPIRED_COMMENT = "Votre session a expiré. Votre commentaire est conservé ci-dessous : publiez-le à nouveau."
EXPIRED_FORM = "Votre session a expiré. Vos choix sont conservés : validez à nouveau."


def _load(slug: str, code: str) -> tuple[Consortium, Section]:
    consortium = visible_consortium(slug, current_user)
    try:
        return consortium, section_of(consortium, code)
    except NotFound:
        abort(404)


def _partner_arg(consortium: Consortium) -> Partner | None:
    raw = request.values.get("partenaire", "")
    if not raw:
        return None
    if not raw.isdecimal():
        abort(404)
    try:
        return partner_of(consortium, int(raw))
    except NotFound:
        abort(404)


def _back(section: Section, partner: Partner | None, anchor: str | None = None) -> ResponseReturnValue:
    key = anchor or ("commun" if partner is None else f"membre-{partner.id}")
    return redirect(url_for(".edit", slug=section.consortium.slug, code=section.code, _anchor=key), 303)


@bp.get("/consortia/<slug>/redaction")
def index(slug: str) -> ResponseReturnValue:
    """Rédaction: every section with its status, writer, length, last change and open comments."""
    consortium = visible_consortium(slug, current_user)
    return render_template(
        "sections/index.html", consortium=consortium, summary_table=summary.summary_table(consortium)
    )


# Where each request puts what is its own into a section's page rendered once per content version.
# A secret of the process: no text anyone types can pass for a mark.
_MARK = f"<!--{secrets.token_hex(8)}:"
_MARKS = re.compile(re.escape(_MARK) + r"(csrf|presence|comments):([a-z0-9-]*)-->")


def _mark(kind: str, key: str = "") -> Markup:
    return Markup(f"{_MARK}{kind}:{key}-->")


@dataclass(frozen=True)
class _Body:
    """A section's page below its tabs, with marks, and what filling them needs (plain values)."""

    # The HTML cut at its marks: text, then each mark's kind and key, then text, and so on.
    pieces: tuple[str, ...]
    parts: tuple[tuple[str, int | None, str], ...]  # each text's key, part id and query argument
    mention_choices: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class _SectionRef:
    """What a kept section page needs of its section: no row is loaded to show it."""

    id: int
    code: str
    title: str


def _section_ref(consortium: Consortium, code: str) -> _SectionRef:
    """The consortium's non-archived section with this code (404 otherwise), known per content version."""

    def sections() -> dict[str, _SectionRef]:
        rows = db.session.execute(
            select(Section.id, Section.code, Section.title).where(
                Section.consortium_id == consortium.id, Section.archived_at.is_(None)
            )
        )
        return {row.code: _SectionRef(row.id, row.code, row.title) for row in rows}

    found = content_version.remembered(consortium, "section-refs", sections).get(code)
    if found is None:
        abort(404)
    return found


def _render_edit(
    consortium: Consortium,
    section: Section | _SectionRef,
    *,
    typed: dict[str, Any] | None = None,
    comment_form: CommentForm | None = None,
    writer_form: WriterForm | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    """The page. As everyone of the same rights sees it, it is rendered once per content version; a
    page that comes back with what was typed, or with a refusal, is rendered for that request."""

    def build() -> _Body:
        loaded = section if isinstance(section, Section) else section_of(consortium, section.code)
        return _body(consortium, loaded, typed=typed, comment_form=comment_form, writer_form=writer_form)

    if typed is None and comment_form is None and writer_form is None:
        rights = texts_rights(current_user, consortium)
        body = content_version.remembered(consortium, ("section-page", section.id, rights), build)
    else:
        body = build()
    return render_template(
        "sections/edit.html",
        consortium=consortium,
        section=section,
        body=Markup(_filled(body, consortium, section, comment_form)),
    ), status


def _body(
    consortium: Consortium,
    section: Section,
    *,
    typed: dict[str, Any] | None,
    comment_form: CommentForm | None,
    writer_form: WriterForm | None,
) -> _Body:
    parts = editing.writing_page(section, current_user)
    manager = can_manage_consortium(current_user, consortium)
    if writer_form is None:
        writer_form = WriterForm(formdata=None)
        writer_form.partner.data = section.writer_partner_id
        writer_form.user.data = section.writer_user_id
        writer_form.due_date.data = section.due_date
    partners, users = editing.writer_choices(consortium)
    writer_form.partner.choices = [(None, _("— aucun —")), *((p.id, p.name) for p in partners)]
    writer_form.user.choices = [(None, _("— personne —")), *((u.id, u.name) for u in users)]
    mention_choices = comments.mention_choices(section)
    html = render_template(
        "sections/_edit_body.html",
        consortium=consortium,
        section=section,
        parts=parts,
        manager=manager,
        writer_form=writer_form,
        comment_form=comment_form,
        typed=typed or {},
        mention_choices=mention_choices,
        section_state=section_state(pv.state for pv in parts),
        state_labels=PART_STATE_LABELS,
        api_available=_api_available(),
        mark=_mark,
    )
    return _Body(
        tuple(_MARKS.split(html)),
        tuple((pv.key, pv.part.id, f"?partenaire={pv.partner.id}" if pv.partner else "") for pv in parts),
        tuple(mention_choices),
    )


def _filled(
    body: _Body, consortium: Consortium, section: Section | _SectionRef, comment_form: CommentForm | None
) -> str:
    """The page with this request's CSRF token, who else writes each text now, and the comments."""
    editors = presences.editors_by_part(section.id, current_user)
    # Comments move the discussion version: a section without any is known without reading them.
    commented = content_version.remembered(
        consortium,
        ("commented", section.id, consortium.discussion_version),
        lambda: editing.has_comments(section.id),
    )
    threads = editing.comments_by_part(section.id) if commented else {}
    open_key = comment_form.meta.part_key if comment_form is not None else None
    context = {
        "consortium": consortium,
        "section": section,
        "comment_form": comment_form,
        "mention_choices": body.mention_choices,
        "can_resolve": lambda comment: comments.can_resolve(current_user, comment),
        "user_names": people_names(
            [c.author_id for found in threads.values() for c in found]
            + [c.resolved_by_id for found in threads.values() for c in found]
        ),
        "part_urls": {
            "add_comment": url_for("sections.add_comment", slug=consortium.slug, code=section.code)
        },
    }
    # A text without comments shows the same as any other: rendered once for the page.
    none_yet = render_template("sections/_comments.html", key="", comments=[], open_comments=0, **context)
    filling: dict[str, dict[str, str]] = {"csrf": {"": generate_csrf()}, "presence": {}, "comments": {}}
    for key, part_id, query in body.parts:
        lines = presences.editor_lines(editors.get(part_id, [])) if part_id else []
        filling["presence"][key] = "".join(
            f'<span class="d-block">⚠ <bdi>{escape(line)}</bdi></span>' for line in lines
        )
        found = threads.get(part_id, []) if part_id else []
        if not found and key != open_key:
            filling["comments"][key] = none_yet
            continue
        open_count = sum(1 for c in found if c.parent_id is None and c.resolved_at is None)
        filling["comments"][key] = render_template(
            "sections/_comments.html",
            key=key,
            part_query=query,
            comments=found,
            open_comments=open_count,
            **context,
        )
    pieces = list(body.pieces)
    for index in range(1, len(pieces), 3):
        pieces[index], pieces[index + 1] = filling[pieces[index]][pieces[index + 1]], ""
    return "".join(pieces)


def _api_available() -> bool:
    """The sections API (built alongside) answers PUT: the editor's autosave can use it."""
    return any(
        rule.rule.endswith("/sections/<code>") and "PUT" in (rule.methods or ())
        for rule in current_app.url_map.iter_rules()
    )


@bp.get("/consortia/<slug>/redaction/<code>")
def edit(slug: str, code: str) -> ResponseReturnValue:
    """Une section: guidance, limit, the shared text and each partner's part, comments and status."""
    consortium = visible_consortium(slug, current_user)
    return _render_edit(consortium, _section_ref(consortium, code))


@bp.post("/consortia/<slug>/redaction/<code>/texte")
@checks_csrf_in_form
def save(slug: str, code: str) -> ResponseReturnValue:
    """Save a text typed without JavaScript; a stale base revision shows both versions side by side."""
    from app.sections.saving import save_part  # built alongside: the one save path of every text

    consortium, section = _load(slug, code)
    partner = _partner_arg(consortium)
    part = part_for(section, partner.id if partner else None)
    if not can_edit_section_part(current_user, part):
        abort(403)
    form = TextForm()
    key = "commun" if partner is None else f"membre-{partner.id}"
    typed = {"key": key, "content": form.content.data or "", "base_revision": form.base_revision.data}
    if form.csrf_token.errors or not form.validate_on_submit():
        if form.csrf_token.errors:
            typed["error"] = _(EXPIRED)
            return _render_edit(consortium, section, typed=typed, status=400)
        messages = [m for field in (form.content, form.base_revision) for m in field.errors]
        typed["error"] = " ".join(str(m) for m in messages) or _("Le texte n'a pas pu être lu.")
        return _render_edit(consortium, section, typed=typed, status=422)
    base = form.base()
    if base is None:
        typed["error"] = _("La version de départ est illisible : rechargez la page.")
        return _render_edit(consortium, section, typed=typed, status=422)
    try:
        result = save_part(section, partner, form.content.data or "", base_revision=base, by=current_user)
    except DomainError as error:
        db.session.rollback()
        if error.status_code == 403:
            abort(403)
        typed["error"] = str(error)
        return _render_edit(consortium, section, typed=typed, status=422)
    db.session.commit()
    if result.conflict is not None:
        theirs, mine = editing.word_diff(result.conflict.current_content, form.content.data or "")
        return render_template(
            "sections/conflict.html",
            consortium=consortium,
            section=section,
            partner=partner,
            conflict=result.conflict,
            mine=form.content.data or "",
            theirs_diff=theirs,
            mine_diff=mine,
        ), 409
    if result.merged:
        flash(_("Vos modifications ont été fusionnées avec celles d'une autre personne."), "success")
    else:
        flash(_("Texte enregistré."), "success")
    return _back(section, partner)


@bp.post("/consortia/<slug>/redaction/<code>/statut")
def set_status(slug: str, code: str) -> ResponseReturnValue:
    """Move the shared text (the section) or a partner's part to another status."""
    consortium, section = _load(slug, code)
    partner = _partner_arg(consortium)
    try:
        status = SectionStatus(request.form.get("status", ""))
    except ValueError:
        flash(_("Choisissez un statut de la liste."), "danger")
        return _back(section, partner)
    try:
        state = editing.set_status(section, partner.id if partner else None, status, by=current_user)
    except DomainError as error:
        db.session.rollback()
        if error.status_code == 403:
            abort(403)
        flash(str(error), "danger")
        return _back(section, partner)
    db.session.commit()
    if state is not None:
        flash(_("Statut : « %(label)s ».", label=PART_STATE_LABELS[state]), "success")
    return _back(section, partner)


@bp.post("/consortia/<slug>/redaction/<code>/redacteur")
@checks_csrf_in_form
def assign_writer(slug: str, code: str) -> ResponseReturnValue:
    """Name the lead writer of the section and its internal due date (coordination)."""
    consortium, section = _load(slug, code)
    if not can_manage_consortium(current_user, consortium):
        abort(403)
    form = WriterForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            form.form_errors.append(_(EXPIRED_FORM))
            return _render_edit(consortium, section, writer_form=form, status=400)
        if form.due_date.errors:
            form.due_date.errors = [_("Indiquez une date au format jj/mm/aaaa.")]
        return _render_edit(consortium, section, writer_form=form, status=422)
    try:
        changed = editing.assign_writer(
            section,
            partner_id=form.partner.data,
            user_id=form.user.data,
            due_date=form.due_date.data,
            by=current_user,
        )
    except Invalid as error:
        db.session.rollback()
        form.form_errors.append(str(error))
        return _render_edit(consortium, section, writer_form=form, status=422)
    db.session.commit()
    flash(_("Rédaction confiée.") if changed else _("Aucun changement à enregistrer."), "success")
    return _back(section, None, "redaction")


@bp.post("/consortia/<slug>/redaction/<code>/commentaires")
@checks_csrf_in_form
def add_comment(slug: str, code: str) -> ResponseReturnValue:
    """Post a comment on a part, or a reply to a thread."""
    consortium, section = _load(slug, code)
    partner = _partner_arg(consortium)
    form = CommentForm()
    key = "commun" if partner is None else f"membre-{partner.id}"
    form.meta.part_key = key
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            form.form_errors.append(_(EXPIRED_COMMENT))
            return _render_edit(consortium, section, comment_form=form, status=400)
        return _render_edit(consortium, section, comment_form=form, status=422)
    parent = None
    if form.parent.data:
        if not form.parent.data.isdecimal():
            abort(404)
        try:
            parent = comments.comment_of(section, int(form.parent.data))
        except NotFound:
            abort(404)
    try:
        comment = comments.add_comment(
            section,
            partner.id if partner else None,
            form.body.data or "",
            mentions=list(form.mentions.data or []),
            parent=parent,
            by=current_user,
        )
    except DomainError as error:
        db.session.rollback()
        if error.status_code == 403:
            abort(403)
        form.body.errors = [*form.body.errors, str(error)]
        return _render_edit(consortium, section, comment_form=form, status=422)
    db.session.commit()
    flash(_("Commentaire publié."), "success")
    return _back(section, partner, f"commentaire-{comment.id}")


@bp.post("/consortia/<slug>/redaction/<code>/commentaires/<int:comment_id>/resolution")
def resolve_comment(slug: str, code: str, comment_id: int) -> ResponseReturnValue:
    """Resolve a thread, or reopen it."""
    _consortium, section = _load(slug, code)
    try:
        comment = comments.comment_of(section, comment_id)
    except NotFound:
        abort(404)
    resolved = request.form.get("action") != "reopen"
    try:
        comments.set_resolved(comment, resolved, by=current_user)
    except DomainError as error:
        db.session.rollback()
        if error.status_code == 403:
            abort(403)
        flash(str(error), "danger")
        return _back(section, comment.part.partner, f"commentaire-{comment.id}")
    db.session.commit()
    flash(_("Fil de discussion résolu.") if resolved else _("Fil de discussion rouvert."), "success")
    return _back(section, comment.part.partner, f"commentaire-{comment.id}")


@bp.post("/consortia/<slug>/redaction/<code>/presence")
def presence(slug: str, code: str) -> ResponseReturnValue:
    """Heartbeat of the writing page: note who edits which text, answer who else does (advisory)."""
    consortium, section = _load(slug, code)
    if request.values.get("partenaire") is not None or request.values.get("commun"):
        partner = _partner_arg(consortium)
        partner_id = partner.id if partner else None
        try:
            if request.values.get("depart"):
                presences.leave(section, partner_id, by=current_user)
            else:
                presences.heartbeat(section, partner_id, by=current_user)
        except DomainError as error:
            db.session.rollback()
            return jsonify(error="forbidden", message=str(error)), error.status_code
        db.session.commit()
    return jsonify(editors=presences.others_editing(section, current_user))
