"""Budget calculations: derived figures, errors and warnings of the exchange format."""

from __future__ import annotations

import hashlib
import html
import json
import re
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.budget.calculations import (
    FUNDER_GROUPS,
    BudgetModel,
    CallRules,
    Consolidation,
    ConsortiumFigures,
    ExpenseCategory,
    Finding,
    Funder,
    IndicatorDef,
    IndirectCostRule,
    PartnerFigures,
    SectionFigures,
    SignOffState,
    add_months,
    complete_expenses,
    consolidate,
    duration_months,
    flat_rate,
    is_duration_within,
    is_year_in_period,
    split_evenly,
)
from app.budget.models import FunderGroup as StoredFunderGroup
from app.money import CENT
from tests.factories import DEMO_DOCUMENT

NBSP = "\u00a0"
NNBSP = "\u202f"
YEARS = (2019, 2020, 2021, 2022)
START = date(2019, 9, 1)
END = date(2022, 8, 31)

MODEL = BudgetModel(
    years=YEARS,
    expense_categories=(
        ExpenseCategory("personnel", "Dépenses directes de personnel"),
        ExpenseCategory("fonctionnement", "Dépenses directes de fonctionnement"),
        ExpenseCategory("prestations", "Prestations de services externes"),
        ExpenseCategory("indirects", "Coûts indirects (forfait)", computed=True),
    ),
    funders=(
        Funder("pic_etat", "PIC – État / Caisse des Dépôts", "etat"),
        Funder("fse", "Fonds social européen", "ue"),
        Funder("region", "Région Île-de-France", "collectivites"),
        Funder("autofinancement", "Autofinancement", "autofinancement"),
    ),
    indirect_costs=IndirectCostRule("indirects", Decimal("0.15"), ("personnel",)),
)
INDICATORS = (
    IndicatorDef("entrees", "Personnes entrées dans le parcours", "output", True, None),
    IndicatorDef("entrees_qpv", "dont résidents QPV", "output", True, "entrees"),
    IndicatorDef("sorties_positives", "Sorties positives", "result", False, None),
    IndicatorDef("sorties_emploi_durable", "dont emploi durable", "result", False, "sorties_positives"),
)
RULES = CallRules(
    min_total_cost=Decimal("1000000.00"),
    min_duration_months=24,
    max_duration_months=36,
    main_funder="pic_etat",
    main_funder_share_range=(Decimal("0.60"), Decimal("0.80")),
    min_local_cofunding_share=Decimal("0.20"),
)
# One sound year: 100 000 staff + 10 000 running + 15 % of staff = 125 000, funded 70 / 20 / 10 %.
SOUND_EXPENSES = {"personnel": Decimal("100000.00"), "fonctionnement": Decimal("10000.00")}
SOUND_RESOURCES = {
    "pic_etat": Decimal("87500.00"),
    "region": Decimal("25000.00"),
    "autofinancement": Decimal("12500.00"),
}


def make_partner(index: int = 0, **changes: Any) -> PartnerFigures:
    """A balanced, signed-off partner worth 500 000 € over four years, with 40 participants and 2 FTE."""
    partner = PartnerFigures(
        id=f"plie-{index}",
        name=f"PLIE numéro {index}",
        index=index,
        active=True,
        expenses={year: dict(SOUND_EXPENSES) for year in YEARS},
        resources={year: dict(SOUND_RESOURCES) for year in YEARS},
        indicators_per_year={year: {"entrees": 10, "entrees_qpv": 6} for year in YEARS},
        indicator_totals={"sorties_positives": 12, "sorties_emploi_durable": 5},
        staff_fte={"referents": Decimal("1.50"), "coordination": Decimal("0.50")},
        sign_off=SignOffState.VALID,
    )
    return replace(partner, **changes)


def make_section(index: int = 0, **changes: Any) -> SectionFigures:
    """A shared, hand-written section under its limit, being written."""
    section = SectionFigures(
        code=f"section-{index}",
        title="Diagnostic territorial",
        index=index,
        scope="shared",
        generated=False,
        max_chars=2000,
        shared_length=1500,
        shared_state="written",
    )
    return replace(section, **changes)


def make_consortium(*partners: PartnerFigures, **changes: Any) -> ConsortiumFigures:
    """Two sound partners (1 000 000 € in all) answering a 24–36 month call."""
    figures = ConsortiumFigures(
        rules=RULES,
        model=MODEL,
        indicators=INDICATORS,
        project_start=START,
        project_end=END,
        partners=partners or (make_partner(0), make_partner(1)),
    )
    return replace(figures, **changes)


def codes(findings: tuple[Finding, ...]) -> list[str]:
    return [finding.code for finding in findings]


def only(findings: tuple[Finding, ...], code: str) -> Finding:
    matching = [finding for finding in findings if finding.code == code]
    assert len(matching) == 1, findings
    return matching[0]


def eur(text: str) -> str:
    """Babel's French spelling of an amount written with plain spaces: "1 234,56" → "1 234,56 €"."""
    return text.replace(" ", NNBSP) + NBSP + "€"


# Flat rate and splitting (hostile-inputs row M8)


def test_flat_rate_of_15_percent_of_10_05_is_1_51() -> None:
    assert flat_rate(Decimal("0.15"), [Decimal("10.05")]) == Decimal("1.51")


def test_flat_rate_rounds_an_exact_half_cent_up() -> None:
    assert flat_rate(Decimal("0.5"), [Decimal("0.01")]) == Decimal("0.01")
    assert flat_rate(Decimal("0.15"), [Decimal("0.10")]) == Decimal("0.02")


def test_flat_rate_rounds_once_on_the_sum_of_the_base() -> None:
    # Rounding each base category first would give 0.06.
    assert flat_rate(Decimal("0.15"), [Decimal("0.10")] * 3) == Decimal("0.05")


def test_flat_rate_of_an_empty_base_is_zero() -> None:
    assert flat_rate(Decimal("0.40"), []) == Decimal("0.00")


@given(
    rate=st.decimals(min_value=0, max_value=1, places=4),
    base=st.lists(st.integers(min_value=0, max_value=10**14 - 1), max_size=5),
)
def test_flat_rate_equals_half_up_rate_times_base(rate: Decimal, base: list[int]) -> None:
    exact_cents = Fraction(rate) * sum(base)
    expected_cents = (exact_cents + Fraction(1, 2)).__floor__()
    assert flat_rate(rate, [Decimal(cents) / 100 for cents in base]) == Decimal(expected_cents) / 100


def test_100_euros_over_3_years_is_33_33_then_33_33_then_33_34() -> None:
    assert split_evenly(Decimal("100"), 3) == (Decimal("33.33"), Decimal("33.33"), Decimal("33.34"))


@given(st.integers(min_value=0, max_value=10**14 - 1), st.integers(min_value=1, max_value=12))
def test_split_evenly_parts_add_up_and_differ_by_less_than_the_parts(cents: int, parts: int) -> None:
    amount = Decimal(cents) / 100
    shares = split_evenly(amount, parts)
    assert len(shares) == parts
    assert sum(shares) == amount
    assert all(share == share.quantize(CENT) for share in shares)
    assert max(shares) - min(shares) < Decimal(parts) / 100


# Completing a partner's expenses


def test_complete_expenses_fills_every_year_and_category_with_zeros() -> None:
    completed = complete_expenses(MODEL, {2020: {"personnel": Decimal("1000.00")}})
    assert list(completed) == list(YEARS)
    for year in YEARS:
        assert list(completed[year]) == ["personnel", "fonctionnement", "prestations", "indirects"]
    assert completed[2019] == dict.fromkeys(completed[2019], Decimal(0))
    assert completed[2020]["indirects"] == Decimal("150.00")


def test_complete_expenses_ignores_a_typed_value_for_the_computed_category() -> None:
    completed = complete_expenses(
        MODEL, {2019: {"personnel": Decimal("38333.00"), "indirects": Decimal("99999.99")}}
    )
    assert completed[2019]["indirects"] == Decimal("5749.95")


def test_complete_expenses_computes_a_rate_of_several_base_categories() -> None:
    model = replace(
        MODEL,
        indirect_costs=IndirectCostRule("indirects", Decimal("0.20"), ("personnel", "fonctionnement")),
    )
    amounts = {"personnel": Decimal("1000.00"), "fonctionnement": Decimal("0.03"), "prestations": Decimal(50)}
    assert complete_expenses(model, {2021: amounts})[2021]["indirects"] == Decimal("200.01")


def test_complete_expenses_without_indirect_rule_computes_nothing() -> None:
    model = replace(
        MODEL,
        expense_categories=MODEL.expense_categories[:3],
        indirect_costs=None,
    )
    completed = complete_expenses(model, {2019: {"personnel": Decimal("10.00")}})
    assert completed[2019] == {"personnel": Decimal("10.00"), "fonctionnement": 0, "prestations": 0}


# Project period


def test_project_from_2019_09_01_to_2022_08_31_lasts_exactly_36_months() -> None:
    assert duration_months(START, END) == 36
    assert is_duration_within(START, END, 24, 36)


def test_one_day_more_than_36_months_exceeds_36() -> None:
    assert duration_months(START, date(2022, 9, 1)) == 37
    assert not is_duration_within(START, date(2022, 9, 1), 24, 36)


def test_24_months_is_within_bounds_and_one_day_less_is_not() -> None:
    assert duration_months(START, date(2021, 8, 31)) == 24
    assert is_duration_within(START, date(2021, 8, 31), 24, 36)
    assert not is_duration_within(START, date(2021, 8, 30), 24, 36)
    assert duration_months(START, date(2021, 8, 30)) == 24  # a month begun still counts


def test_duration_from_a_month_end_counts_short_months_as_whole() -> None:
    assert add_months(date(2019, 1, 31), 1) == date(2019, 2, 28)
    assert duration_months(date(2019, 1, 31), date(2019, 2, 27)) == 1
    assert duration_months(date(2020, 1, 1), date(2020, 12, 31)) == 12


def test_duration_of_a_period_ending_before_it_starts_is_zero() -> None:
    assert duration_months(START, date(2019, 8, 1)) == 0
    assert not is_duration_within(START, date(2019, 8, 1), 24, None)


def test_duration_without_bounds_is_always_within() -> None:
    assert is_duration_within(START, date(2040, 1, 1), None, None)


@pytest.mark.parametrize(
    ("year", "inside"), [(2018, False), (2019, True), (2020, True), (2022, True), (2023, False)]
)
def test_a_year_is_in_the_period_when_it_shares_a_day_with_it(year: int, inside: bool) -> None:
    assert is_year_in_period(year, START, END) is inside


def test_a_year_sharing_only_its_last_day_is_in_the_period() -> None:
    assert is_year_in_period(2019, date(2019, 12, 31), date(2021, 6, 30))
    assert not is_year_in_period(2019, date(2020, 1, 1), date(2021, 6, 30))


# Consolidation: totals


def test_sound_consortium_has_no_error_and_no_warning() -> None:
    result = consolidate(make_consortium())
    assert result.errors == ()
    assert result.warnings == ()


def test_consolidation_sums_active_partners() -> None:
    result = consolidate(make_consortium())
    assert result.total_cost == Decimal("1000000.00")
    assert result.total_resources == Decimal("1000000.00")
    assert result.by_category["personnel"] == dict.fromkeys(YEARS, Decimal("200000.00"))
    assert result.by_category["indirects"] == dict.fromkeys(YEARS, Decimal("30000.00"))
    assert result.by_category["prestations"] == dict.fromkeys(YEARS, Decimal(0))
    assert result.by_funder["pic_etat"] == dict.fromkeys(YEARS, Decimal("175000.00"))
    assert result.by_funder["fse"] == dict.fromkeys(YEARS, Decimal(0))
    assert result.by_funder_group == {
        "etat": Decimal("700000.00"),
        "ue": Decimal(0),
        "collectivites": Decimal("200000.00"),
        "autres_publics": Decimal(0),
        "prives": Decimal(0),
        "autofinancement": Decimal("100000.00"),
    }
    assert result.expenses_by_year == dict.fromkeys(YEARS, Decimal("250000.00"))
    assert result.resources_by_year == dict.fromkeys(YEARS, Decimal("250000.00"))
    assert result.main_funder_share == Decimal("0.7")
    assert result.local_cofunding_share == Decimal("0.3")
    assert result.participants == 80
    assert result.cost_per_participant == Decimal("12500.00")
    assert result.fte == Decimal("4.00")
    assert result.participants_per_fte == Decimal("20.0")
    assert result.duration_months == 36


def test_partner_totals_fill_every_year_category_and_funder() -> None:
    totals = consolidate(make_consortium()).partners[0]
    assert totals.id == "plie-0"
    assert totals.expenses[2019] == {
        "personnel": Decimal("100000.00"),
        "fonctionnement": Decimal("10000.00"),
        "prestations": Decimal(0),
        "indirects": Decimal("15000.00"),
    }
    assert totals.resources[2022]["fse"] == Decimal(0)
    assert totals.expenses_by_year == dict.fromkeys(YEARS, Decimal("125000.00"))
    assert totals.total_expenses == totals.total_resources == Decimal("500000.00")
    assert totals.balanced
    assert totals.unbalanced_years == ()
    assert totals.participants == 40
    assert totals.fte == Decimal("2.00")
    assert totals.sign_off is SignOffState.VALID


def test_withdrawn_partner_counts_in_no_total() -> None:
    withdrawn = make_partner(
        2,
        active=False,
        expenses={2019: {"personnel": Decimal("5000.00")}, 2023: {}},
        resources={},
        indicators_per_year={2019: {"entrees": 1, "entrees_qpv": 9}},
        indicator_totals={"sorties_emploi_durable": 3},
        sign_off=SignOffState.VOID,
    )
    result = consolidate(make_consortium(make_partner(0), make_partner(1), withdrawn))
    assert result == replace(
        consolidate(make_consortium()),
        partners=result.partners,
    )
    assert [totals.id for totals in result.partners] == ["plie-0", "plie-1", "plie-2"]
    kept = result.partners[2]
    assert not kept.active
    assert kept.total_expenses == Decimal("5750.00")
    assert kept.unbalanced_years == (2019,)
    assert kept.participants == 1


def test_withdrawn_partner_raises_no_error_and_no_warning() -> None:
    withdrawn = make_partner(
        0,
        active=False,
        resources={},
        indicators_per_year={2019: {"entrees": 1, "entrees_qpv": 9}},
        sign_off=SignOffState.NONE,
    )
    result = consolidate(make_consortium(withdrawn, make_partner(1), make_partner(2)))
    assert result.errors == ()
    assert result.warnings == ()


def test_consortium_of_only_withdrawn_partners_has_no_shares() -> None:
    result = consolidate(make_consortium(make_partner(0, active=False)))
    assert result.total_cost == Decimal(0)
    assert result.main_funder_share is None
    assert result.local_cofunding_share is None
    assert result.cost_per_participant is None
    assert result.participants_per_fte is None
    assert codes(result.errors) == ["total_cost_below_minimum"]
    assert result.warnings == ()


@pytest.mark.parametrize(
    ("total", "participants", "expected"),
    [
        ("100.00", 3, "33.33"),
        ("200.00", 3, "66.67"),
        ("1000.01", 2, "500.01"),  # 500.005: half-up, where half-even would give 500.00
        ("1000.03", 2, "500.02"),  # 500.015
    ],
)
def test_cost_per_participant_is_rounded_half_up_to_the_cent(
    total: str, participants: int, expected: str
) -> None:
    partner = make_partner(
        expenses={2020: {"fonctionnement": Decimal(total)}},
        resources={2020: {"pic_etat": Decimal(total)}},
        indicators_per_year={2020: {"entrees": participants}},
    )
    assert consolidate(make_consortium(partner)).cost_per_participant == Decimal(expected)


def test_cost_per_participant_is_none_without_participants() -> None:
    partner = make_partner(indicators_per_year={})
    result = consolidate(make_consortium(partner))
    assert result.participants == 0
    assert result.cost_per_participant is None


def test_participants_count_only_entries_summed_over_years() -> None:
    partner = make_partner(indicators_per_year={2019: {"entrees": 3, "entrees_qpv": 2}, 2022: {"entrees": 4}})
    assert consolidate(make_consortium(partner)).participants == 7


def test_participants_per_fte_is_rounded_half_up_to_a_tenth() -> None:
    partner = make_partner(
        indicators_per_year={2019: {"entrees": 5}}, staff_fte={"referents": Decimal("4.00")}
    )
    assert consolidate(make_consortium(partner)).participants_per_fte == Decimal("1.3")


def test_participants_per_fte_is_none_without_staff() -> None:
    partner = make_partner(staff_fte={})
    result = consolidate(make_consortium(partner))
    assert result.fte == Decimal(0)
    assert result.participants_per_fte is None


def test_typed_indirect_costs_are_replaced_by_the_flat_rate_in_totals() -> None:
    partner = make_partner(
        expenses={year: {**SOUND_EXPENSES, "indirects": Decimal("1.00")} for year in YEARS}
    )
    result = consolidate(make_consortium(partner, make_partner(1)))
    assert result.by_category["indirects"][2019] == Decimal("30000.00")
    assert result.errors == ()


# Errors


def test_unbalanced_year_names_partner_year_totals_and_missing_resources() -> None:
    partner = make_partner(
        4,
        resources={**dict.fromkeys(YEARS, SOUND_RESOURCES), 2020: {"pic_etat": Decimal("123766.00")}},
    )
    result = consolidate(make_consortium(make_partner(0), partner))
    finding = only(result.errors, "unbalanced_year")
    assert finding == Finding(
        code="unbalanced_year",
        severity="error",
        message=(
            "PLIE numéro 4, 2020 : le plan de financement n'est pas équilibré, il manque "
            f"{eur('1 234,00')} de ressources (dépenses {eur('125 000,00')}, ressources {eur('123 766,00')})."
        ),
        path="partners[4].budget.2020",
        partner="plie-4",
        year=2020,
    )
    assert result.partners[1].unbalanced_years == (2020,)
    assert not result.partners[1].balanced


def test_unbalanced_year_says_when_resources_exceed_expenses() -> None:
    resources = {**SOUND_RESOURCES, "fse": Decimal("0.01")}
    partner = make_partner(resources={**dict.fromkeys(YEARS, SOUND_RESOURCES), 2022: resources})
    finding = only(consolidate(make_consortium(partner, make_partner(1))).errors, "unbalanced_year")
    assert "les ressources dépassent les dépenses de 0,01\u00a0€" in finding.message
    assert finding.year == 2022


def test_unbalanced_year_is_reported_for_each_year() -> None:
    partner = make_partner(resources={})
    result = consolidate(make_consortium(partner, make_partner(1)))
    assert [finding.path for finding in result.errors if finding.code == "unbalanced_year"] == [
        f"partners[0].budget.{year}" for year in YEARS
    ]


@pytest.mark.parametrize(
    ("tolerance", "gap", "unbalanced"),
    [
        ("0.00", "0.00", False),
        ("0.00", "0.01", True),
        ("1.00", "1.00", False),
        ("1.00", "1.01", True),
        ("1.00", "-1.00", False),
        ("1.00", "-1.01", True),
    ],
)
def test_balance_tolerance_accepts_a_gap_up_to_and_including_it(
    tolerance: str, gap: str, unbalanced: bool
) -> None:
    resources = {**SOUND_RESOURCES, "autofinancement": SOUND_RESOURCES["autofinancement"] - Decimal(gap)}
    partner = make_partner(resources={**dict.fromkeys(YEARS, SOUND_RESOURCES), 2021: resources})
    rules = replace(RULES, balance_tolerance=Decimal(tolerance))
    result = consolidate(make_consortium(partner, make_partner(1), rules=rules))
    assert ("unbalanced_year" in codes(result.errors)) is unbalanced
    assert result.partners[0].balanced is not unbalanced


@pytest.mark.parametrize(("minimum", "below"), [("1000000.00", False), ("1000000.01", True), (None, False)])
def test_total_cost_below_minimum(minimum: str | None, below: bool) -> None:
    rules = replace(RULES, min_total_cost=Decimal(minimum) if minimum else None)
    result = consolidate(make_consortium(rules=rules))
    assert ("total_cost_below_minimum" in codes(result.errors)) is below


def test_total_cost_below_minimum_gives_both_amounts() -> None:
    result = consolidate(make_consortium(make_partner(0)))
    assert only(result.errors, "total_cost_below_minimum") == Finding(
        code="total_cost_below_minimum",
        severity="error",
        message=(
            f"Le coût total du projet ({eur('500 000,00')}) est inférieur au minimum demandé par l'appel "
            f"({eur('1 000 000,00')})."
        ),
        path="call.rules.min_total_cost",
        partner=None,
        year=None,
    )


@pytest.mark.parametrize(
    ("end", "out"),
    [
        (date(2022, 8, 31), False),
        (date(2022, 9, 1), True),
        (date(2021, 8, 31), False),
        (date(2021, 8, 30), True),
    ],
)
def test_duration_out_of_bounds(end: date, out: bool) -> None:
    result = consolidate(make_consortium(project_end=end))
    assert ("duration_out_of_bounds" in codes(result.errors)) is out


def test_duration_out_of_bounds_points_at_the_project_end_and_states_the_bounds() -> None:
    result = consolidate(make_consortium(project_end=date(2022, 9, 1)))
    finding = only(result.errors, "duration_out_of_bounds")
    assert finding.path == "consortium.project_end"
    assert finding.message == (
        "La période du projet (du 01/09/2019 au 01/09/2022) sort de la durée demandée par l'appel : "
        "de 24 à 36 mois."
    )


def test_duration_is_not_checked_without_bounds() -> None:
    rules = replace(RULES, min_duration_months=None, max_duration_months=None)
    result = consolidate(make_consortium(rules=rules, project_end=date(2030, 1, 1)))
    assert "duration_out_of_bounds" not in codes(result.errors)


def test_duration_with_only_a_maximum_says_at_most() -> None:
    rules = replace(RULES, min_duration_months=None)
    result = consolidate(make_consortium(rules=rules, project_end=date(2023, 1, 1)))
    assert only(result.errors, "duration_out_of_bounds").message.endswith("au plus 36 mois.")


def test_amount_in_a_year_outside_the_period_is_an_error() -> None:
    start, end = date(2020, 1, 1), date(2021, 12, 31)
    partner = make_partner(
        3,
        expenses={2020: SOUND_EXPENSES, 2021: SOUND_EXPENSES, 2022: {"prestations": Decimal("0.01")}},
        resources={2020: SOUND_RESOURCES, 2021: SOUND_RESOURCES, 2022: {"fse": Decimal("0.01")}},
    )
    result = consolidate(make_consortium(partner, project_start=start, project_end=end))
    finding = only(result.errors, "amount_outside_period")
    assert finding.path == "partners[3].budget.2022"
    assert finding.partner == "plie-3"
    assert finding.year == 2022
    assert finding.message == (
        "PLIE numéro 3 : des montants sont saisis pour 2022, année hors de la période du projet "
        "(du 01/01/2020 au 31/12/2021)."
    )


def test_resources_alone_outside_the_period_are_an_error() -> None:
    partner = make_partner(resources={**dict.fromkeys(YEARS, SOUND_RESOURCES), 2019: {"fse": Decimal(1)}})
    result = consolidate(make_consortium(partner, project_start=date(2020, 1, 1)))
    assert only(result.errors, "amount_outside_period").year == 2019


def test_zero_amounts_outside_the_period_are_fine() -> None:
    partner = make_partner(
        expenses={2020: SOUND_EXPENSES, 2021: SOUND_EXPENSES, 2022: {"personnel": Decimal("0.00")}},
        resources={2020: SOUND_RESOURCES, 2021: SOUND_RESOURCES},
    )
    rules = replace(RULES, min_total_cost=None, min_duration_months=None)
    result = consolidate(
        make_consortium(partner, rules=rules, project_start=date(2020, 1, 1), project_end=date(2021, 12, 31))
    )
    assert result.errors == ()


def test_sub_indicator_above_its_parent_in_a_year_is_an_error() -> None:
    partner = make_partner(
        4,
        indicators_per_year={
            **{year: {"entrees": 10, "entrees_qpv": 10} for year in YEARS},
            2019: {
                "entrees": 12,
                "entrees_qpv": 15,
            },
        },
    )
    result = consolidate(make_consortium(make_partner(0), partner))
    assert only(result.errors, "indicator_above_parent") == Finding(
        code="indicator_above_parent",
        severity="error",
        message=(
            "PLIE numéro 4, 2019 : « dont résidents QPV » (15) dépasse "
            "« Personnes entrées dans le parcours » (12)."
        ),
        path="partners[4].indicators.per_year.2019.entrees_qpv",
        partner="plie-4",
        year=2019,
    )


def test_sub_indicator_with_no_parent_value_is_above_zero() -> None:
    partner = make_partner(indicators_per_year={2021: {"entrees_qpv": 1}})
    result = consolidate(make_consortium(partner, make_partner(1)))
    assert (
        only(result.errors, "indicator_above_parent").path
        == "partners[0].indicators.per_year.2021.entrees_qpv"
    )


def test_sub_indicator_above_its_parent_in_totals_is_an_error() -> None:
    partner = make_partner(2, indicator_totals={"sorties_positives": 4, "sorties_emploi_durable": 5})
    result = consolidate(make_consortium(make_partner(0), make_partner(1), partner))
    finding = only(result.errors, "indicator_above_parent")
    assert finding.path == "partners[2].indicators.totals.sorties_emploi_durable"
    assert finding.year is None
    assert finding.message == "PLIE numéro 2 : « dont emploi durable » (5) dépasse « Sorties positives » (4)."


def test_sub_indicator_equal_to_its_parent_is_fine() -> None:
    partner = make_partner(
        indicators_per_year={year: {"entrees": 7, "entrees_qpv": 7} for year in YEARS},
        indicator_totals={"sorties_positives": 4, "sorties_emploi_durable": 4},
    )
    assert consolidate(make_consortium(partner, make_partner(1))).errors == ()


# Warnings


@pytest.mark.parametrize(
    ("pic", "outside"),
    [
        ("87500.00", False),  # 70 %
        ("75000.00", False),  # exactly 60 %
        ("100000.00", False),  # exactly 80 %
        ("74999.99", True),
        ("100000.01", True),  # shows as 80,0 % but is above: the share is compared unrounded
    ],
)
def test_main_funder_share_outside_its_range_is_a_warning(pic: str, outside: bool) -> None:
    # One partner, one year worth 125 000 €, so pic / 125 000 is the share.
    resources = {"pic_etat": Decimal(pic), "region": Decimal("125000.00") - Decimal(pic)}
    partner = make_partner(expenses={2020: SOUND_EXPENSES}, resources={2020: resources})
    rules = replace(RULES, min_total_cost=None)
    result = consolidate(make_consortium(partner, rules=rules))
    assert result.main_funder_share == Decimal(pic) / Decimal("125000")
    assert ("main_funder_share_out_of_range" in codes(result.warnings)) is outside


def test_main_funder_share_warning_names_the_funder_and_the_range() -> None:
    partner = make_partner(
        expenses={2020: SOUND_EXPENSES},
        resources={2020: {"pic_etat": Decimal("62500.00"), "region": Decimal("62500.00")}},
    )
    result = consolidate(make_consortium(partner, rules=replace(RULES, min_total_cost=None)))
    assert only(result.warnings, "main_funder_share_out_of_range") == Finding(
        code="main_funder_share_out_of_range",
        severity="warning",
        message=(
            "PIC – État / Caisse des Dépôts finance 50,0\u00a0% du coût total ; "
            "l'appel attend entre 60,0\u00a0% et 80,0\u00a0%."
        ),
        path="call.rules.main_funder_share_range",
        partner=None,
        year=None,
    )


def test_main_funder_share_is_exact_not_rounded() -> None:
    partner = make_partner(
        expenses={2020: {"fonctionnement": Decimal("3.00")}},
        resources={2020: {"pic_etat": Decimal("2.00"), "region": Decimal("1.00")}},
    )
    share = consolidate(make_consortium(partner)).main_funder_share
    assert share is not None
    assert share > Decimal("0.6666666666666666666666666666")
    assert share < Decimal("0.6666666666666666666666666667")


def test_main_funder_share_is_none_without_a_main_funder() -> None:
    rules = replace(RULES, main_funder=None)
    result = consolidate(make_consortium(rules=rules))
    assert result.main_funder_share is None
    assert "main_funder_share_out_of_range" not in codes(result.warnings)


def test_local_cofunding_counts_every_group_but_state_and_eu() -> None:
    resources = {
        "pic_etat": Decimal("50000.00"),
        "fse": Decimal("50000.00"),
        "region": Decimal("15000.00"),
        "autofinancement": Decimal("10000.00"),
    }
    partner = make_partner(expenses={2020: SOUND_EXPENSES}, resources={2020: resources})
    result = consolidate(make_consortium(partner))
    assert result.local_cofunding_share == Decimal("0.2")
    assert "local_cofunding_below_minimum" not in codes(result.warnings)


def test_local_cofunding_below_minimum_is_a_warning() -> None:
    resources = {
        "pic_etat": Decimal("100000.00"),
        "region": Decimal("15000.00"),
        "autofinancement": Decimal("9999.99"),
        "fse": Decimal("0.01"),
    }
    partner = make_partner(expenses={2020: SOUND_EXPENSES}, resources={2020: resources})
    result = consolidate(make_consortium(partner))
    assert only(result.warnings, "local_cofunding_below_minimum") == Finding(
        code="local_cofunding_below_minimum",
        severity="warning",
        message=(
            "Les cofinancements hors État et fonds européens couvrent 20,0\u00a0% du coût total ; "
            "l'appel attend au moins 20,0\u00a0%."
        ),
        path="call.rules.min_local_cofunding_share",
        partner=None,
        year=None,
    )


def test_local_cofunding_is_not_checked_without_a_minimum() -> None:
    partner = make_partner(expenses={2020: SOUND_EXPENSES}, resources={2020: {"pic_etat": Decimal(125000)}})
    rules = replace(RULES, min_local_cofunding_share=None, main_funder_share_range=None)
    result = consolidate(make_consortium(partner, rules=rules))
    assert result.local_cofunding_share == Decimal(0)
    assert result.warnings == ()


@pytest.mark.parametrize(
    ("changes", "over"),
    [
        ({"shared_length": 2001}, True),
        ({"shared_length": 2000}, False),
        ({"shared_length": 2001, "scope": "shared_and_per_partner"}, True),
        ({"shared_length": 2001, "scope": "per_partner"}, False),
        ({"shared_length": 2001, "generated": True}, True),
        ({"shared_length": 99999, "max_chars": None}, False),
    ],
)
def test_section_over_limit(changes: dict[str, Any], over: bool) -> None:
    result = consolidate(make_consortium(sections=(make_section(**changes),)))
    assert ("section_over_limit" in codes(result.warnings)) is over


def test_section_over_limit_gives_length_limit_and_path() -> None:
    section = make_section(3, shared_length=6512, max_chars=6000)
    result = consolidate(make_consortium(sections=(make_section(0), section)))
    assert only(result.warnings, "section_over_limit") == Finding(
        code="section_over_limit",
        severity="warning",
        message=(
            "Chapitre « Diagnostic territorial » : le texte commun compte 6\u202f512 caractères "
            "pour 6\u202f000 au maximum."
        ),
        path="sections[3].content",
        partner=None,
        year=None,
    )


@pytest.mark.parametrize(
    ("changes", "todo"),
    [
        ({"shared_state": "empty", "shared_length": 0}, True),
        ({"shared_state": "empty", "shared_length": 0, "scope": "shared_and_per_partner"}, True),
        ({"shared_state": "empty", "shared_length": 0, "scope": "per_partner"}, False),
        ({"shared_state": "empty", "shared_length": 0, "generated": True}, False),
        ({"shared_state": "written"}, False),
        ({"shared_state": "to_review"}, False),
        ({"shared_state": "validated"}, False),
    ],
)
def test_section_todo(changes: dict[str, Any], todo: bool) -> None:
    result = consolidate(make_consortium(sections=(make_section(**changes),)))
    assert ("section_todo" in codes(result.warnings)) is todo


def test_section_todo_points_at_the_status() -> None:
    result = consolidate(make_consortium(sections=(make_section(5, shared_state="empty", shared_length=0),)))
    finding = only(result.warnings, "section_todo")
    assert finding.path == "sections[5].status"
    assert (
        finding.message == "Chapitre « Diagnostic territorial » : le texte commun n'est pas encore commencé."
    )


def test_partner_without_sign_off_is_a_warning() -> None:
    result = consolidate(make_consortium(make_partner(0), make_partner(7, sign_off=SignOffState.NONE)))
    assert result.warnings == (
        Finding(
            code="sign_off_missing",
            severity="warning",
            message="PLIE numéro 7 : la direction n'a pas encore validé ses chiffres.",
            path="partners[7].sign_off",
            partner="plie-7",
            year=None,
        ),
    )


def test_partner_with_void_sign_off_is_a_warning() -> None:
    result = consolidate(make_consortium(make_partner(0, sign_off=SignOffState.VOID), make_partner(1)))
    finding = only(result.warnings, "sign_off_void")
    assert finding.path == "partners[0].sign_off"
    assert finding.partner == "plie-0"
    assert "une nouvelle validation est nécessaire" in finding.message
    assert "sign_off_missing" not in codes(result.warnings)


def test_findings_come_consortium_first_then_partners_in_order_then_sections() -> None:
    first = make_partner(0, resources={}, sign_off=SignOffState.NONE)
    second = make_partner(1, indicators_per_year={2020: {"entrees_qpv": 1}}, sign_off=SignOffState.VOID)
    figures = make_consortium(
        first,
        second,
        project_end=date(2023, 1, 1),
        sections=(
            make_section(0, shared_length=3000),
            make_section(1, shared_state="empty", shared_length=0),
        ),
    )
    result = consolidate(figures)
    assert [(finding.code, finding.partner, finding.year) for finding in result.errors] == [
        ("duration_out_of_bounds", None, None),
        ("unbalanced_year", "plie-0", 2019),
        ("unbalanced_year", "plie-0", 2020),
        ("unbalanced_year", "plie-0", 2021),
        ("unbalanced_year", "plie-0", 2022),
        ("indicator_above_parent", "plie-1", 2020),
    ]
    assert codes(result.warnings) == [
        "main_funder_share_out_of_range",
        "local_cofunding_below_minimum",
        "sign_off_missing",
        "sign_off_void",
        "section_over_limit",
        "section_todo",
    ]
    assert consolidate(figures) == result


# Properties: totals always equal the sum of their parts

amounts = st.integers(min_value=0, max_value=10**9).map(lambda cents: Decimal(cents) / 100)


@st.composite
def partners_figures(draw: st.DrawFn, index: int) -> PartnerFigures:
    categories = [category.code for category in MODEL.expense_categories]
    funders = [funder.code for funder in MODEL.funders]
    return make_partner(
        index,
        active=draw(st.booleans()),
        expenses=draw(
            st.dictionaries(st.sampled_from(YEARS), st.dictionaries(st.sampled_from(categories), amounts))
        ),
        resources=draw(
            st.dictionaries(st.sampled_from(YEARS), st.dictionaries(st.sampled_from(funders), amounts))
        ),
        indicators_per_year=draw(
            st.dictionaries(st.sampled_from(YEARS), st.fixed_dictionaries({"entrees": st.integers(0, 500)}))
        ),
        staff_fte={"referents": draw(st.integers(0, 1000).map(lambda hundredths: Decimal(hundredths) / 100))},
    )


@st.composite
def consortia(draw: st.DrawFn) -> ConsortiumFigures:
    count = draw(st.integers(min_value=0, max_value=5))
    return replace(make_consortium(), partners=tuple(draw(partners_figures(index)) for index in range(count)))


def check_totals_add_up(result: Consolidation) -> None:
    active = [totals for totals in result.partners if totals.active]
    for totals in result.partners:
        for year in YEARS:
            assert totals.expenses_by_year[year] == sum(totals.expenses[year].values())
            assert totals.resources_by_year[year] == sum(totals.resources[year].values())
            assert totals.expenses[year]["indirects"] == flat_rate(
                Decimal("0.15"), [totals.expenses[year]["personnel"]]
            )
        assert totals.total_expenses == sum(totals.expenses_by_year.values())
        assert totals.total_resources == sum(totals.resources_by_year.values())
    for category, by_year in result.by_category.items():
        for year, amount in by_year.items():
            assert amount == sum(totals.expenses[year][category] for totals in active)
    for funder, by_year in result.by_funder.items():
        for year, amount in by_year.items():
            assert amount == sum(totals.resources[year][funder] for totals in active)
    for year in YEARS:
        assert result.expenses_by_year[year] == sum(by_year[year] for by_year in result.by_category.values())
        assert result.resources_by_year[year] == sum(by_year[year] for by_year in result.by_funder.values())
    assert result.total_cost == sum(totals.total_expenses for totals in active)
    assert result.total_cost == sum(result.expenses_by_year.values())
    assert result.total_cost == sum(sum(by_year.values()) for by_year in result.by_category.values())
    assert result.total_resources == sum(totals.total_resources for totals in active)
    assert result.total_resources == sum(result.resources_by_year.values())
    assert result.total_resources == sum(result.by_funder_group.values())
    assert result.participants == sum(totals.participants for totals in active)
    assert result.fte == sum(totals.fte for totals in active)


@given(consortia())
def test_totals_always_equal_the_sum_of_their_parts(figures: ConsortiumFigures) -> None:
    result = consolidate(figures)
    check_totals_add_up(result)
    inactive = {partner.id for partner in figures.partners if not partner.active}
    assert not any(finding.partner in inactive for finding in (*result.errors, *result.warnings))


@given(consortia())
def test_withdrawing_every_partner_leaves_nothing_to_count(figures: ConsortiumFigures) -> None:
    withdrawn = replace(figures, partners=tuple(replace(p, active=False) for p in figures.partners))
    result = consolidate(withdrawn)
    assert result.total_cost == result.total_resources == Decimal(0)
    assert result.participants == 0
    assert all(finding.partner is None for finding in (*result.errors, *result.warnings))


# The demo consortium beside the repository


def figures_from_document(document: dict[str, Any]) -> ConsortiumFigures:
    """ConsortiumFigures read straight from an exchange document (no validation: it is known good)."""
    rules = document["call"]["rules"]
    model = document["budget_model"]
    indirect = model["indirect_costs"]

    def money(table: dict[str, dict[str, str]]) -> dict[int, dict[str, Decimal]]:
        return {
            int(year): {code: Decimal(value) for code, value in row.items()} for year, row in table.items()
        }

    def sign_off(partner: dict[str, Any]) -> SignOffState:
        if partner["sign_off"] is None:
            return SignOffState.NONE
        figures = {key: partner[key] for key in ("budget", "staff_fte", "indicators")}
        canonical = json.dumps(figures, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.sha256(canonical.encode()).hexdigest()
        return SignOffState.VALID if digest == partner["sign_off"]["digest"] else SignOffState.VOID

    def visible_length(content: str | None) -> int:
        return len(html.unescape(re.sub(r"<[^>]*>", "", content or "")))

    def shared_state(section: dict[str, Any]) -> str:
        # Reviewed or validated when someone said so, else written as soon as it has text.
        steps = {"in_review": "to_review", "validated": "validated"}
        return steps.get(section["status"]) or ("written" if visible_length(section["content"]) else "empty")

    share_range = rules.get("main_funder_share_range")
    return ConsortiumFigures(
        rules=CallRules(
            min_total_cost=Decimal(rules["min_total_cost"]),
            min_duration_months=rules["min_duration_months"],
            max_duration_months=rules["max_duration_months"],
            main_funder=rules["main_funder"],
            main_funder_share_range=(Decimal(share_range[0]), Decimal(share_range[1])),
            min_local_cofunding_share=Decimal(rules["min_local_cofunding_share"]),
            balance_tolerance=Decimal(rules["balance_tolerance"]),
        ),
        model=BudgetModel(
            years=tuple(model["years"]),
            expense_categories=tuple(
                ExpenseCategory(c["code"], c["label"], c.get("computed", False))
                for c in model["expense_categories"]
            ),
            funders=tuple(Funder(f["code"], f["label"], f["group"]) for f in model["funders"]),
            indirect_costs=IndirectCostRule(
                indirect["category"], Decimal(indirect["rate"]), tuple(indirect["base_categories"])
            ),
        ),
        indicators=tuple(
            IndicatorDef(i["code"], i["label"], i["kind"], i["per_year"], i["part_of"])
            for i in document["indicators"]
        ),
        project_start=date.fromisoformat(document["consortium"]["project_start"]),
        project_end=date.fromisoformat(document["consortium"]["project_end"]),
        partners=tuple(
            PartnerFigures(
                id=p["id"],
                name=p["name"],
                index=index,
                active=p["status"] == "active",
                expenses=money({year: row["expenses"] for year, row in p["budget"].items()}),
                resources=money({year: row["resources"] for year, row in p["budget"].items()}),
                indicators_per_year={int(year): row for year, row in p["indicators"]["per_year"].items()},
                indicator_totals=p["indicators"]["totals"],
                staff_fte={code: Decimal(value) for code, value in p["staff_fte"].items()},
                sign_off=sign_off(p),
            )
            for index, p in enumerate(document["partners"])
        ),
        sections=tuple(
            SectionFigures(
                code=s["code"],
                title=s["title"],
                index=index,
                scope=s["scope"],
                generated=s["generated"],
                max_chars=s["max_chars"],
                shared_length=visible_length(s["content"]),
                shared_state=shared_state(s),
            )
            for index, s in enumerate(document["sections"])
        ),
    )


def test_demo_consortium_indirect_costs_and_total_cost_match_the_file() -> None:
    document = json.loads(DEMO_DOCUMENT.read_text(encoding="utf-8"))
    result = consolidate(figures_from_document(document))
    for partner, totals in zip(document["partners"], result.partners, strict=True):
        for year, row in partner["budget"].items():
            assert totals.expenses[int(year)]["indirects"] == Decimal(row["expenses"]["indirects"]), (
                partner["id"],
                year,
            )
    active_expenses = [
        Decimal(amount)
        for partner in document["partners"]
        if partner["status"] == "active"
        for row in partner["budget"].values()
        for amount in row["expenses"].values()
    ]
    assert result.total_cost == sum(active_expenses)
    check_totals_add_up(result)
    assert ("sign_off_void", "plie-sevran") in [(f.code, f.partner) for f in result.warnings]


def test_funder_groups_of_the_database_and_of_the_calculations_are_the_same() -> None:
    assert tuple(group.value for group in StoredFunderGroup) == FUNDER_GROUPS


# --- deadlines ---------------------------------------------------------------------------------


def deadline_findings(deadline: date | None, **changes: Any) -> list[Finding]:
    figures = make_consortium(rules=replace(RULES, submission_deadline=deadline), **changes)
    return [
        f
        for f in consolidate(figures).warnings
        if f.path.startswith(("call.submission", "consortium.project_start"))
    ]


def test_a_deadline_ahead_of_today_and_before_the_start_raises_nothing() -> None:
    assert deadline_findings(START - timedelta(days=60), today=START - timedelta(days=90)) == []
    assert deadline_findings(None, today=END) == []


def test_a_passed_deadline_is_a_warning_of_a_draft_only() -> None:
    deadline = START - timedelta(days=60)

    draft = deadline_findings(deadline, today=deadline + timedelta(days=1))
    filed = deadline_findings(deadline, today=deadline + timedelta(days=1), submitted=True)
    same_day = deadline_findings(deadline, today=deadline)

    assert [(f.code, f.path) for f in draft] == [("deadline_passed", "call.submission_deadline")]
    assert "La date limite de dépôt (03/07/2019) est passée" in draft[0].message
    assert filed == same_day == []


def test_a_project_starting_before_the_deadline_is_a_warning_whatever_the_day() -> None:
    found = deadline_findings(START + timedelta(days=2))

    assert [f.code for f in found] == ["project_starts_before_deadline"]
    assert found[0].message == (
        "Le projet commence le 01/09/2019, avant la date limite de dépôt (03/09/2019) : "
        "vérifiez les dates du projet et celle de l'appel."
    )
