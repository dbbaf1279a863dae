"""The strict amount parser and French money display (hostile-inputs rows M1–M6)."""

from __future__ import annotations

import random
from decimal import ROUND_HALF_UP, Decimal

import pytest
from babel.numbers import format_currency, format_decimal
from hypothesis import given
from hypothesis import strategies as st

from app.errors import Invalid
from app.money import (
    CENT,
    MAX_AMOUNT,
    InvalidAmount,
    format_eur,
    format_json_amount,
    format_number,
    format_share,
    from_cents,
    parse_amount,
    parse_json_amount,
    to_cents,
)

NBSP = "\u00a0"
NNBSP = "\u202f"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234", "1234.00"),
        ("1234.5", "1234.50"),
        ("1234,56", "1234.56"),
        ("1,5", "1.50"),
        ("1.5", "1.50"),
        ("0", "0.00"),
        ("0,07", "0.07"),
        ("007", "7.00"),
        ("1 234,56", "1234.56"),
        ("1 234.56", "1234.56"),
        (f"1{NBSP}234,56", "1234.56"),
        (f"1{NNBSP}234,56", "1234.56"),
        (f"12{NNBSP}345{NNBSP}678,9", "12345678.90"),
        ("1 234", "1234.00"),
        ("1 234 567", "1234567.00"),
        ("  42  ", "42.00"),
        ("\t42\n", "42.00"),
        ("42 €", "42.00"),
        ("42€", "42.00"),
        (f"1{NNBSP}234,56{NBSP}€", "1234.56"),
        ("€42", "42.00"),
        ("€ 42,10", "42.10"),
        ("999999999999,99", "999999999999.99"),
        ("999 999 999 999,99", "999999999999.99"),
    ],
)
def test_parse_amount_accepts_usual_french_and_english_spellings(text: str, expected: str) -> None:
    amount = parse_amount(text)
    assert amount == Decimal(expected)
    assert amount.as_tuple().exponent == -2


@pytest.mark.parametrize("text", ["1e309", "NaN", "sNaN", "Infinity", "-Infinity", "inf", "1E3", "0x10"])
def test_parse_amount_rejects_exponents_and_special_values(text: str) -> None:
    with pytest.raises(InvalidAmount, match=r"^Montant invalide"):
        parse_amount(text)


@pytest.mark.parametrize("text", ["-500", "- 500", "−500", "-500 €", "€ -500", "-0,01"])
def test_parse_amount_rejects_negative_amounts_and_says_so(text: str) -> None:
    with pytest.raises(InvalidAmount, match="négatifs ne sont pas autorisés"):
        parse_amount(text)


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("1.005", "Montant ambigu : écrivez 1005 pour des milliers"),
        ("1,500", "Montant ambigu : écrivez 1500 ou 1,50."),
        ("1.500", "Montant ambigu : écrivez 1500 ou 1,50."),
        ("12,340", "Montant ambigu : écrivez 12340 ou 12,34."),
        ("0,500", "Montant ambigu : écrivez 500 ou 0,50."),
    ],
)
def test_parse_amount_rejects_three_decimals_as_ambiguous_with_a_hint(text: str, hint: str) -> None:
    with pytest.raises(InvalidAmount) as caught:
        parse_amount(text)
    assert str(caught.value).startswith(hint)


@pytest.mark.parametrize(
    ("text", "example"),
    [("1.234,56", "1234,56"), ("1,234.56", "1234,56"), ("1.234.567,8", "1234567,8"), ("1,2.345", "1234,56")],
)
def test_parse_amount_rejects_mixed_separators_as_ambiguous_with_a_hint(text: str, example: str) -> None:
    with pytest.raises(InvalidAmount) as caught:
        parse_amount(text)
    message = str(caught.value)
    assert message.startswith("Montant ambigu : n'utilisez pas à la fois le point et la virgule")
    assert message.endswith(f"écrivez par exemple {example}.")


@pytest.mark.parametrize("text", ["123456789012345", "1000000000000", "1 000 000 000 000,00"])
def test_parse_amount_rejects_more_than_twelve_integer_digits(text: str) -> None:
    with pytest.raises(InvalidAmount, match="Montant trop élevé : le maximum est 999"):
        parse_amount(text)


def test_parse_amount_counts_digits_without_leading_zeros() -> None:
    assert parse_amount("0000000000000001") == Decimal("1.00")


@pytest.mark.parametrize("text", ["١٢٣", "０.５", "１２３", "१२३", "12³"])
def test_parse_amount_rejects_non_ascii_digits(text: str) -> None:
    with pytest.raises(InvalidAmount, match=r"^Montant invalide"):
        parse_amount(text)


def test_parse_amount_names_the_digits_it_accepts() -> None:
    with pytest.raises(InvalidAmount, match="chiffres de 0 à 9"):
        parse_amount("١٢٣")


@pytest.mark.parametrize(
    "text",
    [
        "1_000",
        "+500",
        "12 34",
        "1234 567",
        "1  234",
        "1 2345",
        "1\u2009234",  # thin space is not a thousands separator we accept
        ",5",
        "5,",
        ".",
        "1,2,3",
        "1.234.567",
        "1,5 0",
        "1 234,5 6",
        "12 €€",
        "€12€",
        "EUR 12",
        "douze",
        "1/2",
        "12%",
    ],
)
def test_parse_amount_rejects_malformed_text(text: str) -> None:
    with pytest.raises(InvalidAmount, match=r"^Montant invalide"):
        parse_amount(text)


@pytest.mark.parametrize("text", ["1,234", "1 234,567", "12,3456"])
def test_parse_amount_rejects_more_than_two_decimals(text: str) -> None:
    with pytest.raises(InvalidAmount, match=r"^Montant"):
        parse_amount(text)


def test_parse_amount_says_cents_have_two_digits_when_thousands_are_grouped() -> None:
    with pytest.raises(InvalidAmount, match="deux chiffres au plus après la virgule"):
        parse_amount("1 234,567")


@pytest.mark.parametrize("text", ["", "   ", "€", f" {NBSP}€ "])
def test_parse_amount_rejects_empty_text(text: str) -> None:
    with pytest.raises(InvalidAmount, match=r"^Montant vide"):
        parse_amount(text)


def test_invalid_amount_is_a_domain_validation_error() -> None:
    with pytest.raises(Invalid):
        parse_amount("abc")


@given(st.integers(min_value=0, max_value=int(MAX_AMOUNT * 100)))
def test_parse_amount_reads_back_every_french_display(cents: int) -> None:
    amount = from_cents(cents)
    assert parse_amount(format_eur(amount)) == amount
    assert parse_amount(format_number(amount)) == amount


@given(st.text(max_size=30))
def test_parse_amount_either_returns_cents_or_raises_invalid_amount(text: str) -> None:
    try:
        amount = parse_amount(text)
    except InvalidAmount:
        return  # never InvalidOperation, ValueError or an unrounded value
    assert Decimal(0) <= amount <= MAX_AMOUNT
    assert amount == amount.quantize(Decimal("0.01"))


def test_format_eur_uses_babel_french_spaces() -> None:
    assert format_eur(Decimal("1234567.89")) == f"1{NNBSP}234{NNBSP}567,89{NBSP}€"
    assert format_eur(Decimal("1.5")) == f"1,50{NBSP}€"
    assert format_eur(Decimal("1234.56")) == f"1{NNBSP}234,56{NBSP}€"
    assert format_eur(Decimal(0)) == f"0,00{NBSP}€"


def test_format_eur_rounds_a_third_decimal_half_up() -> None:
    assert format_eur(Decimal("0.005")) == f"0,01{NBSP}€"
    assert format_eur(Decimal("2.125")) == f"2,13{NBSP}€"


def test_format_number_has_two_decimals_and_no_currency_sign() -> None:
    assert format_number(Decimal("1234.5")) == f"1{NNBSP}234,50"
    assert format_number(Decimal("0.125")) == "0,13"


@pytest.mark.parametrize(
    ("rate", "expected"),
    [
        (Decimal("0.6523"), f"65,2{NBSP}%"),
        (Decimal("0.65250"), f"65,3{NBSP}%"),
        (Decimal("0.2"), f"20,0{NBSP}%"),
        (Decimal(1), f"100,0{NBSP}%"),
        (Decimal(0), f"0,0{NBSP}%"),
        (Decimal(12), f"1{NNBSP}200,0{NBSP}%"),
        (None, "—"),
    ],
)
def test_format_share_gives_a_french_percentage_with_one_decimal(rate: Decimal | None, expected: str) -> None:
    assert format_share(rate) == expected


def test_json_amounts_keep_their_existing_behaviour() -> None:
    assert parse_json_amount("38333.5") == Decimal("38333.50")
    assert parse_json_amount(38333) == Decimal("38333.00")
    assert format_json_amount(Decimal("38333.5")) == "38333.50"
    assert to_cents(Decimal("1234.56")) == 123456
    assert from_cents(123456) == Decimal("1234.56")
    with pytest.raises(InvalidAmount):
        parse_json_amount("1e3")


def test_french_formatting_is_babels_to_the_character_on_a_corpus() -> None:
    draw = random.Random(20261207)
    corpus = [Decimal(v) for v in ("0", "0.004", "0.005", "-0.004", "1", "999.995", "1000", "-1234567.891")]
    corpus += [Decimal(draw.randrange(-(10**14), 10**14)) / 100 for _ in range(2000)]
    corpus += [Decimal(draw.randrange(0, 10**6)) / 1000 for _ in range(500)]
    for value in corpus:
        cents = value.quantize(CENT, ROUND_HALF_UP)
        assert format_eur(value) == format_currency(cents, "EUR", locale="fr_FR"), value
        assert format_number(value) == format_decimal(cents, format="#,##0.00", locale="fr_FR"), value
    for rate in [Decimal(draw.randrange(0, 200000)) / 100000 for _ in range(1000)] + [Decimal("12.3456")]:
        percent = (rate * 100).quantize(Decimal("0.1"), ROUND_HALF_UP)
        assert format_share(rate) == format_decimal(percent, format="#,##0.0", locale="fr_FR") + "\u00a0%"
