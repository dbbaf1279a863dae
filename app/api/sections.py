"""The sections API: read a section's texts, save one part (the editor's autosave uses it too).

PUT answers 200 when the save was applied or merged, 409 with the current text when it was kept
as a conflict copy, and never loses the text: even an expired CSRF token gets a JSON answer with
a fresh token, so the editor retries with what the user typed.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError, generate_csrf
from sqlalchemy import select

from app.api.views import bp
from app.consortia.models import Consortium, Partner, PartnerStatus
from app.consortia.services import visible_consortium
from app.errors import Invalid, NotFound
from app.extensions import db
from app.richtext import visible_length
from app.sections.models import Section
from app.sections.saving import save_part
from app.sections.services import current_texts
from app.security import token_authenticated


def _section(consortium: Consortium, code: str) -> Section:
    section = db.session.scalar(
        select(Section).where(
            Section.consortium_id == consortium.id, Section.code == code, Section.archived_at.is_(None)
        )
    )
    if section is None:
        raise NotFound(_("Ce chapitre n'existe pas dans ce consortium."))
    return section


def _versions(section: Section) -> dict[int | None, int]:
    return {part.partner_id: part.version for part in section.parts}


def _text(content: str, revision: int) -> dict[str, Any]:
    return {"content": content, "revision": revision, "chars": visible_length(content)}


@bp.get("/consortia/<slug>/sections/<code>")
@token_authenticated
def section(slug: str, code: str) -> ResponseReturnValue:
    """A section's status, limit, shared text and partners' parts, each with its revision."""
    consortium = visible_consortium(slug, current_user)
    found = _section(consortium, code)
    texts = current_texts(consortium)
    versions = _versions(found)
    partners: dict[str, Any] = {}
    if found.scope.has_partner_parts:
        partners = {
            str(partner.id): _text(texts.get((found.id, partner.id), ""), versions.get(partner.id, 0))
            for partner in consortium.partners
            if partner.status is PartnerStatus.ACTIVE
        }
    return jsonify(
        {
            "code": found.code,
            "title": found.title,
            "status": found.status.value,
            "max_chars": found.max_chars,
            "max_chars_per_partner": found.max_chars_per_partner,
            "shared": _text(texts.get((found.id, None), ""), versions.get(None, 0))
            if found.scope.has_shared_part
            else None,
            "partners": partners,
        }
    )


def _partner(consortium: Consortium) -> Partner | None:
    raw = request.args.get("partner")
    if raw is None:
        return None
    partner = db.session.get(Partner, int(raw)) if raw.isdecimal() and len(raw) < 12 else None
    if partner is None or partner.consortium_id != consortium.id:
        raise NotFound(_("Ce membre ne fait pas partie de ce consortium."))
    return partner


def _body() -> tuple[str, int]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise Invalid(_('Le corps de la requête doit être un objet JSON {"content", "base_revision"}.'))
    content, base = data.get("content"), data.get("base_revision")
    if not isinstance(content, str):
        raise Invalid(_("Le texte (« content ») est manquant ou n'est pas une chaîne de caractères."))
    if isinstance(base, bool) or not isinstance(base, int) or base < 0:
        raise Invalid(
            _(
                "La révision de départ (« base_revision ») est manquante "
                "ou n'est pas un entier positif ou nul."
            )
        )
    return content, base


@bp.put("/consortia/<slug>/sections/<code>")
@token_authenticated
def save_section(slug: str, code: str) -> ResponseReturnValue:
    """Save the shared text (or `?partner=<id>`'s part) written from `base_revision`."""
    consortium = visible_consortium(slug, current_user)
    found = _section(consortium, code)
    partner = _partner(consortium)
    content, base = _body()
    result = save_part(found, partner, content, base_revision=base, by=current_user)
    db.session.commit()
    if result.conflict is not None:
        return jsonify(
            {
                "error": "conflict",
                "message": _(
                    "Quelqu'un a modifié le même paragraphe en même temps : votre texte est conservé "
                    "comme version n°%(number)s. Comparez les deux versions et choisissez.",
                    number=result.conflict.conflict_copy_revision,
                ),
                "current_revision": result.conflict.current_revision,
                "current_content": result.conflict.current_content,
                "conflict_copy_revision": result.conflict.conflict_copy_revision,
                "merge_draft": result.conflict.merge_draft,
                "clashes": result.conflict.clashes,
            }
        ), 409
    return jsonify({"revision": result.revision, "merged": result.merged, "content": result.content})


@bp.errorhandler(CSRFError)
def _csrf_expired(error: CSRFError) -> ResponseReturnValue:
    """An expired or missing CSRF token: nothing saved, and a fresh token so the editor can retry."""
    return jsonify(
        {
            "error": "csrf",
            "message": _(
                "Votre jeton de sécurité a expiré : rien n'a été enregistré ni perdu. "
                "Renvoyez le texte avec le nouveau jeton."
            ),
            "csrf_token": generate_csrf(),
        }
    ), 400
