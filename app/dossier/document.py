"""The dossier as plain values: everything the PDF and its preview show, read once from the database.

`build_dossier` reads the consortium through the existing services (consolidation, figures, sections,
sign-offs, annexes) and returns frozen dataclasses of strings, numbers and dates: the template never
touches an ORM object, and the digest of these values says whether a render can be reused. Every
figure comes from `app.budget.calculations` (through `consolidation_of` and `plan_of`), formatted
like the pages (`format_eur`, `format_share`). Withdrawn partners appear nowhere.

One concept, kept whole on purpose though long: the value types of the dossier and the one builder
that fills them; split, each half would only make sense read with the other.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property

from sqlalchemy import select

from app.annexes.models import ANNEX_KIND_LABELS, Annex, AnnexKind
from app.budget import calculations as calc
from app.budget.consolidation import Cell, plan_of
from app.budget.services import ConsortiumState, consolidation_of
from app.consortia.models import Consortium, Partner
from app.database import utcnow
from app.dossier.tables import Column, TableData, simple_table, table_from_plan
from app.dossier.typography import french_spacing, rich_text
from app.errors import Invalid
from app.extensions import db
from app.members import map as members_map
from app.members.services import map_of
from app.money import format_eur, format_share
from app.sections import services as sections_service
from app.sections.models import Section
from app.sections.states import PART_STATE_LABELS, PartState, part_facts, state_of
from app.templating import french_date, french_datetime, french_decimal, french_integer

# Bump whenever the print template or its stylesheet changes what a dossier looks like: renders
# cached under the previous digest are then made again.
TEMPLATE_VERSION = "2026-12-08.1"

# Generated chapters, by section code: what the dossier writes in place of (or after) the text.
IDENTITY, INDICATORS, BUDGET, ANNEXES = "identite", "indicateurs", "budget", "annexes"
GENERATED_KINDS = {IDENTITY: "identity", INDICATORS: "indicators", BUDGET: "budget", ANNEXES: "annexes"}
GENERATED_TITLES = {
    IDENTITY: "Fiche d'identité du projet",
    INDICATORS: "Objectifs quantitatifs et indicateurs",
    BUDGET: "Budget prévisionnel et plan de financement",
    ANNEXES: "Pièces annexes",
}
SIGN_OFF_LABELS = {
    calc.SignOffState.VALID: "Engagements certifiés",
    calc.SignOffState.VOID: "Certification caduque (chiffres modifiés depuis)",
    calc.SignOffState.NONE: "Engagements non certifiés",
}


# --- plain values ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartnerEntry:
    code: str
    name: str
    kind: str
    departement: str
    territory: str
    siret: str
    lead: bool


@dataclass(frozen=True)
class PartText:
    partner_code: str
    partner_name: str
    html: str  # sanitised again, French spacing applied


@dataclass(frozen=True)
class Chapter:
    number: int
    anchor: str
    code: str
    title: str
    kind: str  # text | identity | indicators | budget | annexes
    shared_html: str
    parts: tuple[PartText, ...]
    has_shared_part: bool
    has_partner_parts: bool


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    svg: str
    caption: str


@dataclass(frozen=True)
class PartnerBudget:
    code: str
    name: str
    expenses: TableData
    resources: TableData
    summary: tuple[tuple[str, str], ...]  # (label, value)


@dataclass(frozen=True)
class AnnexEntry:
    kind: str
    title: str
    filename: str
    uploaded_on: str


@dataclass(frozen=True)
class PartnerAnnexes:
    code: str
    name: str
    sign_off: str
    sign_off_at: str
    sign_off_valid: bool
    annexes: tuple[AnnexEntry, ...]


@dataclass(frozen=True)
class Dossier:
    slug: str
    acronym: str
    title: str
    call_name: str
    call_programme: str
    call_operator: str
    call_deadline: date | None
    lead_name: str
    project_start: date
    project_end: date
    duration_months: int
    partners: tuple[PartnerEntry, ...]
    chapters: tuple[Chapter, ...]
    identity: tuple[tuple[str, str], ...]
    key_figures: TableData
    indicator_tables: tuple[TableData, ...]
    budget_tables: tuple[TableData, ...]
    partner_budgets: tuple[PartnerBudget, ...]
    charts: tuple[Chart, ...]
    map_svg: str
    annexes: tuple[PartnerAnnexes, ...]
    total_cost: Decimal
    total_resources: Decimal
    main_funder_share: Decimal | None
    local_cofunding_share: Decimal | None
    participants: int
    final: bool
    version_label: str | None
    errors: tuple[str, ...]
    warnings: tuple[str, ...]
    sections_not_validated: tuple[str, ...]
    sign_off_issues: tuple[str, ...]
    generated_at: datetime = field(default_factory=utcnow)

    @property
    def partner_count(self) -> int:
        return len(self.partners)

    @property
    def version_text(self) -> str:
        """What the cover says about the version: the frozen version, the final dossier or the draft."""
        if self.version_label:
            return self.version_label
        return "Version définitive" if self.final else "Brouillon"

    @property
    def generated_at_text(self) -> str:
        return french_datetime(self.generated_at)

    @property
    def running_name(self) -> str:
        return self.acronym or self.title

    def marked_final(self, version_label: str | None = None) -> Dossier:
        """The same dossier marked final: no watermark, no list of what is open (callers check errors)."""
        return dataclasses.replace(
            self,
            final=True,
            version_label=version_label or self.version_label,
            errors=(),
            warnings=(),
            sections_not_validated=(),
            sign_off_issues=(),
        )

    @cached_property
    def digest(self) -> str:
        """SHA-256 of the content, the time of generation excluded, the template version included."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "generated_at"}
        payload = json.dumps(
            {"template": TEMPLATE_VERSION, "dossier": _plain(values)},
            ensure_ascii=False,
            sort_keys=True,
            separators=(",", ":"),
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _plain(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal | date | datetime):
        return str(value)
    return value


# --- building --------------------------------------------------------------------------------------


def build_dossier(
    consortium: Consortium,
    *,
    final: bool = False,
    version_label: str | None = None,
    generated_at: datetime | None = None,
) -> Dossier:
    """The consortium's dossier as plain values; a final one is refused while errors remain."""
    state = consolidation_of(consortium)
    totals = state.consolidation
    if final and totals.errors:
        listed = "\n".join(f"– {finding.message}" for finding in totals.errors)
        raise Invalid(
            "Le dossier ne peut pas être marqué définitif tant qu'il reste des erreurs "
            f"({len(totals.errors)}) :\n{listed}"
        )
    call = consortium.call
    active = [partner for partner in state.data.partners if partner.is_active]
    active_codes = {partner.code for partner in active}
    lead = consortium.lead_partner if consortium.lead_partner and consortium.lead_partner.is_active else None
    partners = tuple(
        PartnerEntry(
            code=p.code,
            name=p.name,
            kind=p.organisation.kind,
            departement=p.organisation.departement,
            territory=p.organisation.territory,
            siret=p.organisation.siret or "",
            lead=lead is not None and p.id == lead.id,
        )
        for p in active
    )
    plan = plan_of(state)
    years = state.data.figures.model.years

    sections = sections_service.active_sections(consortium)
    texts = sections_service.current_texts(consortium)
    chapters = _chapters(sections, texts, active)

    identity = _identity(consortium, state, partners, lead)
    key_figures = table_from_plan(plan.table("chiffres-cles"))
    key_figures = dataclasses.replace(
        key_figures,
        columns=(
            Column("Indicateur", False, 44),
            Column("Valeur", True, 22),
            Column("Règle de l'appel", False, 34),
        ),
    )
    membres = plan.table("membres")
    keep = [index for index, code in enumerate(membres.row_keys) if code in active_codes]
    budget_tables = (
        table_from_plan(membres, keep=keep, drop_columns=(1,)),
        table_from_plan(plan.table("categories")),
        table_from_plan(plan.table("financeurs")),
        table_from_plan(plan.table("groupes")),
    )
    chart_captions = {
        "partners": "Dépenses de chaque membre actif sur toute la durée du projet, par catégorie.",
        "funders": "Montant apporté par chaque financeur sur toute la durée du projet.",
        "years": "Dépenses et ressources de tous les membres actifs, année par année.",
    }
    chart_titles = {
        "partners": "Dépenses par catégorie, pour chaque membre actif",
        "funders": "Ressources par financeur",
        "years": "Dépenses et ressources par année",
    }
    charts = tuple(
        Chart(key, chart_titles[key], str(plan.charts[key]), chart_captions[key])
        for key in ("partners", "funders", "years")
        if key in plan.charts
    )
    map_svg = str(members_map.render_svg(map_of(state), id_prefix="dossier-carte", link_prefix=None))

    errors = tuple(french_spacing(f.message) for f in totals.errors)
    warnings = tuple(french_spacing(f.message) for f in totals.warnings)
    not_validated = _sections_not_validated(sections, active, consortium)
    sign_off_issues = tuple(
        f"{row.name} : {SIGN_OFF_LABELS[row.sign_off].lower()}."
        for row in totals.partners
        if row.active and row.sign_off != calc.SignOffState.VALID
    )
    dossier = Dossier(
        slug=consortium.slug,
        acronym=consortium.acronym,
        title=consortium.title,
        call_name=call.name,
        call_programme=call.programme or "",
        call_operator=call.operator or "",
        call_deadline=call.submission_deadline,
        lead_name=lead.name if lead else "",
        project_start=consortium.project_start,
        project_end=consortium.project_end,
        duration_months=totals.duration_months,
        partners=partners,
        chapters=chapters,
        identity=identity,
        key_figures=key_figures,
        indicator_tables=_indicator_tables(state, active_codes),
        budget_tables=budget_tables,
        partner_budgets=_partner_budgets(state, active_codes, years),
        charts=charts,
        map_svg=map_svg,
        annexes=_annexes(consortium, state, active),
        total_cost=totals.total_cost,
        total_resources=totals.total_resources,
        main_funder_share=totals.main_funder_share,
        local_cofunding_share=totals.local_cofunding_share,
        participants=totals.participants,
        final=False,
        version_label=version_label,
        errors=errors,
        warnings=warnings,
        sections_not_validated=not_validated,
        sign_off_issues=sign_off_issues,
        generated_at=generated_at or utcnow(),
    )
    return dossier.marked_final() if final else dossier


def _chapters(
    sections: Sequence[Section], texts: dict[tuple[int, int | None], str], active: Sequence[Partner]
) -> tuple[Chapter, ...]:
    chapters: list[Chapter] = []
    seen: set[str] = set()
    for section in sections:
        kind = GENERATED_KINDS.get(section.code, "text") if section.generated else "text"
        seen.add(kind)
        parts: tuple[PartText, ...] = ()
        if section.scope.has_partner_parts:
            parts = tuple(PartText(p.code, p.name, rich_text(texts.get((section.id, p.id)))) for p in active)
        chapters.append(
            Chapter(
                number=len(chapters) + 1,
                anchor=f"chapitre-{len(chapters) + 1}",
                code=section.code,
                title=section.title,
                kind=kind,
                shared_html=rich_text(texts.get((section.id, None))) if section.scope.has_shared_part else "",
                parts=parts,
                has_shared_part=section.scope.has_shared_part,
                has_partner_parts=section.scope.has_partner_parts,
            )
        )
    # A plan without some generated chapter still gets its tables, after the written chapters.
    for code, kind in GENERATED_KINDS.items():
        if kind not in seen:
            chapters.append(
                Chapter(
                    number=len(chapters) + 1,
                    anchor=f"chapitre-{len(chapters) + 1}",
                    code=code,
                    title=GENERATED_TITLES[code],
                    kind=kind,
                    shared_html="",
                    parts=(),
                    has_shared_part=False,
                    has_partner_parts=False,
                )
            )
    return tuple(chapters)


def _identity(
    consortium: Consortium, state: ConsortiumState, partners: Sequence[PartnerEntry], lead: Partner | None
) -> tuple[tuple[str, str], ...]:
    call = consortium.call
    totals = state.consolidation
    call_text = call.name
    if call.programme:
        call_text += f" — {call.programme}"
    rows = [
        ("Appel à projets", call_text),
        ("Opérateur", call.operator or "—"),
        ("Date limite de dépôt", french_date(call.submission_deadline) or "—"),
        ("Projet", f"{consortium.title} ({consortium.acronym})" if consortium.acronym else consortium.title),
        ("Chef de file", lead.name if lead else "—"),
        ("Membres actifs", french_integer(len(partners))),
        (
            "Période",
            f"du {french_date(consortium.project_start)} au {french_date(consortium.project_end)} "
            f"({french_integer(totals.duration_months)} mois)",
        ),
        ("Coût total", format_eur(totals.total_cost)),
        ("Total des ressources", format_eur(totals.total_resources)),
        ("Part du financeur principal", format_share(totals.main_funder_share)),
        ("Part des cofinancements locaux", format_share(totals.local_cofunding_share)),
        ("Participants engagés", french_integer(totals.participants)),
        (
            "Coût par participant",
            format_eur(totals.cost_per_participant) if totals.cost_per_participant else "—",
        ),
        ("Équivalents temps plein (ETP)", french_decimal(totals.fte)),
    ]
    return tuple(rows)


def _indicator_tables(state: ConsortiumState, active_codes: set[str]) -> tuple[TableData, ...]:
    figures = state.data.figures
    years = figures.model.years
    indicators = figures.indicators
    active = [p for p in figures.partners if p.id in active_codes]

    def value(partner: calc.PartnerFigures, indicator: calc.IndicatorDef, year: int | None) -> int:
        if year is None:
            return calc.indicator_total(figures, partner, indicator)
        return partner.indicators_per_year.get(year, {}).get(indicator.code, 0) if indicator.per_year else 0

    def label(indicator: calc.IndicatorDef) -> str:
        return ("\u2003" + indicator.label) if indicator.part_of else indicator.label

    header = ("Indicateur", *(str(y) for y in years), "Total")

    def rows_of(partners: Sequence[calc.PartnerFigures]) -> list[tuple[Cell, ...]]:
        rows: list[tuple[Cell, ...]] = []
        for indicator in indicators:
            per_year: list[int | None] = [
                sum(value(p, indicator, y) for p in partners) if indicator.per_year else None for y in years
            ]
            rows.append((label(indicator), *per_year, sum(value(p, indicator, None) for p in partners)))
        return rows

    tables = [
        simple_table(
            "indicateurs-consolides",
            "Objectifs consolidés des membres actifs",
            header,
            rows_of(active),
            first=40,
            note="« dont » : parties d'un indicateur (non additionnées au total).",
        )
    ]
    for partner in active:
        tables.append(
            simple_table(f"indicateurs-{partner.id}", partner.name, header, rows_of([partner]), first=40)
        )
    return tuple(tables)


def _partner_budgets(
    state: ConsortiumState, active_codes: set[str], years: Sequence[int]
) -> tuple[PartnerBudget, ...]:
    model = state.data.figures.model
    header = ("", *(str(y) for y in years), "Total")
    result = []
    for row in state.consolidation.partners:
        if row.id not in active_codes:
            continue
        expenses = simple_table(
            f"depenses-{row.id}",
            "Dépenses",
            ("Catégorie", *header[1:]),
            (
                (
                    c.label,
                    *(row.expenses[y][c.code] for y in years),
                    sum((row.expenses[y][c.code] for y in years), Decimal("0.00")),
                )
                for c in model.expense_categories
            ),
            ("Total des dépenses", *(row.expenses_by_year[y] for y in years), row.total_expenses),
            first=34,
        )
        resources = simple_table(
            f"ressources-{row.id}",
            "Ressources",
            ("Financeur", *header[1:]),
            (
                (
                    f.label,
                    *(row.resources[y][f.code] for y in years),
                    sum((row.resources[y][f.code] for y in years), Decimal("0.00")),
                )
                for f in model.funders
                if any(row.resources[y][f.code] for y in years)
            ),
            ("Total des ressources", *(row.resources_by_year[y] for y in years), row.total_resources),
            first=34,
        )
        summary = (
            ("Total des dépenses", format_eur(row.total_expenses)),
            ("Total des ressources", format_eur(row.total_resources)),
            (
                "Équilibre",
                "équilibré chaque année"
                if row.balanced
                else "déséquilibré en " + ", ".join(str(y) for y in row.unbalanced_years),
            ),
            ("Participants engagés", french_integer(row.participants)),
            ("ETP", french_decimal(row.fte)),
            ("Certification", SIGN_OFF_LABELS[row.sign_off]),
        )
        result.append(PartnerBudget(row.id, row.name, expenses, resources, summary))
    return tuple(result)


def _annexes(
    consortium: Consortium, state: ConsortiumState, active: Sequence[Partner]
) -> tuple[PartnerAnnexes, ...]:
    ids = [p.id for p in active]
    rows: Iterable[Annex] = (
        db.session.scalars(
            select(Annex)
            .where(
                Annex.consortium_id == consortium.id, Annex.partner_id.in_(ids), Annex.superseded_at.is_(None)
            )
            .order_by(Annex.uploaded_at, Annex.id)
        )
        if ids
        else []
    )
    by_partner: dict[int, list[Annex]] = {}
    for annex in rows:
        by_partner.setdefault(annex.partner_id, []).append(annex)
    states = {row.id: row.sign_off for row in state.consolidation.partners}
    result = []
    for partner in active:
        latest = state.data.sign_offs.get(partner.id)
        sign_state = states.get(partner.code, calc.SignOffState.NONE)
        result.append(
            PartnerAnnexes(
                code=partner.code,
                name=partner.name,
                sign_off=SIGN_OFF_LABELS[sign_state],
                sign_off_at=french_datetime(latest.at) if latest is not None else "",
                sign_off_valid=sign_state == calc.SignOffState.VALID,
                annexes=tuple(
                    AnnexEntry(
                        kind=ANNEX_KIND_LABELS.get(AnnexKind(annex.kind), str(annex.kind)),
                        title=annex.title,
                        filename=annex.filename,
                        uploaded_on=french_date(annex.uploaded_at.date()) if annex.uploaded_at else "",
                    )
                    for annex in by_partner.get(partner.id, [])
                ),
            )
        )
    return tuple(result)


def _sections_not_validated(
    sections: Sequence[Section], active: Sequence[Partner], consortium: Consortium
) -> tuple[str, ...]:
    """Written chapters whose shared text or partners' parts are not « Validé », one line per chapter.

    Each part not validated is named with where it stands, as the writing pages and the board say.
    """
    facts = part_facts(consortium)
    result = []
    for section in sections:
        if section.generated:
            continue
        pieces = []
        if section.scope.has_shared_part:
            shared = state_of(facts, section, None)
            if shared is not PartState.VALIDATED:
                pieces.append(f"texte commun {PART_STATE_LABELS[shared].lower()}")
        if section.scope.has_partner_parts:
            pending: dict[PartState, list[str]] = {}
            for partner in active:
                state = state_of(facts, section, partner.id)
                if state is not PartState.VALIDATED:
                    pending.setdefault(state, []).append(partner.name)
            for state in PartState:
                names = pending.get(state)
                if not names:
                    continue
                who = "tous les membres" if len(names) == len(active) else ", ".join(names)
                pieces.append(f"parties {PART_STATE_LABELS[state].lower()} : {who}")
        if pieces:
            result.append(f"« {section.title} » : " + " ; ".join(pieces) + ".")
    return tuple(french_spacing(line) for line in result)
