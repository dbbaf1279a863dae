"""Partners' annexes: upload, history, download, and the kinds the coordination requires."""

from __future__ import annotations

import io

from flask import Blueprint, current_app, flash, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from app.annexes import services
from app.annexes.files import ACCEPTED_TYPES_TEXT, TYPE_LABELS
from app.annexes.forms import UploadForm
from app.annexes.models import ANNEX_KIND_LABELS, Annex, AnnexKind
from app.consortia.models import Consortium, Partner
from app.consortia.services import visible_consortium
from app.errors import DomainError, Invalid, NotAllowed
from app.errors_pages import error_response
from app.extensions import db
from app.members.services import partner_of
from app.permissions import (
    can_set_required_annexes,
    can_upload_annex,
    can_view_annexes,
    partner_acted_for,
)
from app.storage import StoredFile

# cli_group=None: commands registered here are top-level (`flask --app wsgi <command>`).
bp = Blueprint("annexes", __name__, cli_group=None)


def _max_bytes() -> int:
    return int(current_app.config["ANNEX_MAX_BYTES"])


def _load(slug: str) -> Consortium:
    consortium = visible_consortium(slug, current_user)
    if not can_view_annexes(current_user, consortium):
        raise NotAllowed(_("Votre rôle ne permet pas de consulter les annexes de ce consortium."))
    return consortium


def _own_partner(consortium: Consortium) -> Partner | None:
    """The partner the user uploads for from the overview (directors and contributors only)."""
    # Coordinators act for the lead, but their overview is every partner's: they upload from its page.
    partner = partner_acted_for(current_user, consortium)
    return (
        partner
        if partner is not None and partner.is_active and can_upload_annex(current_user, partner)
        else None
    )


def _page_context() -> dict[str, object]:
    return {
        "kind_labels": ANNEX_KIND_LABELS,
        "type_labels": TYPE_LABELS,
        "accepted_types": ACCEPTED_TYPES_TEXT,
        "max_size": services.size_label(_max_bytes()),
        "size_label": services.size_label,
    }


def _render_index(
    consortium: Consortium, form: UploadForm | None = None, error: str | None = None, status: int = 200
) -> ResponseReturnValue:
    partners = [partner for partner in consortium.partners if partner.is_active]
    partners.sort(key=lambda partner: (partner.position, partner.name.casefold()))
    rows = services.annexes_of(consortium, partners)
    own = _own_partner(consortium)
    own_row = next((row for row in rows if own is not None and row.partner.id == own.id), None)
    return (
        render_template(
            "annexes/index.html",
            consortium=consortium,
            rows=rows,
            own_row=own_row,
            required=services.required_kinds(consortium.id),
            form=form or UploadForm(formdata=None, back="index"),
            upload_error=error,
            can_manage=can_set_required_annexes(current_user, consortium),
            can_upload={row.partner.id for row in rows if can_upload_annex(current_user, row.partner)},
            **_page_context(),
        ),
        status,
    )


def _render_partner(
    consortium: Consortium,
    partner: Partner,
    form: UploadForm | None = None,
    error: str | None = None,
    status: int = 200,
    replacing: Annex | None = None,
) -> ResponseReturnValue:
    (row,) = services.annexes_of(consortium, [partner])
    return (
        render_template(
            "annexes/partner.html",
            consortium=consortium,
            partner=partner,
            row=row,
            form=form or UploadForm(formdata=None, back="partner"),
            upload_error=error,
            replacing=replacing,
            can_upload=partner.is_active and can_upload_annex(current_user, partner),
            can_manage=can_set_required_annexes(current_user, consortium),
            **_page_context(),
        ),
        status,
    )


@bp.get("/consortia/<slug>/annexes")
def index(slug: str) -> ResponseReturnValue:
    """Les annexes : par membre, les pièces exigées fournies ou manquantes, et les autres pièces."""
    return _render_index(_load(slug))


@bp.get("/consortia/<slug>/annexes/membres/<code>")
def partner(slug: str, code: str) -> ResponseReturnValue:
    """Les pièces d'un membre, leur historique et le formulaire de dépôt."""
    consortium = _load(slug)
    member = partner_of(consortium, code)
    replacing = None
    if request.args.get("remplacer", "").isdecimal():
        replacing = services.annex_in(consortium, int(request.args["remplacer"]))
        if replacing.partner_id != member.id or replacing.superseded_at is not None:
            replacing = None
    form = None
    if request.args.get("type") in {kind.value for kind in AnnexKind}:
        form = UploadForm(formdata=None, back="partner", kind=request.args["type"])
    if replacing is not None:
        form = UploadForm(
            formdata=None, back="partner", kind=replacing.kind.value, replaces=str(replacing.id)
        )
    return _render_partner(consortium, member, form=form, replacing=replacing)


@bp.post("/consortia/<slug>/annexes/membres/<code>")
def upload(slug: str, code: str) -> ResponseReturnValue:
    """Déposer une pièce pour le membre (une nouvelle version remplace la précédente du même type)."""
    consortium = _load(slug)
    member = partner_of(consortium, code)
    if not can_upload_annex(current_user, member):
        raise NotAllowed(
            _(
                "Seules la coordination et les personnes de ce membre (direction, contribution) "
                "déposent ses pièces."
            )
        )
    form = UploadForm()
    back_to_index = form.back.data == "index"
    replaces = None
    if (form.replaces.data or "").isdecimal():
        replaces = services.annex_in(consortium, int(form.replaces.data))
    upload_file = request.files.get("file")
    try:
        if upload_file is None or not upload_file.filename:
            raise Invalid(_("Choisissez le fichier à déposer."))
        # One byte more than allowed is enough to know the file is too big.
        data = upload_file.stream.read(_max_bytes() + 1)
        annex = services.upload_annex(
            member,
            kind=form.kind.data,
            data=data,
            filename=upload_file.filename,
            title=form.title.data or "",
            replaces=replaces,
            max_bytes=_max_bytes(),
            by=current_user,
        )
    except DomainError as error:
        db.session.rollback()
        if isinstance(error, NotAllowed):
            raise
        if back_to_index:
            return _render_index(consortium, form, str(error), error.status_code)
        return _render_partner(consortium, member, form, str(error), error.status_code, replacing=replaces)
    db.session.commit()
    flash(
        _(
            "Pièce déposée pour %(partner)s : %(kind)s (« %(name)s »).",
            partner=member.name,
            kind=_(ANNEX_KIND_LABELS[annex.kind]),
            name=annex.filename,
        ),
        "success",
    )
    if back_to_index:
        return redirect(url_for(".index", slug=slug), 303)
    return redirect(url_for(".partner", slug=slug, code=code), 303)


@bp.get("/consortia/<slug>/annexes/<int:annex_id>/telecharger")
def download(slug: str, annex_id: int) -> ResponseReturnValue:
    """Télécharger une pièce (toujours en pièce jointe, sous son nom nettoyé)."""
    consortium = _load(slug)
    annex = services.annex_in(consortium, annex_id)
    stored = db.session.get(StoredFile, annex.file_id)
    assert stored is not None  # the foreign key guarantees it
    response = send_file(
        io.BytesIO(stored.data),
        mimetype=annex.content_type,
        as_attachment=True,
        download_name=annex.filename,
        etag=stored.sha256,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    # Never rendered as a page, even if a browser tried: no script, no plugin, no frame.
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.route("/consortia/<slug>/annexes/exigences", methods=["GET", "POST"])
def requirements(slug: str) -> ResponseReturnValue:
    """Les pièces exigées de chaque membre, choisies par la coordination."""
    consortium = _load(slug)
    if not can_set_required_annexes(current_user, consortium):
        raise NotAllowed(_("Seule la coordination choisit les pièces exigées."))
    selected = [kind.value for kind in services.required_kinds(consortium.id)]
    error = None
    status = 200
    if request.method == "POST":
        selected = request.form.getlist("kinds")
        try:
            changed = services.set_required_kinds(consortium, selected, by=current_user)
        except DomainError as domain_error:
            db.session.rollback()
            error, status = str(domain_error), domain_error.status_code
        else:
            db.session.commit()
            flash(
                _("Pièces exigées enregistrées.")
                if changed
                else _("Aucun changement : les pièces exigées sont les mêmes."),
                "success" if changed else "info",
            )
            return redirect(url_for(".requirements", slug=slug), 303)
    return (
        render_template(
            "annexes/requirements.html",
            consortium=consortium,
            kinds=services.REQUIRABLE_KINDS,
            kind_labels=ANNEX_KIND_LABELS,
            selected=set(selected),
            error=error,
        ),
        status,
    )


@bp.errorhandler(RequestEntityTooLarge)
def too_large(_error: RequestEntityTooLarge) -> ResponseReturnValue:
    """An upload bigger than the request limit: nothing was read, nothing kept."""
    return error_response(
        413,
        _(
            "Le fichier dépasse la taille maximale d'une pièce (%(max)s) : rien n'a été enregistré. "
            "Réduisez-le (PDF compressé, image moins lourde) puis déposez-le à nouveau.",
            max=services.size_label(_max_bytes()),
        ),
    )
