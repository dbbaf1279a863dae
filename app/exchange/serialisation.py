"""Writing an exchange document in its canonical form, and the digest a sign-off is checked against.

Canonical means: every partner has every model year, every expense category and funder in each
year and every indicator, zeros included; money and FTE with exactly two decimals; lists and
mappings in model order; keys in the order of the format; the computed category recomputed;
"extensions" written last, only where it was given. Export → import → export is byte-identical.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from app.budget.calculations import digest_of
from app.exchange.document import (
    FORMAT_NAME,
    FORMAT_VERSION,
    BudgetModel,
    Call,
    CallRules,
    ConsortiumInfo,
    Contact,
    ExchangeDocument,
    Extensions,
    Indicator,
    Partner,
    PartnerIndicators,
    Section,
    SignOff,
    YearBudget,
)
from app.money import format_json_amount


def dumps(document: ExchangeDocument) -> str:
    """The document as exchange-format JSON text: UTF-8 characters kept, two-space indent, final newline."""
    return json.dumps(document_to_dict(document), ensure_ascii=False, indent=2) + "\n"


def document_to_dict(document: ExchangeDocument) -> dict[str, Any]:
    """The document as plain JSON values, in canonical form."""
    model = document.budget_model
    result: dict[str, Any] = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "exported_at": document.exported_at.isoformat(),
        "call": _call(document.call),
        "consortium": _consortium(document.consortium),
        "budget_model": _budget_model(model),
        "indicators": [_indicator(indicator) for indicator in document.indicators],
        "sections": [_section(section) for section in document.sections],
        "partners": [_partner(document, partner) for partner in document.partners],
    }
    return _with_extensions(result, document.extensions)


def canonical_figures(
    model: BudgetModel,
    indicators: Sequence[Indicator],
    budget: Mapping[int, YearBudget],
    staff_fte: Mapping[str, Decimal],
    indicator_values: PartnerIndicators,
) -> dict[str, Any]:
    """A partner's figures as the format writes them: {"budget", "staff_fte", "indicators"}.

    Fed from a parsed document or from the database alike: missing years, codes and values count
    as zero, codes the model does not know are left out, and the computed category is recomputed.
    """
    return {
        "budget": _budget(model, budget),
        "staff_fte": {function: _fte(fte) for function, fte in staff_fte.items()},
        "indicators": _indicator_values(model, indicators, indicator_values),
    }


def figures_digest(document: ExchangeDocument, partner: Partner) -> str:
    """The digest of a partner's current figures, to compare with its sign-off."""
    return digest_of(
        canonical_figures(
            document.budget_model, document.indicators, partner.budget, partner.staff_fte, partner.indicators
        )
    )


def is_sign_off_valid(document: ExchangeDocument, partner: Partner) -> bool:
    """Whether the partner has a sign-off that still matches its figures (else it is void or absent)."""
    return partner.sign_off is not None and partner.sign_off.digest == figures_digest(document, partner)


def _with_extensions(result: dict[str, Any], extensions: Extensions | None) -> dict[str, Any]:
    if extensions is not None:
        result["extensions"] = _plain_json(extensions)
    return result


def _plain_json(value: object) -> object:
    # Extensions are exported as they came; Mapping and tuple are turned into what json writes.
    if isinstance(value, Mapping):
        return {key: _plain_json(child) for key, child in value.items()}
    if isinstance(value, list | tuple):
        return [_plain_json(child) for child in value]
    return value


def _fte(fte: Decimal) -> str:
    return str(fte.quantize(Decimal("0.01")))


def _rate(rate: Decimal) -> str:
    # Rates are written with the digits they were given ("0.60" stays "0.60"), never as "6E-1".
    return format(rate, "f")


def _call(call: Call) -> dict[str, Any]:
    result = {
        "code": call.code,
        "name": call.name,
        "programme": call.programme,
        "operator": call.operator,
        "submission_deadline": None
        if call.submission_deadline is None
        else call.submission_deadline.isoformat(),
        "rules": _rules(call.rules),
    }
    return _with_extensions(result, call.extensions)


def _rules(rules: CallRules) -> dict[str, Any]:
    # Every rule is optional: a rule that was not given is not written (not even as null).
    result: dict[str, Any] = {}
    if rules.min_total_cost is not None:
        result["min_total_cost"] = format_json_amount(rules.min_total_cost)
    if rules.min_duration_months is not None:
        result["min_duration_months"] = rules.min_duration_months
    if rules.max_duration_months is not None:
        result["max_duration_months"] = rules.max_duration_months
    if rules.main_funder is not None:
        result["main_funder"] = rules.main_funder
    if rules.main_funder_share_range is not None:
        result["main_funder_share_range"] = [_rate(rate) for rate in rules.main_funder_share_range]
    if rules.min_local_cofunding_share is not None:
        result["min_local_cofunding_share"] = _rate(rules.min_local_cofunding_share)
    if rules.balance_tolerance is not None:
        result["balance_tolerance"] = format_json_amount(rules.balance_tolerance)
    return _with_extensions(result, rules.extensions)


def _consortium(consortium: ConsortiumInfo) -> dict[str, Any]:
    result = {
        "slug": consortium.slug,
        "title": consortium.title,
        "acronym": consortium.acronym,
        "lead_partner": consortium.lead_partner,
        "status": consortium.status,
        "project_start": consortium.project_start.isoformat(),
        "project_end": consortium.project_end.isoformat(),
    }
    return _with_extensions(result, consortium.extensions)


def _budget_model(model: BudgetModel) -> dict[str, Any]:
    categories = []
    for category in model.expense_categories:
        item: dict[str, Any] = {"code": category.code, "label": category.label}
        # "computed" is written only when true, as in the format's examples.
        if category.computed:
            item["computed"] = True
        categories.append(_with_extensions(item, category.extensions))
    indirect = model.indirect_costs
    result = {
        "years": list(model.years),
        "expense_categories": categories,
        "funders": [
            _with_extensions(
                {"code": funder.code, "label": funder.label, "group": funder.group}, funder.extensions
            )
            for funder in model.funders
        ],
        "indirect_costs": None
        if indirect is None
        else _with_extensions(
            {
                "category": indirect.category,
                "rate": _rate(indirect.rate),
                "base_categories": list(indirect.base_categories),
            },
            indirect.extensions,
        ),
    }
    return _with_extensions(result, model.extensions)


def _indicator(indicator: Indicator) -> dict[str, Any]:
    result = {
        "code": indicator.code,
        "label": indicator.label,
        "kind": indicator.kind,
        "per_year": indicator.per_year,
        "part_of": indicator.part_of,
    }
    return _with_extensions(result, indicator.extensions)


def _section(section: Section) -> dict[str, Any]:
    result = {
        "code": section.code,
        "position": section.position,
        "title": section.title,
        "guidance": section.guidance,
        "scope": section.scope,
        "max_chars": section.max_chars,
        "max_chars_per_partner": section.max_chars_per_partner,
        "generated": section.generated,
        "content": section.content,
        "status": section.status,
    }
    return _with_extensions(result, section.extensions)


def _partner(document: ExchangeDocument, partner: Partner) -> dict[str, Any]:
    figures = canonical_figures(
        document.budget_model, document.indicators, partner.budget, partner.staff_fte, partner.indicators
    )
    result = {
        "id": partner.id,
        "name": partner.name,
        "kind": partner.kind,
        "departement": partner.departement,
        "territory": partner.territory,
        "siret": partner.siret,
        "role": partner.role,
        "status": partner.status,
        "contacts": [_contact(contact) for contact in partner.contacts],
        "staff_fte": figures["staff_fte"],
        "sections": _partner_sections(document.sections, partner.sections),
        "budget": figures["budget"],
        "indicators": figures["indicators"],
        "sign_off": None if partner.sign_off is None else _sign_off(partner.sign_off),
    }
    return _with_extensions(result, partner.extensions)


def _contact(contact: Contact) -> dict[str, Any]:
    return _with_extensions({"role": contact.role, "email": contact.email}, contact.extensions)


def _sign_off(sign_off: SignOff) -> dict[str, Any]:
    result = {"by": sign_off.by, "at": sign_off.at.isoformat(), "digest": sign_off.digest}
    return _with_extensions(result, sign_off.extensions)


def _partner_sections(sections: Sequence[Section], texts: Mapping[str, str]) -> dict[str, str]:
    # Texts follow the order of the sections; a text whose section is unknown (a document built
    # by hand) is kept at the end rather than silently lost.
    ordered = {section.code: texts[section.code] for section in sections if section.code in texts}
    ordered.update((code, text) for code, text in texts.items() if code not in ordered)
    return ordered


def _budget(model: BudgetModel, budget: Mapping[int, YearBudget]) -> dict[str, Any]:
    result = {}
    for year in model.years:
        given = budget.get(year)
        complete = (
            model.complete_year(given.expenses, given.resources) if given else model.complete_year({}, {})
        )
        result[str(year)] = {
            "expenses": {code: format_json_amount(amount) for code, amount in complete.expenses.items()},
            "resources": {code: format_json_amount(amount) for code, amount in complete.resources.items()},
        }
    return result


def _indicator_values(
    model: BudgetModel, indicators: Sequence[Indicator], values: PartnerIndicators
) -> dict[str, Any]:
    per_year_codes = [indicator.code for indicator in indicators if indicator.per_year]
    return {
        "per_year": {
            str(year): {code: values.per_year.get(year, {}).get(code, 0) for code in per_year_codes}
            for year in model.years
        },
        "totals": {
            indicator.code: values.totals.get(indicator.code, 0)
            for indicator in indicators
            if not indicator.per_year
        },
    }
