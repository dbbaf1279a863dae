"""The section plan of a consortium: adding, renaming, reordering, limiting and retiring chapters.

A chapter nobody wrote in may be deleted; one holding text is archived (never destroyed) and can be
restored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.audit import EventKind, record_event
from app.auth.models import User
from app.consortia.models import Consortium
from app.consortia.services import require_manager
from app.consortia.validation import (
    CODE_PATTERN,
    MAX_SLUG_LENGTH,
    MAX_TITLE_LENGTH,
    Errors,
    clean_line,
    clean_text,
    slug_from,
)
from app.errors import NotFound
from app.extensions import db
from app.sections.models import Section, SectionComment, SectionPart, SectionRevision, SectionScope

MAX_GUIDANCE_LENGTH = 5000
MAX_LIMIT = 1_000_000

_PLAN_REFUSAL = _l("Seule la coordination du consortium peut modifier le plan des chapitres.")

SCOPE_LABELS = {
    SectionScope.SHARED: _l("Texte commun"),
    SectionScope.PER_PARTNER: _l("Une partie par membre"),
    SectionScope.SHARED_AND_PER_PARTNER: _l("Texte commun et une partie par membre"),
}


@dataclass(frozen=True)
class SectionDraft:
    """What the coordinator sets on a chapter (its code is chosen once, at creation)."""

    title: str
    guidance: str = ""
    scope: SectionScope = SectionScope.SHARED
    max_chars: int | None = None
    max_chars_per_partner: int | None = None


@dataclass(frozen=True)
class PlanEntry:
    """A chapter of the plan, whether anyone wrote in it, and whether anyone commented on it."""

    section: Section
    has_text: bool
    has_comments: bool = False

    @property
    def deletable(self) -> bool:
        """Nothing anyone wrote would go with it: neither text nor comments."""
        return not (self.has_text or self.has_comments)


@dataclass(frozen=True)
class Plan:
    """The chapters in dossier order, and the archived ones apart."""

    active: list[PlanEntry]
    archived: list[PlanEntry]


def _sections(consortium: Consortium) -> list[Section]:
    return list(
        db.session.scalars(
            select(Section)
            .where(Section.consortium_id == consortium.id)
            .order_by(Section.position, Section.id)
        )
    )


def _holding(section_ids: list[int], kept: type[SectionRevision] | type[SectionComment]) -> set[int]:
    """The sections, among these, with at least one revision (or comment) in one of their parts."""
    if not section_ids:
        return set()
    return set(
        db.session.scalars(
            select(SectionPart.section_id)
            .join(kept, kept.part_id == SectionPart.id)
            .where(SectionPart.section_id.in_(section_ids))
            .distinct()
        )
    )


def plan_of(consortium: Consortium) -> Plan:
    """The consortium's chapters, archived ones apart, each with whether it holds text (three queries)."""
    sections = _sections(consortium)
    ids = [section.id for section in sections]
    written, commented = _holding(ids, SectionRevision), _holding(ids, SectionComment)
    entries = [PlanEntry(s, s.id in written, s.id in commented) for s in sections]
    return Plan(
        active=[entry for entry in entries if entry.section.archived_at is None],
        archived=[entry for entry in entries if entry.section.archived_at is not None],
    )


def section_of(consortium: Consortium, code: str) -> Section:
    """The consortium's chapter with this code (archived ones included), else NotFound."""
    section = db.session.scalar(
        select(Section).where(Section.consortium_id == consortium.id, Section.code == code)
    )
    if section is None:
        raise NotFound(_("Ce chapitre n'existe pas (ou plus)."))
    return section


def _check_draft(errors: Errors, draft: SectionDraft) -> SectionDraft:
    cleaned = SectionDraft(
        title=clean_line(draft.title),
        guidance=clean_text(draft.guidance),
        scope=draft.scope,
        max_chars=draft.max_chars,
        max_chars_per_partner=draft.max_chars_per_partner,
    )
    if not cleaned.title:
        errors.add("title", _("Donnez un titre au chapitre."))
    elif len(cleaned.title) > MAX_TITLE_LENGTH:
        errors.add("title", _("%(count)s caractères au plus.", count=MAX_TITLE_LENGTH))
    if len(cleaned.guidance) > MAX_GUIDANCE_LENGTH:
        errors.add(
            "guidance",
            _(
                "%(count)s caractères au plus (vous en avez saisi %(typed)s).",
                count=MAX_GUIDANCE_LENGTH,
                typed=len(cleaned.guidance),
            ),
        )
    for field, limit in (
        ("max_chars", cleaned.max_chars),
        ("max_chars_per_partner", cleaned.max_chars_per_partner),
    ):
        if limit is not None and not 1 <= limit <= MAX_LIMIT:
            errors.add(
                field, _("Un nombre entier de caractères entre 1 et 1 000 000, ou rien pour aucune limite.")
            )
    return cleaned


def _renumber(sections: list[Section]) -> None:
    for position, section in enumerate(sections, start=1):
        section.position = position


def _active(consortium: Consortium) -> list[Section]:
    return [section for section in _sections(consortium) if section.archived_at is None]


def add_section(consortium: Consortium, draft: SectionDraft, code: str = "", *, by: User) -> Section:
    """Add a chapter at the end of the plan; its code is given, or made from its title."""
    require_manager(consortium, by, _PLAN_REFUSAL)
    errors = Errors()
    cleaned = _check_draft(errors, draft)
    sections = _sections(consortium)
    code = code.strip().lower()
    if code:
        if len(code) > MAX_SLUG_LENGTH or not CODE_PATTERN.match(code):
            errors.add(
                "code",
                _("Lettres minuscules sans accent, chiffres, tirets et soulignés seulement (64 au plus)."),
            )
        else:
            same = next((section for section in sections if section.code == code), None)
            if same is not None:
                where = _(" (archivé)") if same.archived_at is not None else ""
                errors.add(
                    "code",
                    _(
                        "Ce code est déjà celui du chapitre « %(title)s »%(where)s.",
                        title=same.title,
                        where=where,
                    ),
                )
    elif cleaned.title:
        taken = {section.code for section in sections}
        base = slug_from(cleaned.title, separator="_", max_length=MAX_SLUG_LENGTH - 4) or "chapitre"
        code, number = base, 1
        while code in taken:
            number += 1
            code = f"{base}_{number}"
    errors.raise_if_any()
    active = [section for section in sections if section.archived_at is None]
    section = Section(
        consortium_id=consortium.id,
        code=code,
        position=len(active) + 1,
        title=cleaned.title,
        guidance=cleaned.guidance,
        scope=cleaned.scope,
        max_chars=cleaned.max_chars,
        max_chars_per_partner=cleaned.max_chars_per_partner,
    )
    db.session.add(section)
    _renumber([*active, section])
    record_event(
        EventKind.SECTION_ADDED,
        actor_id=by.id,
        consortium_id=consortium.id,
        code=code,
        title=cleaned.title,
        position=section.position,
    )
    db.session.flush()
    return section


def _texts_by_side(section: Section) -> tuple[bool, bool]:
    """Whether the shared part, and whether any partner's part, has text."""
    rows = db.session.execute(
        select(SectionPart.partner_id)
        .join(SectionRevision, SectionRevision.part_id == SectionPart.id)
        .where(SectionPart.section_id == section.id)
        .distinct()
    )
    partner_ids = [partner_id for (partner_id,) in rows]
    return None in partner_ids, any(partner_id is not None for partner_id in partner_ids)


def update_section(section: Section, draft: SectionDraft, *, by: User) -> dict[str, Any]:
    """Rename a chapter, change its guidance, scope and limits; a scope that would hide text is refused."""
    require_manager(section.consortium, by, _PLAN_REFUSAL)
    errors = Errors()
    cleaned = _check_draft(errors, draft)
    if cleaned.scope != section.scope:
        shared_text, partner_text = _texts_by_side(section)
        if shared_text and not cleaned.scope.has_shared_part:
            errors.add(
                "scope",
                _(
                    "Le texte commun de ce chapitre est déjà rédigé : il ne peut pas devenir « %(scope)s » "
                    "sans que ce texte disparaisse du dossier.",
                    scope=SCOPE_LABELS[cleaned.scope],
                ),
            )
        if partner_text and not cleaned.scope.has_partner_parts:
            errors.add(
                "scope",
                _(
                    "Des membres ont déjà rédigé leur partie de ce chapitre : il ne peut pas devenir "
                    "« %(scope)s » sans que leurs textes disparaissent du dossier.",
                    scope=SCOPE_LABELS[cleaned.scope],
                ),
            )
    errors.raise_if_any()
    changes: dict[str, Any] = {}
    for name in ("title", "guidance", "scope", "max_chars", "max_chars_per_partner"):
        old, new = getattr(section, name), getattr(cleaned, name)
        if old != new:
            changes[name] = {
                "old": old.value if isinstance(old, SectionScope) else old,
                "new": new.value if isinstance(new, SectionScope) else new,
            }
            setattr(section, name, new)
    if changes:
        record_event(
            EventKind.SECTION_UPDATED,
            actor_id=by.id,
            consortium_id=section.consortium_id,
            code=section.code,
            changes=changes,
        )
    db.session.flush()
    return changes


def move_section(section: Section, offset: int, *, by: User) -> bool:
    """Move a chapter one place up (-1) or down (+1) in the plan; False when it cannot move further."""
    require_manager(section.consortium, by, _PLAN_REFUSAL)
    if section.archived_at is not None:
        raise NotFound(_("Ce chapitre est archivé : rétablissez-le avant de le déplacer."))
    active = _active(section.consortium)
    index = active.index(section)
    target = index + offset
    if offset not in (-1, 1) or not 0 <= target < len(active):
        return False
    active[index], active[target] = active[target], active[index]
    _renumber(active)
    record_event(
        EventKind.SECTION_MOVED,
        actor_id=by.id,
        consortium_id=section.consortium_id,
        code=section.code,
        old=index + 1,
        new=target + 1,
    )
    db.session.flush()
    return True


def remove_section(section: Section, *, by: User) -> bool:
    """Delete a chapter nobody wrote in (True); archive one holding text or comments (False), keeping them."""
    require_manager(section.consortium, by, _PLAN_REFUSAL)
    consortium = section.consortium
    if section.archived_at is not None:
        return False
    written = bool(_holding([section.id], SectionRevision) or _holding([section.id], SectionComment))
    data: dict[str, Any] = {"code": section.code, "title": section.title, "position": section.position}
    if written:
        section.archived_at = datetime.now(UTC)
        record_event(EventKind.SECTION_ARCHIVED, actor_id=by.id, consortium_id=consortium.id, **data)
    else:
        db.session.delete(section)
        record_event(EventKind.SECTION_DELETED, actor_id=by.id, consortium_id=consortium.id, **data)
    db.session.flush()
    _renumber(_active(consortium))
    db.session.flush()
    return not written


def restore_section(section: Section, *, by: User) -> None:
    """Bring an archived chapter back, at the end of the plan."""
    require_manager(section.consortium, by, _PLAN_REFUSAL)
    if section.archived_at is None:
        return
    active = _active(section.consortium)
    section.archived_at = None
    section.position = len(active) + 1
    record_event(
        EventKind.SECTION_RESTORED,
        actor_id=by.id,
        consortium_id=section.consortium_id,
        code=section.code,
        title=section.title,
        position=section.position,
    )
    db.session.flush()
