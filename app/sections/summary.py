"""The sections' summary: one line per chapter, what a coordinator checks before the deadline."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from flask import render_template
from markupsafe import Markup
from sqlalchemy import func, select

from app import content_version
from app.auth.services import people_names
from app.consortia.models import Consortium, Partner, PartnerStatus
from app.extensions import db
from app.sections.models import Section, SectionComment, SectionPart
from app.sections.states import PART_STATE_LABELS, PartFacts, PartState, part_facts, section_state, state_of


@dataclass(frozen=True)
class SectionRow:
    """One line of the writing summary: what a coordinator checks before the deadline."""

    code: str
    title: str
    state: PartState
    generated: bool
    writer: str | None
    due_date: date | None
    shared_length: int | None
    max_chars: int | None
    partner_parts_written: int
    partner_parts_total: int
    partner_parts_over: int
    max_chars_per_partner: int | None
    last_change_at: datetime | None
    last_change_by: str | None
    section_id: int
    open_comments: int = 0

    @property
    def state_label(self) -> str:
        """Where the chapter stands, in French (all its parts together)."""
        return PART_STATE_LABELS[self.state]

    @property
    def over_limit(self) -> bool:
        """The shared text is longer than the section allows."""
        return self.max_chars is not None and (self.shared_length or 0) > self.max_chars


def section_summary(consortium: Consortium, open_comments: dict[int, int] | None = None) -> list[SectionRow]:
    """Every non-archived section with state, writer, length, last change and open comments.

    The rows are built once per content version of the consortium; the open comments, which the
    dossier does not show (they move no version), are counted each time (one query)."""
    rows = content_version.remembered(consortium, "section-summary", lambda: _rows(consortium))
    counts = _open_comments(consortium) if open_comments is None else open_comments
    return [replace(row, open_comments=counts.get(row.section_id, 0)) for row in rows]


def summary_table(consortium: Consortium) -> Markup:
    """The writing summary's table, as the overview and the writing page show it: rendered once per
    content version and discussion version (the open comments it counts)."""

    def render() -> str:
        rows = section_summary(consortium)
        return render_template("sections/_summary_table.html", consortium=consortium, summary=rows)

    return content_version.remembered_html(
        consortium, ("writing-summary", consortium.discussion_version), render
    )


def _open_comments(consortium: Consortium) -> dict[int, int]:
    return dict(
        db.session.execute(
            select(SectionPart.section_id, func.count(SectionComment.id))
            .join(SectionComment, SectionComment.part_id == SectionPart.id)
            .join(Section, Section.id == SectionPart.section_id)
            .where(
                Section.consortium_id == consortium.id,
                SectionComment.resolved_at.is_(None),
                SectionComment.parent_id.is_(None),
            )
            .group_by(SectionPart.section_id)
        ).all()
    )


def _rows(consortium: Consortium) -> tuple[SectionRow, ...]:
    sections = list(
        db.session.scalars(
            select(Section)
            .where(Section.consortium_id == consortium.id, Section.archived_at.is_(None))
            .order_by(Section.position, Section.id)
        )
    )
    partners = {
        partner.id: partner
        for partner in db.session.scalars(select(Partner).where(Partner.consortium_id == consortium.id))
    }
    active_ids = [pid for pid, partner in partners.items() if partner.status == PartnerStatus.ACTIVE]
    facts = part_facts(consortium)
    names = people_names(
        [section.writer_user_id for section in sections] + [fact.author_id for fact in facts.values()]
    )
    by_section: dict[int, list[PartFacts]] = {}
    for fact in facts.values():
        by_section.setdefault(fact.section_id, []).append(fact)
    rows = []
    for section in sections:
        shared = facts.get((section.id, None))
        partner_ids = active_ids if section.scope.has_partner_parts else []
        partner_states = [state_of(facts, section, pid) for pid in partner_ids]
        states = [*partner_states]
        if section.scope.has_shared_part:
            states.append(state_of(facts, section, None))
        per_partner = section.max_chars_per_partner
        lengths = [facts[(section.id, pid)].length for pid in partner_ids if (section.id, pid) in facts]
        last = max(
            (fact for fact in by_section.get(section.id, []) if fact.changed_at is not None),
            key=lambda fact: fact.changed_at or datetime.min,
            default=None,
        )
        rows.append(
            SectionRow(
                code=section.code,
                title=section.title,
                state=section_state(states),
                generated=section.generated,
                writer=_writer_label(section, partners, names),
                due_date=section.due_date,
                shared_length=shared.length if shared else (0 if section.scope.has_shared_part else None),
                max_chars=section.max_chars,
                partner_parts_written=sum(1 for state in partner_states if state is not PartState.EMPTY),
                partner_parts_total=len(partner_ids),
                partner_parts_over=sum(
                    1 for length in lengths if per_partner is not None and length > per_partner
                ),
                max_chars_per_partner=per_partner,
                last_change_at=last.changed_at if last else None,
                last_change_by=names.get(last.author_id) if last and last.author_id else None,
                section_id=section.id,
            )
        )
    return tuple(rows)


def _writer_label(section: Section, partners: dict[int, Partner], users: dict[int, str]) -> str | None:
    names = []
    if section.writer_user_id and section.writer_user_id in users:
        names.append(users[section.writer_user_id])
    if section.writer_partner_id and section.writer_partner_id in partners:
        names.append(partners[section.writer_partner_id].name)
    return " · ".join(names) or None
