"""Every breach of exchange format v1 is reported with its JSON path, all of them at once."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from app.errors import Invalid
from app.exchange.validation import ExchangeInvalid, load_document, parse_document
from tests.factories import DEMO_DOCUMENT

Document = dict[str, Any]


@pytest.fixture(scope="module")
def demo_text() -> str:
    return DEMO_DOCUMENT.read_text(encoding="utf-8")


@pytest.fixture
def demo(demo_text: str) -> Document:
    data: Document = json.loads(demo_text)
    return data


def errors_of(data: object) -> list[str]:
    with pytest.raises(ExchangeInvalid) as caught:
        parse_document(data)
    return caught.value.errors


def load_errors(text: str | bytes) -> list[str]:
    with pytest.raises(ExchangeInvalid) as caught:
        load_document(text)
    return caught.value.errors


def changed(demo: Document, change: Callable[[Document], object]) -> Document:
    data = copy.deepcopy(demo)
    change(data)
    return data


def test_exchange_invalid_is_a_domain_error_with_a_french_summary(demo: Document) -> None:
    demo["consortium"]["status"] = "final"
    with pytest.raises(Invalid) as caught:
        parse_document(demo)
    assert str(caught.value) == "Le document d'échange contient 1 erreur."


def test_negative_amount_is_reported_with_its_path(demo: Document) -> None:
    demo["partners"][3]["budget"]["2020"]["expenses"]["personnel"] = "-1.00"
    assert errors_of(demo) == ["partners[3].budget.2020.expenses.personnel: montant négatif"]


def test_several_errors_are_reported_together_in_one_pass(demo: Document) -> None:
    demo["partners"][3]["budget"]["2020"]["expenses"]["personnel"] = "-1.00"
    demo["partners"][1]["siret"] = "12345678901234"
    demo["consortium"]["status"] = "final"
    demo["sections"][2]["scope"] = "everyone"
    demo["partners"][5]["staff_fte"]["referents_parcours"] = "1.555"
    demo["indicators"][0]["per_year"] = "yes"
    errors = errors_of(demo)
    assert len(errors) == 6
    paths = sorted(error.split(": ", 1)[0] for error in errors)
    assert paths == [
        "consortium.status",
        "indicators[0].per_year",
        "partners[1].siret",
        "partners[3].budget.2020.expenses.personnel",
        "partners[5].staff_fte.referents_parcours",
        "sections[2].scope",
    ]


# Each case: a change to the demo and the exact error it must give.
CASES: list[tuple[str, Callable[[Document], object], str]] = [
    (
        "unknown top-level key",
        lambda d: d.update(comment="x"),
        "comment: clé inconnue (clés permises : format, version, exported_at, call, consortium, "
        "budget_model, indicators, sections, partners, extensions)",
    ),
    (
        "unknown key in a partner",
        lambda d: d["partners"][0].update(nom="x"),
        "partners[0].nom: clé inconnue (clés permises : id, name, kind, departement, territory, siret, "
        "role, status, contacts, staff_fte, sections, budget, indicators, sign_off, extensions)",
    ),
    (
        "unknown key in a budget year",
        lambda d: d["partners"][0]["budget"]["2019"].update(depenses={}),
        "partners[0].budget.2019.depenses: clé inconnue (clés permises : expenses, resources)",
    ),
    (
        "odd key quoted in the path",
        lambda d: d["call"].update({"na me": "x"}),
        'call["na me"]: clé inconnue (clés permises : code, name, programme, operator, '
        "submission_deadline, rules, extensions)",
    ),
    (
        "missing key",
        lambda d: d["consortium"].pop("title"),
        "consortium.title: clé obligatoire manquante",
    ),
    (
        "object expected",
        lambda d: d.update(call=[]),
        "call: objet attendu, trouvé : liste",
    ),
    (
        "list expected",
        lambda d: d.update(sections={}),
        "sections: liste attendue, trouvé : objet",
    ),
    (
        "boolean is not an integer",
        lambda d: d["sections"][0].update(position=True),
        "sections[0].position: nombre entier attendu, trouvé : booléen",
    ),
    (
        "integer is not a boolean",
        lambda d: d["sections"][0].update(generated=1),
        "sections[0].generated: booléen attendu (true ou false), trouvé : nombre entier",
    ),
    (
        "float is not an integer",
        lambda d: d["call"]["rules"].update(min_duration_months=24.0),
        "call.rules.min_duration_months: nombre entier attendu, trouvé : nombre décimal",
    ),
    (
        "bad slug",
        lambda d: d["partners"][2].update(id="PLIE Blanc-Mesnil"),
        "partners[2].id: code invalide « PLIE Blanc-Mesnil » "
        "(attendu : lettres minuscules sans accent, chiffres, « _ » ou « - »)",
    ),
    (
        "duplicate partner id",
        lambda d: d["partners"][2].update(id="urtie-idf"),
        "partners[2].id: partenaire « urtie-idf » en double (déjà en partners[0].id)",
    ),
    (
        "duplicate category code",
        lambda d: d["budget_model"]["expense_categories"][1].update(code="personnel"),
        "budget_model.expense_categories[1].code: catégorie « personnel » en double "
        "(déjà en budget_model.expense_categories[0].code)",
    ),
    (
        "duplicate section position",
        lambda d: d["sections"][1].update(position=1),
        "sections[1].position: position 1 déjà prise par sections[0]",
    ),
    (
        "amount with three decimals",
        lambda d: d["partners"][0]["budget"]["2019"]["resources"].update(fse="1.005"),
        "partners[0].budget.2019.resources.fse: "
        "montant invalide (attendu : nombre décimal avec au plus deux décimales)",
    ),
    (
        "amount with a decimal comma",
        lambda d: d["call"]["rules"].update(min_total_cost="1000000,00"),
        "call.rules.min_total_cost: montant invalide (attendu : nombre décimal avec au plus deux décimales)",
    ),
    (
        "boolean amount",
        lambda d: d["call"]["rules"].update(balance_tolerance=True),
        "call.rules.balance_tolerance: montant invalide",
    ),
    (
        "rate above one",
        lambda d: d["call"]["rules"].update(min_local_cofunding_share="1.5"),
        "call.rules.min_local_cofunding_share: taux invalide « 1.5 » (attendu : nombre décimal entre "
        "« 0 » et « 1 », 6 décimales au plus, p. ex. « 0.15 »)",
    ),
    (
        "rate as a number",
        lambda d: d["budget_model"]["indirect_costs"].update(rate=0.15),
        "budget_model.indirect_costs.rate: taux attendu sous forme de chaîne entre « 0 » et « 1 » "
        "(p. ex. « 0.15 »), trouvé : nombre décimal",
    ),
    (
        "share range of one rate",
        lambda d: d["call"]["rules"].update(main_funder_share_range=["0.60"]),
        "call.rules.main_funder_share_range: liste de deux taux attendue [minimum, maximum], "
        "trouvé 1 éléments",
    ),
    (
        "share range upside down",
        lambda d: d["call"]["rules"].update(main_funder_share_range=["0.80", "0.60"]),
        "call.rules.main_funder_share_range: le minimum (0.80) dépasse le maximum (0.60)",
    ),
    (
        "durations upside down",
        lambda d: d["call"]["rules"].update(min_duration_months=40),
        "call.rules.max_duration_months: durée maximale (36 mois) inférieure à la durée minimale (40 mois)",
    ),
    (
        "negative count",
        lambda d: d["partners"][2]["indicators"]["totals"].update(sorties_positives=-3),
        "partners[2].indicators.totals.sorties_positives: nombre négatif (attendu : entier positif ou nul)",
    ),
    (
        "count as a string",
        lambda d: d["partners"][2]["indicators"]["per_year"]["2020"].update(entrees="50"),
        "partners[2].indicators.per_year.2020.entrees: nombre entier attendu, trouvé : chaîne",
    ),
    (
        "FTE with three decimals",
        lambda d: d["partners"][2]["staff_fte"].update(referents_parcours="1.555"),
        "partners[2].staff_fte.referents_parcours: ETP invalide « 1.555 » "
        "(attendu : nombre décimal avec au plus deux décimales, p. ex. « 1.50 »)",
    ),
    (
        "negative FTE",
        lambda d: d["partners"][2]["staff_fte"].update(referents_parcours="-1"),
        "partners[2].staff_fte.referents_parcours: ETP négatif",
    ),
    (
        "date in French order",
        lambda d: d["call"].update(submission_deadline="03/09/2019"),
        "call.submission_deadline: date attendue au format AAAA-MM-JJ (p. ex. « 2019-09-01 »), "
        "trouvé : « 03/09/2019 »",
    ),
    (
        "date that does not exist",
        lambda d: d["consortium"].update(project_start="2019-02-30"),
        "consortium.project_start: date inexistante « 2019-02-30 »",
    ),
    (
        "period upside down",
        lambda d: d["consortium"].update(project_end="2019-01-01"),
        "consortium.project_end: fin du projet (2019-01-01) antérieure à son début (2019-09-01)",
    ),
    (
        "timestamp without a time zone",
        lambda d: d.update(exported_at="2026-11-28T18:00:00"),
        "exported_at: horodatage attendu au format ISO 8601 avec fuseau horaire "
        "(p. ex. « 2019-08-20T10:00:00+02:00 »), trouvé : « 2026-11-28T18:00:00 »",
    ),
    (
        "consortium status",
        lambda d: d["consortium"].update(status="final"),
        "consortium.status: valeur invalide « final » (valeurs permises : draft, submitted)",
    ),
    (
        "partner role",
        lambda d: d["partners"][1].update(role="observer"),
        "partners[1].role: valeur invalide « observer » (valeurs permises : lead, member)",
    ),
    (
        "partner status",
        lambda d: d["partners"][1].update(status="gone"),
        "partners[1].status: valeur invalide « gone » (valeurs permises : active, withdrawn)",
    ),
    (
        "section scope",
        lambda d: d["sections"][2].update(scope="everyone"),
        "sections[2].scope: valeur invalide « everyone » "
        "(valeurs permises : shared, per_partner, shared_and_per_partner)",
    ),
    (
        "section status",
        lambda d: d["sections"][2].update(status="done"),
        "sections[2].status: valeur invalide « done » "
        "(valeurs permises : todo, in_progress, in_review, validated)",
    ),
    (
        "indicator kind",
        lambda d: d["indicators"][0].update(kind="impact"),
        "indicators[0].kind: valeur invalide « impact » (valeurs permises : output, result)",
    ),
    (
        "funder group",
        lambda d: d["budget_model"]["funders"][0].update(group="state"),
        "budget_model.funders[0].group: valeur invalide « state » "
        "(valeurs permises : etat, ue, collectivites, autres_publics, prives, autofinancement)",
    ),
    (
        "budget year outside the model",
        lambda d: d["partners"][0]["budget"].update({"2023": {}}),
        "partners[0].budget.2023: année inconnue "
        "(attendu : une année de budget_model.years : 2019, 2020, 2021, 2022)",
    ),
    (
        "unknown expense category",
        lambda d: d["partners"][0]["budget"]["2019"]["expenses"].update(voyages="1.00"),
        "partners[0].budget.2019.expenses.voyages: "
        "catégorie de dépense inconnue : absente de budget_model.expense_categories",
    ),
    (
        "unknown funder",
        lambda d: d["partners"][0]["budget"]["2019"]["resources"].update(mecenat="1.00"),
        "partners[0].budget.2019.resources.mecenat: financeur inconnu : absent de budget_model.funders",
    ),
    (
        "whole-project indicator given per year",
        lambda d: d["partners"][0]["indicators"]["per_year"]["2019"].update(sorties_positives=1),
        "partners[0].indicators.per_year.2019.sorties_positives: "
        "indicateur global (per_year: false) : sa valeur va dans indicators.totals",
    ),
    (
        "per-year indicator given as a total",
        lambda d: d["partners"][0]["indicators"]["totals"].update(entrees=1),
        "partners[0].indicators.totals.entrees: "
        "indicateur annuel (per_year: true) : ses valeurs vont dans indicators.per_year",
    ),
    (
        "unknown indicator",
        lambda d: d["partners"][0]["indicators"]["totals"].update(satisfaction=1),
        "partners[0].indicators.totals.satisfaction: indicateur inconnu : absent de indicators",
    ),
    (
        "indicator year outside the model",
        lambda d: d["partners"][0]["indicators"]["per_year"].update({"2018": {}}),
        "partners[0].indicators.per_year.2018: année inconnue "
        "(attendu : une année de budget_model.years : 2019, 2020, 2021, 2022)",
    ),
    (
        "part_of an unknown indicator",
        lambda d: d["indicators"][1].update(part_of="entrants"),
        "indicators[1].part_of: indicateur « entrants » absent de indicators",
    ),
    (
        "part_of itself",
        lambda d: d["indicators"][1].update(part_of="entrees_qpv"),
        "indicators[1].part_of: un indicateur ne peut pas faire partie de lui-même",
    ),
    (
        "part_of across per-year and whole-project indicators",
        lambda d: d["indicators"][9].update(part_of="entrees"),
        "indicators[9].part_of: « sorties_emploi_durable » et son parent « entrees » doivent être tous "
        "deux annuels ou tous deux globaux (per_year)",
    ),
    (
        "main funder not in the model",
        lambda d: d["call"]["rules"].update(main_funder="pic"),
        "call.rules.main_funder: financeur « pic » absent de budget_model.funders",
    ),
    (
        "indirect rule on an unknown category",
        lambda d: d["budget_model"]["indirect_costs"].update(category="forfait"),
        "budget_model.indirect_costs.category: "
        "catégorie « forfait » absente de budget_model.expense_categories",
    ),
    (
        "indirect base category unknown",
        lambda d: d["budget_model"]["indirect_costs"].update(base_categories=["personnel", "salaires"]),
        "budget_model.indirect_costs.base_categories[1]: "
        "catégorie « salaires » absente de budget_model.expense_categories",
    ),
    (
        "indirect base category computed",
        lambda d: d["budget_model"]["indirect_costs"].update(base_categories=["personnel", "indirects"]),
        "budget_model.indirect_costs.base_categories[1]: "
        "une catégorie calculée ne peut pas servir de base au forfait",
    ),
    (
        "computed category without an indirect rule",
        lambda d: d["budget_model"].update(indirect_costs=None),
        "budget_model.expense_categories[4].computed: catégorie calculée alors que "
        "budget_model.indirect_costs est null (aucun forfait défini)",
    ),
    (
        "lead partner that does not exist",
        lambda d: d["consortium"].update(lead_partner="urtie"),
        "consortium.lead_partner: partenaire « urtie » absent de partners",
    ),
    (
        "two leads",
        lambda d: d["partners"][1].update(role="lead"),
        "partners: un seul partenaire de rôle « lead » attendu, trouvé 2 (urtie-idf, mde-plaine-commune)",
    ),
    (
        "invalid SIRET",
        lambda d: d["partners"][1].update(siret="12345678901234"),
        "partners[1].siret: SIRET invalide « 12345678901234 » "
        "(attendu : 14 chiffres sans espace, clé de contrôle correcte)",
    ),
    (
        "SIRET with spaces (nothing is stripped silently)",
        lambda d: d["partners"][1].update(siret="732 829 320 00074"),
        "partners[1].siret: SIRET invalide « 732 829 320 00074 » "
        "(attendu : 14 chiffres sans espace, clé de contrôle correcte)",
    ),
    (
        "SIRET as a number",
        lambda d: d["partners"][1].update(siret=73282932000074),
        "partners[1].siret: SIRET attendu (chaîne de 14 chiffres) ou null, trouvé : nombre entier",
    ),
    (
        "contact e-mail",
        lambda d: d["partners"][1]["contacts"][0].update(email="direction chez plie.fr"),
        "partners[1].contacts[0].email: adresse e-mail invalide « direction chez plie.fr »",
    ),
    (
        "partner text for a shared-only section",
        lambda d: d["partners"][1]["sections"].update(resume="<p>x</p>"),
        "partners[1].sections.resume: section inconnue ou sans partie par partenaire (attendu : une section "
        "de portée per_partner ou shared_and_per_partner : annexes, budget, diagnostic, partenariats, "
        "publics_reperage, role_membre)",
    ),
    (
        "sign-off by someone who is not an e-mail",
        lambda d: d["partners"][1]["sign_off"].update(by="la directrice"),
        "partners[1].sign_off.by: adresse e-mail invalide « la directrice »",
    ),
    (
        "sign-off time without a zone",
        lambda d: d["partners"][1]["sign_off"].update(at="2019-08-20 10:00"),
        "partners[1].sign_off.at: horodatage attendu au format ISO 8601 avec fuseau horaire "
        "(p. ex. « 2019-08-20T10:00:00+02:00 »), trouvé : « 2019-08-20 10:00 »",
    ),
    (
        "sign-off digest in capitals",
        lambda d: d["partners"][1]["sign_off"].update(digest=d["partners"][1]["sign_off"]["digest"].upper()),
        "partners[1].sign_off.digest: empreinte invalide "
        "(attendu : SHA-256 en 64 caractères hexadécimaux minuscules)",
    ),
    (
        "NUL byte in a name",
        lambda d: d["partners"][1].update(name="PLIE\x00"),
        "partners[1].name: caractère NUL interdit",
    ),
    (
        "NUL byte in rich text",
        lambda d: d["sections"][1].update(content="<p>a\x00b</p>"),
        "sections[1].content: caractère NUL interdit",
    ),
    (
        "NUL byte inside extensions",
        lambda d: d["partners"][1].update(extensions={"note": "a\x00b"}),
        "partners[1].extensions.note: caractère NUL interdit",
    ),
    (
        "control character in a name",
        lambda d: d["partners"][1].update(name="PLIE\x07"),
        "partners[1].name: caractère de contrôle interdit (U+0007 à la position 5)",
    ),
    (
        "blank title",
        lambda d: d["consortium"].update(title="   "),
        "consortium.title: texte vide (une valeur est attendue)",
    ),
    (
        "over-long title",
        lambda d: d["consortium"].update(title="x" * 301),
        "consortium.title: texte trop long : 301 caractères pour 300 au plus",
    ),
    (
        "over-long rich text",
        lambda d: d["sections"][1].update(content="<p>" + "x" * 1_000_000 + "</p>"),
        "sections[1].content: texte HTML trop long : 1000007 caractères pour 1000000 au plus",
    ),
    (
        "extensions that are not an object",
        lambda d: d["call"].update(extensions=["x"]),
        "call.extensions: objet attendu, trouvé : liste",
    ),
    (
        "extensions where figures are",
        lambda d: d["partners"][0]["indicators"].update(extensions={}),
        "partners[0].indicators.extensions: clé inconnue (clés permises : per_year, totals)",
    ),
    (
        "model years out of order",
        lambda d: d["budget_model"].update(years=[2019, 2021, 2020, 2022]),
        "budget_model.years[2]: années attendues uniques et en ordre croissant (2020 après 2021)",
    ),
]


@pytest.mark.parametrize(
    ("change", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_each_breach_is_reported_exactly(
    demo: Document, change: Callable[[Document], object], expected: str
) -> None:
    assert errors_of(changed(demo, change)) == [expected]


def test_lead_partner_must_have_the_lead_role(demo: Document) -> None:
    demo["consortium"]["lead_partner"] = "mde-plaine-commune"
    assert errors_of(demo) == [
        "partners[1].role: « mde-plaine-commune » est consortium.lead_partner : son rôle doit être « lead »"
    ]


def test_control_characters_echoed_in_messages_are_spelled_out(demo: Document) -> None:
    demo["consortium"]["status"] = "draft\x00"
    assert errors_of(demo) == [
        "consortium.status: valeur invalide « draft\\u0000 » (valeurs permises : draft, submitted)"
    ]


def test_top_level_must_be_an_object() -> None:
    assert errors_of([]) == ["$: le document doit être un objet JSON, trouvé : liste"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"format": "budget"}, ["format: format inconnu « budget » (attendu : « consortium-exchange »)"]),
        ({"version": 2}, ["version: version 2 non prise en charge (cette application lit la version 1)"]),
        (
            {"version": True},
            ["version: version true non prise en charge (cette application lit la version 1)"],
        ),
        (
            {"version": "1"},
            ["version: version « 1 » non prise en charge (cette application lit la version 1)"],
        ),
    ],
)
def test_other_format_or_version_is_refused_without_reading_further(
    demo: Document, change: Document, expected: list[str]
) -> None:
    demo.update(change, comment="a key version 2 might have")
    assert errors_of(demo) == expected


def test_value_given_for_a_computed_category_is_recomputed_not_refused(demo: Document) -> None:
    demo["partners"][1]["budget"]["2019"]["expenses"]["indirects"] = "99999.99"
    document = parse_document(demo)
    # 15 % of 38,333.00, half-up to the cent.
    assert document.partners[1].budget[2019].expenses["indirects"] == Decimal("5749.95")


def test_missing_years_categories_funders_and_indicators_mean_zero(demo: Document) -> None:
    partner = demo["partners"][0]
    partner["budget"] = {"2020": {"expenses": {"personnel": "1000"}}}
    partner["indicators"] = {}
    document = parse_document(demo)
    budget = document.partners[0].budget
    assert list(budget) == [2019, 2020, 2021, 2022]
    assert budget[2019].expenses["personnel"] == Decimal("0.00")
    assert budget[2020].expenses == {
        "personnel": Decimal("1000.00"),
        "fonctionnement": Decimal("0.00"),
        "prestations": Decimal("0.00"),
        "participants": Decimal("0.00"),
        "indirects": Decimal("150.00"),
    }
    assert set(budget[2020].resources.values()) == {Decimal("0.00")}
    assert document.partners[0].indicators.per_year[2022]["entrees_femmes"] == 0
    assert document.partners[0].indicators.totals["sorties_dynamiques"] == 0


def test_rules_are_all_optional_and_null_means_not_given(demo: Document) -> None:
    demo["call"]["rules"] = {"min_total_cost": None}
    rules = parse_document(demo).call.rules
    assert rules.min_total_cost is None
    assert rules.effective_balance_tolerance == Decimal("0.00")


def test_valid_siret_is_accepted(demo: Document) -> None:
    demo["partners"][1]["siret"] = "73282932000074"
    assert parse_document(demo).partners[1].siret == "73282932000074"


def test_rich_text_is_sanitised_on_import(demo: Document) -> None:
    demo["sections"][1]["content"] = (
        '<p>Texte<script>alert(1)</script> <img src=x onerror="alert(1)">'
        '<a href="javascript:alert(1)">lien</a></p>'
    )
    demo["partners"][1]["sections"]["role_membre"] = "<p onclick='x()'>Rôle</p><svg onload=alert(1)></svg>"
    document = parse_document(demo)
    assert document.sections[1].content == '<p>Texte <a rel="noopener noreferrer">lien</a></p>'
    assert document.partners[1].sections["role_membre"] == "<p>Rôle</p>"


# --- JSON text ------------------------------------------------------------------------------


def test_json_numbers_with_two_decimals_at_most_are_accepted_as_money(demo_text: str) -> None:
    text = demo_text.replace('"personnel": "38333.00"', '"personnel": 38333.5', 1)
    assert text != demo_text
    document = load_document(text)
    assert document.partners[1].budget[2019].expenses["personnel"] == Decimal("38333.50")


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("1.005", "montant invalide (attendu : nombre décimal avec au plus deux décimales)"),
        ("-1", "montant négatif"),
        ("-0.5", "montant négatif"),
        ("1e3", "montant invalide (attendu : nombre décimal avec au plus deux décimales)"),
        ("1E+3", "montant invalide (attendu : nombre décimal avec au plus deux décimales)"),
        ('"1e3"', "montant invalide (attendu : nombre décimal avec au plus deux décimales)"),
        ('" 12"', "montant invalide (attendu : nombre décimal avec au plus deux décimales)"),
        ("true", "montant invalide"),
        ("null", "montant invalide"),
    ],
)
def test_bad_json_amounts_are_refused(demo_text: str, number: str, message: str) -> None:
    text = demo_text.replace('"personnel": "38333.00"', f'"personnel": {number}', 1)
    assert load_errors(text) == [f"partners[1].budget.2019.expenses.personnel: {message}"]


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused(demo_text: str, constant: str) -> None:
    text = demo_text.replace('"personnel": "38333.00"', f'"personnel": {constant}', 1)
    assert load_errors(text) == [f"$: JSON invalide, « {constant} » n'est pas un nombre JSON"]


def test_floats_from_another_json_reader_are_accepted_when_exact(demo: Document) -> None:
    demo["partners"][1]["budget"]["2019"]["expenses"]["personnel"] = 38333.5
    assert parse_document(demo).partners[1].budget[2019].expenses["personnel"] == Decimal("38333.50")
    demo["partners"][1]["budget"]["2019"]["expenses"]["personnel"] = 1.005
    assert errors_of(demo) == [
        "partners[1].budget.2019.expenses.personnel: "
        "montant invalide (attendu : nombre décimal avec au plus deux décimales)"
    ]


def test_malformed_json_gives_line_and_column() -> None:
    assert load_errors('{\n  "format": "consortium-exchange",\n}') == [
        "$: JSON mal formé, ligne 3, colonne 1 (Expecting property name enclosed in double quotes)"
    ]


def test_empty_file_is_malformed_json() -> None:
    assert load_errors(b"") == ["$: JSON mal formé, ligne 1, colonne 1 (Expecting value)"]


def test_non_object_json_is_refused() -> None:
    assert load_errors("[1, 2]") == ["$: le document doit être un objet JSON, trouvé : liste"]


def test_bytes_that_are_not_utf8_are_refused() -> None:
    assert load_errors('{"a": "é"}'.encode("latin-1")) == [
        "$: le fichier n'est pas en UTF-8 (octet invalide à la position 7)"
    ]


def test_byte_order_mark_is_accepted(demo_text: str) -> None:
    document = load_document(b"\xef\xbb\xbf" + demo_text.encode())
    assert document.consortium.slug == "cap-remob-idf"


def test_huge_integer_is_refused_clearly() -> None:
    errors = load_errors('{"version": ' + "9" * 5000 + "}")
    assert len(errors) == 1
    assert errors[0].startswith("$: JSON invalide (")


def test_deep_nesting_is_refused_clearly() -> None:
    assert load_errors("[" * 100_000 + "]" * 100_000) == ["$: JSON trop profondément imbriqué"]


def test_duplicate_keys_are_reported_with_their_path(demo_text: str) -> None:
    text = demo_text.replace('"personnel": "38333.00",', '"personnel": "38333.00", "personnel": "1.00",', 1)
    assert load_errors(text) == [
        "partners[1].budget.2019.expenses.personnel: clé en double (une seule occurrence attendue)"
    ]


def test_duplicate_keys_and_other_errors_are_reported_together(demo_text: str) -> None:
    text = demo_text.replace('"status": "draft"', '"status": "final", "status": "draft"', 1)
    text = text.replace('"siret": null', '"siret": "1"', 1)
    assert load_errors(text) == [
        "consortium.status: clé en double (une seule occurrence attendue)",
        "partners[0].siret: SIRET invalide « 1 » "
        "(attendu : 14 chiffres sans espace, clé de contrôle correcte)",
    ]


def test_same_siret_for_two_partners_is_reported_with_both_paths(demo: Document) -> None:
    demo["partners"][1]["siret"] = "73282932000074"
    demo["partners"][3]["siret"] = "73282932000074"
    with pytest.raises(ExchangeInvalid) as raised:
        parse_document(demo)
    assert raised.value.errors == [
        "partners[3].siret: SIRET « 73282932000074 » en double (déjà en partners[1].siret)"
    ]
