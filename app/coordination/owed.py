"""What each active partner still owes: texts, budget, indicators, sign-off, annexes, as plain values.

A constant number of queries whatever the number of partners: the figures are loaded once for the
whole consortium (app/budget/figures), sections and parts in two queries, annexes in two. A text's
state is the one the writing pages show (app/sections/states).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import has_request_context, url_for
from sqlalchemy import select

from app import content_version
from app.annexes import services as annexes
from app.annexes.models import ANNEX_KIND_LABELS, Annex, AnnexKind
from app.budget import calculations as calc
from app.budget.models import WHOLE_PROJECT
from app.budget.services import consolidation_of
from app.consortia.models import Consortium, Partner
from app.extensions import db
from app.mail.services import public_link
from app.sections.models import Section
from app.sections.states import PART_STATE_LABELS, PartState, part_facts, state_of
from app.templating import paris_today

PARTNER_TEXT = "partner_text"
SHARED_TEXT = "shared_text"
BUDGET = "budget"
INDICATORS = "indicators"
SIGN_OFF = "sign_off"
ANNEX = "annex"
KINDS = (PARTNER_TEXT, SHARED_TEXT, BUDGET, INDICATORS, SIGN_OFF, ANNEX)
KIND_LABELS = {
    PARTNER_TEXT: "Textes des membres",
    SHARED_TEXT: "Textes communs confiés au membre",
    BUDGET: "Budget équilibré",
    INDICATORS: "Indicateurs",
    SIGN_OFF: "Signature des engagements",
    ANNEX: "Pièces annexes",
}

MISSING = "missing"
IN_PROGRESS = "in_progress"
TO_REVIEW = "to_review"
DONE = "done"
VOID = "void"
STATES = (MISSING, IN_PROGRESS, TO_REVIEW, DONE, VOID)
STATE_LABELS = {
    MISSING: "À faire",
    IN_PROGRESS: "En cours",
    TO_REVIEW: "À relire",
    DONE: "Fait",
    VOID: "Caduque",
}

# A text's state on the board: the writing pages' own, in the board's terms.
_TEXT_STATES = {
    PartState.EMPTY: MISSING,
    PartState.WRITTEN: IN_PROGRESS,
    PartState.TO_REVIEW: TO_REVIEW,
    PartState.VALIDATED: DONE,
}


@dataclass(frozen=True)
class Column:
    """One thing owed, as a column of the board: its key, its kind and its French label."""

    key: str
    kind: str
    label: str


@dataclass(frozen=True)
class OwedItem:
    """One thing a partner owes and where it stands."""

    key: str
    kind: str
    label: str
    state: str
    url: str
    # A text says where it stands in the writing pages' words (« Validé » rather than « Fait »).
    state_text: str = ""

    @property
    def done(self) -> bool:
        return self.state == DONE

    @property
    def state_label(self) -> str:
        return self.state_text or STATE_LABELS[self.state]

    def as_log(self) -> dict[str, Any]:
        """How a reminder's log keeps the item."""
        return {"kind": self.kind, "label": self.label, "state": self.state}


@dataclass(frozen=True)
class PartnerOwed:
    """Everything an active partner owes, in board order."""

    partner_id: int
    code: str
    name: str
    departement: str
    items: tuple[OwedItem, ...]

    @property
    def outstanding(self) -> tuple[OwedItem, ...]:
        """The items not done yet."""
        return tuple(item for item in self.items if not item.done)

    def outstanding_of(self, kinds: Iterable[str]) -> tuple[OwedItem, ...]:
        """The items not done yet among these kinds."""
        wanted = set(kinds)
        return tuple(item for item in self.outstanding if item.kind in wanted)

    def item(self, key: str) -> OwedItem | None:
        """The item of this column, if the partner owes it."""
        return next((item for item in self.items if item.key == key), None)

    @property
    def departements(self) -> tuple[str, ...]:
        """The départements the partner covers ("94/91" covers both)."""
        return tuple(part.strip() for part in self.departement.split("/") if part.strip())


@dataclass(frozen=True)
class Owed:
    """The columns of the board and every active partner's row."""

    columns: tuple[Column, ...]
    partners: tuple[PartnerOwed, ...]

    def of(self, partner_id: int) -> PartnerOwed | None:
        """One partner's row."""
        return next((row for row in self.partners if row.partner_id == partner_id), None)


def _link(endpoint: str, absolute: bool, anchor: str | None = None, **values: Any) -> str:
    if absolute or not has_request_context():
        url = public_link(endpoint, **values)
        if not absolute:
            # Outside a request (commands, tests) a page address is the path of the public one.
            url = urlsplit(url).path
        return f"{url}#{anchor}" if anchor else url
    return url_for(endpoint, _anchor=anchor, **values)


def _budget_state(totals: calc.PartnerTotals, plain: calc.PartnerFigures) -> str:
    entered = any(any(year.values()) for year in (*plain.expenses.values(), *plain.resources.values()))
    if not entered:
        return MISSING
    if totals.balanced and totals.total_expenses > 0:
        return DONE
    return IN_PROGRESS


def _indicators_state(plain: calc.PartnerFigures, wanted: list[tuple[str, int]]) -> str:
    entered = 0
    for code, year in wanted:
        values = plain.indicator_totals if year == WHOLE_PROJECT else plain.indicators_per_year.get(year, {})
        if code in values:
            entered += 1
    if entered == len(wanted):
        return DONE
    return IN_PROGRESS if entered else MISSING


_SIGN_OFF_STATES = {
    calc.SignOffState.VALID: DONE,
    calc.SignOffState.VOID: VOID,
    calc.SignOffState.NONE: MISSING,
}


def board_owed(consortium: Consortium) -> Owed:
    """What every active partner still owes, links relative, as the board and the overview show it:
    computed once per content version of the consortium and day."""
    return content_version.remembered(consortium, ("owed", paris_today()), lambda: owed_of(consortium))


def owed_of(
    consortium: Consortium, *, partner_ids: Iterable[int] | None = None, absolute: bool = False
) -> Owed:
    """What every active partner (or those given) still owes; links absolute for e-mails."""
    consolidated = consolidation_of(consortium)
    data, consolidation = consolidated.data, consolidated.consolidation
    only = set(partner_ids) if partner_ids is not None else None
    partners: list[tuple[Partner, calc.PartnerFigures, calc.PartnerTotals]] = [
        (partner, plain, totals)
        for partner, plain, totals in zip(
            data.partners, data.figures.partners, consolidation.partners, strict=True
        )
        if partner.is_active and (only is None or partner.id in only)
    ]
    sections = list(
        db.session.scalars(
            select(Section)
            .where(
                Section.consortium_id == consortium.id,
                Section.archived_at.is_(None),
                Section.generated.is_(False),
            )
            .order_by(Section.position, Section.id)
        )
    )
    partner_sections = [s for s in sections if s.scope.has_partner_parts]
    shared_sections = [s for s in sections if s.scope.has_shared_part and s.writer_partner_id is not None]
    facts = part_facts(consortium, partner_ids=only)
    required_kinds = annexes.required_kinds(consortium.id)
    provided: set[tuple[int, AnnexKind]] = set()
    if required_kinds:
        provided = {
            (row.partner_id, row.kind)
            for row in db.session.execute(
                select(Annex.partner_id, Annex.kind).where(
                    Annex.consortium_id == consortium.id, Annex.superseded_at.is_(None)
                )
            )
        }
    wanted_indicators = [
        (indicator.code, year)
        for indicator in data.indicators
        for year in (data.figures.model.years if indicator.per_year else (WHOLE_PROJECT,))
    ]
    active_ids = {partner.id for partner, _plain, _totals in partners}

    columns: list[Column] = [Column(f"part:{s.code}", PARTNER_TEXT, s.title) for s in partner_sections]
    columns += [
        Column(f"shared:{s.code}", SHARED_TEXT, s.title)
        for s in shared_sections
        if s.writer_partner_id in active_ids
    ]
    columns.append(Column(BUDGET, BUDGET, "Budget équilibré"))
    if wanted_indicators:
        columns.append(Column(INDICATORS, INDICATORS, "Indicateurs renseignés"))
    columns.append(Column(SIGN_OFF, SIGN_OFF, "Signature valide"))
    columns += [Column(f"annex:{kind.value}", ANNEX, ANNEX_KIND_LABELS[kind]) for kind in required_kinds]

    slug = consortium.slug

    def annex_link(code: str) -> str:
        return _link("annexes.partner", absolute, slug=slug, code=code)

    rows = []
    for partner, plain, totals in partners:
        items: list[OwedItem] = []
        for section in partner_sections:
            state = state_of(facts, section, partner.id)
            items.append(
                OwedItem(
                    f"part:{section.code}",
                    PARTNER_TEXT,
                    f"Texte « {section.title} »",
                    _TEXT_STATES[state],
                    _link("sections.edit", absolute, f"membre-{partner.id}", slug=slug, code=section.code),
                    PART_STATE_LABELS[state],
                )
            )
        for section in shared_sections:
            if section.writer_partner_id != partner.id:
                continue
            state = state_of(facts, section, None)
            items.append(
                OwedItem(
                    f"shared:{section.code}",
                    SHARED_TEXT,
                    f"Texte commun « {section.title} » (rédaction principale)",
                    _TEXT_STATES[state],
                    _link("sections.edit", absolute, "commun", slug=slug, code=section.code),
                    PART_STATE_LABELS[state],
                )
            )
        items.append(
            OwedItem(
                BUDGET,
                BUDGET,
                "Budget équilibré chaque année",
                _budget_state(totals, plain),
                _link("commitments.budget", absolute, slug=slug, partner_code=partner.code),
            )
        )
        if wanted_indicators:
            items.append(
                OwedItem(
                    INDICATORS,
                    INDICATORS,
                    "Indicateurs renseignés",
                    _indicators_state(plain, wanted_indicators),
                    _link("commitments.indicators", absolute, slug=slug, partner_code=partner.code),
                )
            )
        items.append(
            OwedItem(
                SIGN_OFF,
                SIGN_OFF,
                "Engagements signés par la direction",
                _SIGN_OFF_STATES[plain.sign_off],
                _link("commitments.budget", absolute, "signature", slug=slug, partner_code=partner.code),
            )
        )
        for kind in required_kinds:
            items.append(
                OwedItem(
                    f"annex:{kind.value}",
                    ANNEX,
                    f"Pièce « {ANNEX_KIND_LABELS[kind]} »",
                    DONE if (partner.id, kind) in provided else MISSING,
                    annex_link(partner.code),
                )
            )
        rows.append(
            PartnerOwed(
                partner.id, partner.code, partner.name, partner.organisation.departement or "", tuple(items)
            )
        )
    return Owed(tuple(columns), tuple(rows))
