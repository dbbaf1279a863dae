"""Export a consortium from the database as an exchange document."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.budget.calculations import PartnerFigures
from app.budget.services import consolidation_of
from app.consortia.models import Consortium
from app.exchange import document as doc
from app.extensions import db
from app.sections.models import Section
from app.sections.services import active_sections, current_texts


def _ext(value: dict[str, Any] | None) -> doc.Extensions | None:
    return None if value is None else dict(value)


def _partner_budget(model: doc.BudgetModel, plain: PartnerFigures) -> dict[int, doc.YearBudget]:
    return {
        year: model.complete_year(plain.expenses.get(year, {}), plain.resources.get(year, {}))
        for year in model.years
    }


def _indicators(
    indicators: tuple[doc.Indicator, ...], years: tuple[int, ...], plain: PartnerFigures
) -> doc.PartnerIndicators:
    per_year_codes = [i.code for i in indicators if i.per_year]
    total_codes = [i.code for i in indicators if not i.per_year]
    return doc.PartnerIndicators(
        per_year={
            year: {code: plain.indicators_per_year.get(year, {}).get(code, 0) for code in per_year_codes}
            for year in years
        },
        totals={code: plain.indicator_totals.get(code, 0) for code in total_codes},
    )


def export_document(consortium: Consortium, *, at: datetime | None = None) -> doc.ExchangeDocument:
    """The whole consortium as an exchange document (canonical: zeros included, model order)."""
    data = consolidation_of(consortium).data
    call = consortium.call
    share_range: tuple[Decimal, Decimal] | None = None
    if call.main_funder_share_min is not None and call.main_funder_share_max is not None:
        share_range = (call.main_funder_share_min, call.main_funder_share_max)
    indirect = None
    if consortium.indirect_category and consortium.indirect_rate is not None:
        indirect = doc.IndirectCostRule(
            category=consortium.indirect_category,
            rate=consortium.indirect_rate,
            base_categories=tuple(consortium.indirect_base or ()),
            extensions=_ext(consortium.indirect_extensions),
        )
    model = doc.BudgetModel(
        years=tuple(consortium.years),
        expense_categories=tuple(
            doc.ExpenseCategory(c.code, c.label, c.computed, _ext(c.extensions)) for c in data.categories
        ),
        funders=tuple(doc.Funder(f.code, f.label, f.group.value, _ext(f.extensions)) for f in data.funders),
        indirect_costs=indirect,
        extensions=_ext(consortium.budget_model_extensions),
    )
    indicators = tuple(
        doc.Indicator(i.code, i.label, i.kind.value, i.per_year, i.part_of, _ext(i.extensions))
        for i in data.indicators
    )
    sections: list[Section] = active_sections(consortium)
    texts = current_texts(consortium)

    partners = []
    for partner, plain in zip(data.partners, data.figures.partners, strict=True):
        organisation = partner.organisation
        sign_off = data.sign_offs.get(partner.id)
        partners.append(
            doc.Partner(
                id=partner.code,
                name=organisation.name,
                kind=organisation.kind,
                departement=organisation.departement,
                territory=organisation.territory,
                siret=organisation.siret,
                role=partner.role.value,
                status=partner.status.value,
                contacts=tuple(
                    doc.Contact(c["role"], c["email"], _ext(c.get("extensions"))) for c in partner.contacts
                ),
                staff_fte=dict(plain.staff_fte),
                sections={
                    section.code: texts[(section.id, partner.id)]
                    for section in sections
                    if (section.id, partner.id) in texts and section.scope.has_partner_parts
                },
                budget=_partner_budget(model, plain),
                indicators=_indicators(indicators, model.years, plain),
                sign_off=None
                if sign_off is None
                else doc.SignOff(
                    by=sign_off.by_email,
                    at=sign_off.at.astimezone(timezone(timedelta(minutes=sign_off.at_utc_offset_minutes))),
                    digest=sign_off.digest,
                    extensions=_ext(sign_off.extensions),
                ),
                extensions=_ext(partner.extensions),
            )
        )

    lead = next(p.code for p in data.partners if p.id == consortium.lead_partner_id)
    return doc.ExchangeDocument(
        exported_at=at or datetime.now(UTC).replace(microsecond=0),
        call=doc.Call(
            code=call.code,
            name=call.name,
            programme=call.programme,
            operator=call.operator,
            submission_deadline=call.submission_deadline,
            rules=doc.CallRules(
                min_total_cost=call.min_total_cost,
                min_duration_months=call.min_duration_months,
                max_duration_months=call.max_duration_months,
                main_funder=call.main_funder,
                main_funder_share_range=share_range,
                min_local_cofunding_share=call.min_local_cofunding_share,
                balance_tolerance=call.balance_tolerance,
                extensions=_ext(call.rules_extensions),
            ),
            extensions=_ext(call.extensions),
        ),
        consortium=doc.ConsortiumInfo(
            slug=consortium.slug,
            title=consortium.title,
            acronym=consortium.acronym,
            lead_partner=lead,
            status=consortium.status.value,
            project_start=consortium.project_start,
            project_end=consortium.project_end,
            extensions=_ext(consortium.extensions),
        ),
        budget_model=model,
        indicators=indicators,
        sections=tuple(
            doc.Section(
                code=s.code,
                position=s.position,
                title=s.title,
                guidance=s.guidance,
                scope=s.scope.value,
                max_chars=s.max_chars,
                max_chars_per_partner=s.max_chars_per_partner,
                generated=s.generated,
                content=texts.get((s.id, None)),
                status=s.status.value,
                extensions=_ext(s.extensions),
            )
            for s in sections
        ),
        partners=tuple(partners),
        extensions=_ext(consortium.document_extensions),
    )


def consortium_slugs() -> list[str]:
    """Every consortium's slug, for command-line help."""
    return list(db.session.scalars(select(Consortium.slug).order_by(Consortium.slug)))
