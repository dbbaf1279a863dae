"""The one way a section's text is saved: sanitised, merged with concurrent saves, never lost.

Every save states the revision it started from. The part's counter (`SectionPart.version`) is
advanced by a conditional UPDATE (`... WHERE version = :seen`): when another writer got there
first the UPDATE matches no row and the save is merged again on top of the new text. So on
PostgreSQL (READ COMMITTED) and SQLite alike, every save ends as an edit, a merge or a conflict
copy (a revision kept aside, not the current text), and none is silently overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select, update

from app.audit import EventKind, record_event
from app.auth.models import User
from app.consortia.models import Partner, PartnerStatus, Role, RoleGrant
from app.content_version import NO_CONTENT
from app.errors import Conflict, Invalid, NotAllowed, NotFound
from app.extensions import db
from app.mail.services import public_link
from app.notifications.models import NotificationKind
from app.notifications.services import notify
from app.permissions import can_edit_section_part
from app.richtext import sanitize_html, visible_length
from app.sections import parts
from app.sections.merge import clash_marks, merge_draft, merge_texts
from app.sections.models import RevisionKind, Section, SectionPart, SectionRevision, SectionStatus

# Hard cap on the stored (sanitised) HTML, tags included: beyond it a save is refused. The
# section's own limit (visible characters) is only a warning while drafting.
MAX_STORED_CHARS = 200_000
# Input far beyond the cap is refused before the sanitiser spends time on it.
MAX_INPUT_CHARS = 4 * MAX_STORED_CHARS
# Each retry follows another writer's commit, so this bounds starvation, not normal contention.
MAX_ATTEMPTS = 200


@dataclass(frozen=True)
class ConflictInfo:
    """A save that could not be merged: the current text, and where the losing text was kept."""

    current_revision: int
    current_content: str
    conflict_copy_revision: int
    # Where a merge by hand starts: the three-way merge, the blocks both changed between marks.
    merge_draft: str = ""
    clashes: int = 0


@dataclass(frozen=True)
class SaveResult:
    """What a save became: the part's revision after it, whether it was merged, the stored text."""

    revision: int
    merged: bool
    content: str
    conflict: ConflictInfo | None = None


def check_content(content: object) -> str:
    """The submitted text if it is acceptable input (a string, no NUL, not absurdly long)."""
    if not isinstance(content, str):
        raise Invalid(_("Le texte doit être une chaîne de caractères."))
    if "\x00" in content:
        raise Invalid(_("Le texte contient un caractère nul : il n'a pas été enregistré."))
    if len(content) > MAX_INPUT_CHARS:
        raise Invalid(_too_long())
    return content


def _too_long() -> str:
    return _(
        "Le texte dépasse la taille maximale de %(max)s caractères (balises comprises) : "
        "il n'a pas été enregistré. Raccourcissez-le ou découpez-le.",
        max=f"{MAX_STORED_CHARS:,}".replace(",", "\u202f"),
    )


def find_part(section: Section, partner: Partner | None) -> SectionPart | None:
    """The part of the section for the partner (None: the shared text), if anyone wrote it."""
    return parts.find_part(section, partner.id if partner else None)


def check_can_save(section: Section, partner: Partner | None, by: User) -> None:
    """Raise unless `by` may write this part of the section now."""
    if partner is not None and partner.consortium_id != section.consortium_id:
        raise NotFound(_("Ce membre ne fait pas partie de ce consortium."))
    if partner is None and not section.scope.has_shared_part:
        raise NotFound(_("Ce chapitre n'a pas de texte commun : chaque membre écrit sa partie."))
    if partner is not None and not section.scope.has_partner_parts:
        raise NotFound(_("Ce chapitre n'a qu'un texte commun, pas de partie par membre."))
    # Not written yet: ask about a part that is not added to the session.
    if not can_edit_section_part(by, parts.part_for(section, partner.id if partner else None)):
        raise NotAllowed(_("Votre rôle ne permet pas de modifier ce texte."))
    if section.archived_at is not None:
        raise Invalid(_("Ce chapitre a été retiré du dossier : son texte ne peut plus être modifié."))
    if partner is not None and partner.status is PartnerStatus.WITHDRAWN:
        raise NotAllowed(
            _(
                "« %(name)s » s'est retiré du consortium : sa partie ne peut plus être modifiée.",
                name=partner.name,
            )
        )


def _head(part_id: int) -> tuple[int, int | None, str]:
    """The part's counter, current revision and text, read from the database (not the session's cache)."""
    version, head_id, content = db.session.execute(
        select(SectionPart.version, SectionPart.head_revision_id, SectionRevision.content)
        .outerjoin(SectionRevision, SectionRevision.id == SectionPart.head_revision_id)
        .where(SectionPart.id == part_id)
    ).one()
    return version, head_id, content or ""


def text_at(part_id: int, number: int) -> str:
    """The text the part showed at revision `number` (conflict copies were never shown)."""
    content = db.session.scalar(
        select(SectionRevision.content)
        .where(
            SectionRevision.part_id == part_id,
            SectionRevision.number <= number,
            SectionRevision.kind != RevisionKind.CONFLICT_COPY,
        )
        .order_by(SectionRevision.number.desc())
        .limit(1)
    )
    return content or ""


def _revision_id(part_id: int, number: int) -> int | None:
    return db.session.scalar(
        select(SectionRevision.id).where(SectionRevision.part_id == part_id, SectionRevision.number == number)
    )


def _claim(part_id: int, seen: int) -> bool:
    """Advance the part's counter if nobody did since `seen` (on PostgreSQL this waits for them)."""
    result = db.session.execute(
        update(SectionPart)
        .where(SectionPart.id == part_id, SectionPart.version == seen)
        .values(version=seen + 1)
        # A lock counter: the dossier shows nothing of it.
        .execution_options(synchronize_session=False, content_of=NO_CONTENT)
    )
    return bool(getattr(result, "rowcount", 0))


def _append(
    part: SectionPart, number: int, content: str, kind: RevisionKind, *, base_id: int | None, by: User
) -> SectionRevision:
    revision = SectionRevision(
        part_id=part.id, number=number, kind=kind, content=content, base_revision_id=base_id, author_id=by.id
    )
    db.session.add(revision)
    db.session.flush()
    if kind is not RevisionKind.CONFLICT_COPY:
        db.session.execute(
            update(SectionPart)
            .where(SectionPart.id == part.id)
            .values(head_revision_id=revision.id)
            # The revision's insert, flushed above, has moved the consortium's content version.
            .execution_options(synchronize_session=False, content_of=NO_CONTENT)
        )
    db.session.expire(part)
    return revision


def save_part(
    section: Section,
    partner: Partner | None,
    content: str,
    *,
    base_revision: int,
    by: User,
) -> SaveResult:
    """Save a part's text written from `base_revision`: applied, merged, or kept as a conflict copy."""
    raw = check_content(content)
    if isinstance(base_revision, bool) or not isinstance(base_revision, int) or base_revision < 0:
        raise Invalid(_("La révision de départ doit être un nombre entier positif ou nul."))
    check_can_save(section, partner, by)
    text = sanitize_html(raw)
    if len(text) > MAX_STORED_CHARS:
        raise Invalid(_too_long())
    marks = clash_marks(text)
    if marks:
        raise Invalid(
            _(
                "Le texte contient encore %(count)s marque(s) de conflit « ⟦ … ⟧ » : gardez de chaque "
                "version ce qui doit rester, supprimez les marques, puis enregistrez la fusion.",
                count=marks,
            )
        )
    part = parts.ensure_part(section, partner.id if partner else None)
    for _attempt in range(MAX_ATTEMPTS):
        seen, head_id, current = _head(part.id)
        if base_revision > seen:
            raise Invalid(
                _(
                    "La révision %(base)s n'existe pas encore (dernière : %(seen)s).",
                    base=base_revision,
                    seen=seen,
                )
            )
        if text == current:
            # Double submit, or the same text written twice: nothing new to keep.
            return SaveResult(revision=seen, merged=False, content=current)
        base_text = current if base_revision == seen else text_at(part.id, base_revision)
        if base_text == current:
            # Nobody changed the text since (at most someone's conflict copy was kept aside).
            kind, new_text = RevisionKind.EDIT, text
        else:
            result = merge_texts(base_text, text, current)
            if result.conflict:
                if not _claim(part.id, seen):
                    continue
                copy = _append(part, seen + 1, text, RevisionKind.CONFLICT_COPY, base_id=head_id, by=by)
                _record(section, partner, by, copy, base_revision, current, text)
                draft = merge_draft(base_text, text, current)
                return SaveResult(
                    revision=seen + 1,
                    merged=False,
                    content=text,
                    conflict=ConflictInfo(
                        current_revision=seen + 1,
                        current_content=current,
                        conflict_copy_revision=seen + 1,
                        merge_draft=draft.text,
                        clashes=draft.clashes,
                    ),
                )
            kind, new_text = RevisionKind.MERGE, result.text
            if new_text == current:
                return SaveResult(revision=seen, merged=True, content=current)
        if not _claim(part.id, seen):
            continue
        revision = _append(part, seen + 1, new_text, kind, base_id=head_id, by=by)
        _record(section, partner, by, revision, base_revision, current, new_text)
        _reopen_if_validated(section, part, by)
        return SaveResult(revision=seen + 1, merged=kind is RevisionKind.MERGE, content=new_text)
    raise Conflict(_("Trop de modifications simultanées de ce texte : réessayez dans un instant."))


def restore_revision(section: Section, partner: Partner | None, number: int, *, by: User) -> SaveResult:
    """Make an old revision's text the current text again, as a new RESTORE revision."""
    check_can_save(section, partner, by)
    part = find_part(section, partner)
    source = None if part is None else _revision_id(part.id, number)
    if part is None or source is None:
        raise NotFound(_("Cette version n'existe pas."))
    old = db.session.get(SectionRevision, source)
    assert old is not None
    for _attempt in range(MAX_ATTEMPTS):
        seen, head_id, current = _head(part.id)
        if old.content == current:
            return SaveResult(revision=seen, merged=False, content=current)
        if not _claim(part.id, seen):
            continue
        revision = _append(part, seen + 1, old.content, RevisionKind.RESTORE, base_id=head_id, by=by)
        _record(section, partner, by, revision, seen, current, old.content, restored=number)
        _reopen_if_validated(section, part, by)
        return SaveResult(revision=seen + 1, merged=False, content=old.content)
    raise Conflict(_("Trop de modifications simultanées de ce texte : réessayez dans un instant."))


def _record(
    section: Section,
    partner: Partner | None,
    by: User,
    revision: SectionRevision,
    base_revision: int,
    old_text: str,
    new_text: str,
    **extra: object,
) -> None:
    # The texts themselves are in the revisions; the event says who, which part, and old → new length.
    record_event(
        EventKind(f"section.{revision.kind.value}"),
        actor_id=by.id,
        consortium_id=section.consortium_id,
        section=section.code,
        partner_id=partner.id if partner else None,
        revision=revision.number,
        base_revision=base_revision,
        old_chars=visible_length(old_text),
        new_chars=visible_length(new_text),
        **extra,
    )


def _reopen_if_validated(section: Section, part: SectionPart, by: User) -> None:
    """A validated text that changes goes back to review, and the coordination hears of it."""
    if part.partner_id is None:
        if section.status is not SectionStatus.VALIDATED:
            return
        section.status = SectionStatus.IN_REVIEW
    else:
        if part.status is not SectionStatus.VALIDATED:
            return
        part.status = SectionStatus.IN_REVIEW
    record_event(
        EventKind.SECTION_STATUS_CHANGED,
        actor_id=by.id,
        consortium_id=section.consortium_id,
        section=section.code,
        partner_id=part.partner_id,
        old=SectionStatus.VALIDATED.value,
        new=SectionStatus.IN_REVIEW.value,
        reason="edited_after_validation",
    )
    partner = part.partner
    coordinators = db.session.scalars(
        select(User)
        .join(RoleGrant, RoleGrant.user_id == User.id)
        .where(
            RoleGrant.consortium_id == section.consortium_id,
            RoleGrant.role == Role.COORDINATOR,
            User.active.is_(True),
        )
        .order_by(User.id)
    )
    link = public_link(
        "sections.history",
        slug=section.consortium.slug,
        code=section.code,
        **({"partenaire": partner.id} if partner else {}),
    )
    for coordinator in coordinators:
        if coordinator.id == by.id:
            continue  # the coordinator who edited knows
        notify(
            coordinator,
            NotificationKind.STATUS_CHANGED,
            subject=_("« %(title)s » modifié après validation : à relire", title=section.title),
            template="section_reopened",
            consortium=section.consortium,
            section=section,
            partner=partner,
            by=by,
            link=link,
        )
    db.session.flush()
