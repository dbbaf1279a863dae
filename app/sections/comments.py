"""Comments on the parts of a section: threads, replies, mentions (notified by e-mail), resolve/reopen."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app import content_version
from app.audit import EventKind, record_event
from app.auth.models import User
from app.consortia.models import Partner, PartnerStatus, RoleGrant
from app.database import utcnow
from app.errors import Invalid, NotAllowed, NotFound
from app.extensions import db
from app.mail.services import public_link, queue_mail
from app.notifications.models import NotificationKind
from app.notifications.services import notify
from app.permissions import can_edit_section_part, can_manage_consortium, can_view_consortium
from app.sections.editing import writer_choices, writers_of
from app.sections.models import Section, SectionComment, SectionPart
from app.sections.parts import ensure_part

MAX_COMMENT_LENGTH = 5000


def mention_choices(section: Section) -> list[tuple[str, str]]:
    """What a comment may mention: `partner:<id>` and `user:<id>` values with their French labels."""
    partners, users = writer_choices(section.consortium)
    return [(f"partner:{p.id}", _("Membre : %(name)s", name=p.name)) for p in partners] + [
        (f"user:{u.id}", _("Personne : %(name)s", name=u.name)) for u in users
    ]


def _parse_mentions(section: Section, values: list[str]) -> list[dict[str, Any]]:
    allowed = {value for value, _label in mention_choices(section)}
    mentions: list[dict[str, Any]] = []
    for value in values:
        if value not in allowed:
            raise Invalid(_("Choisissez les personnes ou les membres à mentionner dans la liste."))
        kind, _sep, ident = value.partition(":")
        mention = {"kind": kind, "id": int(ident)}
        if mention not in mentions:
            mentions.append(mention)
    return mentions


def comment_of(section: Section, comment_id: int) -> SectionComment:
    """A comment on one of this section's parts."""
    comment = db.session.get(SectionComment, comment_id)
    if comment is None or comment.part.section_id != section.id:
        raise NotFound(_("Ce commentaire n'existe pas."))
    return comment


def add_comment(
    section: Section,
    partner_id: int | None,
    body: str,
    *,
    mentions: list[str],
    parent: SectionComment | None = None,
    by: User,
) -> SectionComment:
    """Start a thread on a part, or reply to one; mentioned people are e-mailed."""
    if not can_view_consortium(by, section.consortium):
        raise NotAllowed(_("Vous ne pouvez pas commenter ce dossier."))
    text = body.replace("\x00", "").strip()
    if not text:
        raise Invalid(_("Écrivez votre commentaire."))
    if len(text) > MAX_COMMENT_LENGTH:
        raise Invalid(_("Un commentaire fait au plus %(max)s caractères.", max="5\u202f000"))
    parsed = _parse_mentions(section, mentions)
    if parent is not None:
        if parent.parent_id is not None:
            parent = db.session.get(SectionComment, parent.parent_id) or parent
        part = parent.part
    else:
        part = ensure_part(section, partner_id)
    comment = SectionComment(
        part_id=part.id, parent_id=parent.id if parent else None, author_id=by.id, body=text, mentions=parsed
    )
    db.session.add(comment)
    db.session.flush()
    content_version.discussion_moved(section.consortium_id)
    record_event(
        EventKind.SECTION_COMMENT_ADDED,
        actor_id=by.id,
        consortium_id=section.consortium_id,
        section=section.code,
        partner_id=part.partner_id,
        comment_id=comment.id,
        reply_to=comment.parent_id,
        mentions=parsed,
    )
    _notify(section, part, comment, by)
    return comment


def _recipients(
    section: Section, mentions: list[dict[str, Any]], author: User
) -> dict[str, tuple[str, User | None]]:
    # The people mentioned (by name or through their partner), else a partner's listed contacts.
    emails: dict[str, tuple[str, User | None]] = {}
    for mention in mentions:
        if mention["kind"] == "user":
            user = db.session.get(User, mention["id"])
            if user is not None and user.active:
                emails[user.email] = (user.name, user)
        else:
            partner = db.session.get(Partner, mention["id"])
            if partner is None or partner.status != PartnerStatus.ACTIVE:
                continue
            people = db.session.scalars(
                select(User)
                .join(RoleGrant, RoleGrant.user_id == User.id)
                .where(RoleGrant.partner_id == partner.id, User.active.is_(True))
            ).all()
            for user in people:
                emails[user.email] = (user.name, user)
            if not people:
                for contact in partner.contacts or []:
                    if contact.get("email"):
                        emails[contact["email"]] = (partner.name, None)
    emails.pop(author.email, None)
    return emails


def _notify(section: Section, part: SectionPart, comment: SectionComment, author: User) -> None:
    # The anchor is added by hand: links for e-mails are built outside any request.
    link = public_link("sections.edit", slug=section.consortium.slug, code=section.code)
    link += f"#commentaire-{comment.id}"
    context = {
        "author": author.name,
        "section_title": section.title,
        "part_label": part.partner.name if part.partner else _("texte commun"),
        "body": comment.body,
    }
    mentioned = _recipients(section, comment.mentions, author)
    subject = _("%(author)s vous mentionne : %(title)s", author=author.name, title=section.title)
    for email, (name, user) in sorted(mentioned.items()):
        if user is not None:
            notify(
                user,
                NotificationKind.MENTION,
                consortium=section.consortium,
                subject=subject,
                template="comment_mention",
                link=link,
                recipient=name,
                **context,
            )
        else:
            queue_mail(
                email,
                "comment_mention",
                subject=subject,
                kind="comment_mention",
                consortium=section.consortium,
                recipient=name,
                link=link,
                **context,
            )
    # The writers hear of comments on their text (once: a mention already told them).
    for writer in writers_of(section, part):
        if writer.id == author.id or writer.email in mentioned:
            continue
        notify(
            writer,
            NotificationKind.COMMENT,
            consortium=section.consortium,
            subject=_("%(author)s commente « %(title)s »", author=author.name, title=section.title),
            template="comment_added",
            link=link,
            recipient=writer.name,
            **context,
        )


def can_resolve(user: User, comment: SectionComment) -> bool:
    """The author, the part's writers and the coordination close or reopen a thread."""
    return (
        comment.author_id == user.id
        or can_edit_section_part(user, comment.part)
        or can_manage_consortium(user, comment.part.section.consortium)
    )


def set_resolved(comment: SectionComment, resolved: bool, *, by: User) -> bool:
    """Resolve or reopen a thread; False if it already was."""
    if comment.parent_id is not None:
        raise Invalid(_("Seul le fil de discussion entier se résout."))
    if not can_resolve(by, comment):
        raise NotAllowed(_("Vous ne pouvez pas résoudre ce fil de discussion."))
    if (comment.resolved_at is not None) == resolved:
        return False
    comment.resolved_at = utcnow() if resolved else None
    comment.resolved_by_id = by.id if resolved else None
    section = comment.part.section
    content_version.discussion_moved(section.consortium_id)
    record_event(
        EventKind.SECTION_COMMENT_RESOLVED if resolved else EventKind.SECTION_COMMENT_REOPENED,
        actor_id=by.id,
        consortium_id=section.consortium_id,
        section=section.code,
        partner_id=comment.part.partner_id,
        comment_id=comment.id,
    )
    db.session.flush()
    return True
