"""The demo document, the canonical export, round trips, extensions and sign-off digests."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import unicodedata
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.exchange.document import ExchangeDocument, PartnerIndicators, YearBudget
from app.exchange.serialisation import (
    canonical_figures,
    digest_of,
    document_to_dict,
    dumps,
    figures_digest,
    is_sign_off_valid,
)
from app.exchange.validation import load_document, parse_document
from tests.factories import DEMO_DOCUMENT

Document = dict[str, Any]


@pytest.fixture(scope="module")
def demo_text() -> str:
    return DEMO_DOCUMENT.read_text(encoding="utf-8")


@pytest.fixture
def demo(demo_text: str) -> Document:
    data: Document = json.loads(demo_text)
    return data


@pytest.fixture(scope="module")
def demo_document(demo_text: str) -> ExchangeDocument:
    return load_document(demo_text)


def round_trip(text: str) -> str:
    return dumps(load_document(text))


def test_demo_parses_into_the_whole_consortium(demo_document: ExchangeDocument) -> None:
    assert demo_document.consortium.slug == "cap-remob-idf"
    assert demo_document.consortium.lead_partner == "urtie-idf"
    assert len(demo_document.partners) == 12  # the lead and eleven members
    assert len(demo_document.sections) == 16
    assert demo_document.budget_model.years == (2019, 2020, 2021, 2022)
    assert demo_document.exported_at == datetime(2026, 11, 28, 18, tzinfo=UTC)
    assert demo_document.call.rules.main_funder_share_range == (Decimal("0.60"), Decimal("0.80"))
    partner = demo_document.partner("mde-plaine-commune")
    assert partner.budget[2019].expenses["personnel"] == Decimal("38333.00")
    assert partner.staff_fte == {
        "referents_parcours": Decimal("2.00"),
        "charge_relations_entreprises": Decimal("0.50"),
    }
    assert partner.indicators.per_year[2019]["entrees"] == 19
    assert partner.indicators.totals["sorties_positives"] == 96


def test_demo_exports_byte_for_byte_as_it_came(demo_text: str, demo_document: ExchangeDocument) -> None:
    assert dumps(demo_document) == demo_text


def test_export_equals_the_demo_apart_from_exported_at(
    demo: Document, demo_document: ExchangeDocument
) -> None:
    later = dataclasses.replace(demo_document, exported_at=datetime(2027, 1, 2, 3, 4, 5, tzinfo=UTC))
    exported = json.loads(dumps(later))
    assert exported.pop("exported_at") == "2027-01-02T03:04:05+00:00"
    demo.pop("exported_at")
    assert exported == demo


def test_export_import_export_is_byte_identical(demo_text: str) -> None:
    once = round_trip(demo_text)
    assert round_trip(once) == once


def test_dumps_is_indented_utf8_json_ending_with_a_newline(demo_document: ExchangeDocument) -> None:
    text = dumps(demo_document)
    assert text.startswith('{\n  "format": "consortium-exchange",\n  "version": 1,\n')
    assert text.endswith("}\n")
    assert "Île-de-France" in text


def test_demo_sign_offs_are_valid_except_the_void_one(demo_document: ExchangeDocument) -> None:
    signed = {
        partner.id: is_sign_off_valid(demo_document, partner)
        for partner in demo_document.partners
        if partner.sign_off
    }
    assert signed == {
        "mde-plaine-commune": True,
        "plie-blanc-mesnil": True,
        "mde-aulnay": True,
        "plie-sevran": False,  # its digest is all zeros: void
    }


def test_partner_without_sign_off_has_no_valid_sign_off(demo_document: ExchangeDocument) -> None:
    assert not is_sign_off_valid(demo_document, demo_document.partner("urtie-idf"))


def test_changing_a_figure_voids_the_sign_off(demo: Document) -> None:
    demo["partners"][1]["indicators"]["per_year"]["2019"]["entrees"] = 20
    document = parse_document(demo)
    assert not is_sign_off_valid(document, document.partners[1])


def test_a_non_canonical_but_equal_document_keeps_its_sign_off(demo: Document) -> None:
    # Zeros left out, amounts as numbers, indirect costs left out: the same figures, the same digest.
    partner = demo["partners"][1]
    for year in partner["budget"].values():
        year["expenses"] = {code: amount for code, amount in year["expenses"].items() if code != "indirects"}
        year["resources"] = {code: amount for code, amount in year["resources"].items() if amount != "0.00"}
    partner["budget"]["2019"]["expenses"]["personnel"] = 38333
    document = parse_document(demo)
    assert is_sign_off_valid(document, document.partners[1])


def test_digest_is_sha256_of_the_sorted_compact_canonical_figures(demo: Document) -> None:
    partner = demo["partners"][1]
    figures = {
        "budget": partner["budget"],
        "staff_fte": partner["staff_fte"],
        "indicators": partner["indicators"],
    }
    text = json.dumps(figures, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert digest_of(figures) == hashlib.sha256(text.encode()).hexdigest() == partner["sign_off"]["digest"]


def test_figures_from_plain_mappings_give_the_same_digest(demo_document: ExchangeDocument) -> None:
    # As the database gives them: sparse, unordered, without the computed category.
    partner = demo_document.partner("mde-plaine-commune")
    budget = {
        year: YearBudget(
            expenses={
                code: amount
                for code, amount in reversed(partner.budget[year].expenses.items())
                if amount and code != "indirects"
            },
            resources={code: amount for code, amount in partner.budget[year].resources.items() if amount},
        )
        for year in reversed(demo_document.budget_model.years)
    }
    values = PartnerIndicators(
        per_year={
            year: {code: n for code, n in counts.items() if n}
            for year, counts in partner.indicators.per_year.items()
        },
        totals={code: n for code, n in partner.indicators.totals.items() if n},
    )
    figures = canonical_figures(
        demo_document.budget_model, demo_document.indicators, budget, dict(partner.staff_fte), values
    )
    assert digest_of(figures) == figures_digest(demo_document, partner) == partner.sign_off.digest  # type: ignore[union-attr]


def test_canonical_export_writes_every_year_category_funder_and_indicator(demo: Document) -> None:
    demo["partners"][0]["budget"] = {"2021": {"resources": {"fse": 12}}}
    demo["partners"][0]["indicators"] = {"per_year": {"2020": {"entrees": 3}}}
    exported = document_to_dict(parse_document(demo))["partners"][0]
    assert list(exported["budget"]) == ["2019", "2020", "2021", "2022"]
    assert exported["budget"]["2019"]["expenses"] == {
        "personnel": "0.00",
        "fonctionnement": "0.00",
        "prestations": "0.00",
        "participants": "0.00",
        "indirects": "0.00",
    }
    assert exported["budget"]["2021"]["resources"]["fse"] == "12.00"
    assert list(exported["budget"]["2021"]["resources"]) == [
        "pic_etat",
        "autres_etat",
        "fse",
        "region_idf",
        "departement",
        "epci_communes",
        "autres_publics",
        "prives",
        "autofinancement",
    ]
    assert exported["indicators"]["per_year"]["2020"] == {
        "entrees": 3,
        "entrees_qpv": 0,
        "entrees_rsa": 0,
        "entrees_moins_26": 0,
        "entrees_rqth": 0,
        "entrees_femmes": 0,
    }
    assert list(exported["indicators"]["per_year"]) == ["2019", "2020", "2021", "2022"]
    assert exported["indicators"]["totals"]["sorties_dynamiques"] == 0


def test_export_recomputes_the_computed_category(demo: Document) -> None:
    demo["partners"][1]["budget"]["2019"]["expenses"]["indirects"] = "1.00"
    demo["partners"][1]["budget"]["2019"]["expenses"]["personnel"] = "1000.03"
    exported = document_to_dict(parse_document(demo))["partners"][1]["budget"]["2019"]["expenses"]
    assert exported["indirects"] == "150.00"  # 150.0045 rounded half-up to the cent


def test_amounts_and_fte_are_written_with_exactly_two_decimals(demo: Document) -> None:
    demo["partners"][1]["budget"]["2019"]["resources"]["fse"] = "4082.5"
    demo["partners"][1]["staff_fte"]["referents_parcours"] = "2"
    demo["call"]["rules"]["min_total_cost"] = 1000000
    exported = document_to_dict(parse_document(demo))
    assert exported["partners"][1]["budget"]["2019"]["resources"]["fse"] == "4082.50"
    assert exported["partners"][1]["staff_fte"]["referents_parcours"] == "2.00"
    assert exported["call"]["rules"]["min_total_cost"] == "1000000.00"


def test_rates_keep_their_digits(demo: Document) -> None:
    demo["budget_model"]["indirect_costs"]["rate"] = "0.2"
    demo["call"]["rules"]["main_funder_share_range"] = ["0.6", "1"]
    exported = document_to_dict(parse_document(demo))
    assert exported["budget_model"]["indirect_costs"]["rate"] == "0.2"
    assert exported["call"]["rules"]["main_funder_share_range"] == ["0.6", "1"]


def test_rules_not_given_are_not_exported(demo: Document) -> None:
    demo["call"]["rules"] = {"main_funder": "pic_etat", "min_total_cost": None}
    assert document_to_dict(parse_document(demo))["call"]["rules"] == {"main_funder": "pic_etat"}


def test_partner_texts_follow_the_order_of_the_sections(demo: Document) -> None:
    demo["partners"][1]["sections"] = {
        "annexes": "<p>c</p>",
        "role_membre": "<p>b</p>",
        "diagnostic": "<p>a</p>",
    }
    exported = document_to_dict(parse_document(demo))
    assert list(exported["partners"][1]["sections"]) == ["diagnostic", "role_membre", "annexes"]


EXTENSIONS: Document = {
    "source": "tableur v7_final_relu",
    "nested": {"list": [1, 2.5, True, None, "é"], "empty": {}},
    "extensions": {"kept": "as it came"},
}


def test_extensions_are_kept_verbatim_everywhere_through_a_round_trip(demo: Document) -> None:
    holders = [
        demo,
        demo["call"],
        demo["call"]["rules"],
        demo["consortium"],
        demo["budget_model"],
        demo["budget_model"]["expense_categories"][0],
        demo["budget_model"]["funders"][0],
        demo["budget_model"]["indirect_costs"],
        demo["indicators"][0],
        demo["sections"][0],
        demo["partners"][1],
        demo["partners"][1]["contacts"][0],
        demo["partners"][1]["sign_off"],
    ]
    for holder in holders:
        holder["extensions"] = EXTENSIONS
    text = json.dumps(demo, ensure_ascii=False, indent=2) + "\n"
    exported = round_trip(text)
    assert exported == text
    assert round_trip(exported) == exported


def test_extensions_do_not_change_the_figures_digest(demo: Document) -> None:
    demo["partners"][1]["extensions"] = EXTENSIONS
    demo["partners"][1]["sign_off"]["extensions"] = EXTENSIONS
    document = parse_document(demo)
    assert is_sign_off_valid(document, document.partners[1])


def test_extensions_are_exported_only_where_given(demo_document: ExchangeDocument) -> None:
    assert "extensions" not in dumps(demo_document)


def test_emoji_rtl_and_decomposed_text_survive_a_round_trip(demo: Document) -> None:
    nfd = unicodedata.normalize("NFD", "Insertion élève")
    name = f"👩🏽‍💻 Équipe — مرحبا — שלום — {nfd}"
    demo["partners"][1]["name"] = name
    demo["sections"][1]["content"] = f"<p>{name}</p>"
    text = round_trip(json.dumps(demo, ensure_ascii=False))
    document = load_document(text)
    assert document.partners[1].name == name
    assert document.sections[1].content == f"<p>{name}</p>"
    assert round_trip(text) == text


def test_hostile_html_is_sanitised_and_then_stable(demo: Document) -> None:
    demo["sections"][1]["content"] = (
        "<p>Début<script>alert(1)</script><img src=x onerror=alert(1)><svg onload=alert(1)></svg>"
        '<a href="javascript:alert(1)" onclick="x">lien</a> '
        '<a href="https://exemple.fr" target="_blank">site</a><span>fin</span>\x01</p>'
    )
    text = round_trip(json.dumps(demo, ensure_ascii=False))
    content = load_document(text).sections[1].content
    assert content == (
        '<p>Début<a rel="noopener noreferrer">lien</a> '
        '<a href="https://exemple.fr" rel="noopener noreferrer">site</a>fin</p>'
    )
    assert round_trip(text) == text


def test_withdrawn_partner_is_kept_with_its_data(demo: Document) -> None:
    demo["partners"][4]["status"] = "withdrawn"
    document = parse_document(demo)
    assert not document.partners[4].is_active
    assert document_to_dict(document)["partners"][4]["budget"] == demo["partners"][4]["budget"]


AMOUNTS = st.one_of(
    st.integers(min_value=0, max_value=10**12 - 1),
    st.decimals(min_value=0, max_value=Decimal("999999999999.99"), places=2).map(str),
    st.decimals(min_value=0, max_value=Decimal("99999.9"), places=1).map(str),
)


@settings(
    max_examples=60, database=None, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    personnel=AMOUNTS,
    fse=AMOUNTS,
    fte=st.decimals(min_value=0, max_value=Decimal("9999.99"), places=2).map(str),
    entrees=st.integers(min_value=0, max_value=2**31 - 1),
)
def test_any_valid_figures_survive_export_and_import(
    demo: Document, personnel: int | str, fse: int | str, fte: str, entrees: int
) -> None:
    partner = demo["partners"][2]
    partner["budget"]["2020"]["expenses"]["personnel"] = personnel
    partner["budget"]["2020"]["resources"]["fse"] = fse
    partner["staff_fte"]["referents_parcours"] = fte
    partner["indicators"]["per_year"]["2021"]["entrees"] = entrees
    document = parse_document(demo)
    once = dumps(document)
    again = load_document(once)
    assert dumps(again) == once
    assert figures_digest(again, again.partners[2]) == figures_digest(document, document.partners[2])
    assert again.partners[2].budget[2020].expenses["personnel"] == Decimal(str(personnel))
