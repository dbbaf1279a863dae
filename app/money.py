"""Money: the one strict parser for amounts typed by people, JSON amounts, French display.

Amounts are `Decimal` euros everywhere in Python and integer cents in the database.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from flask_babel import gettext as _

from app.errors import Invalid

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999999.99")  # twelve integer digits

_JSON_AMOUNT = re.compile(r"\A[0-9]+(\.[0-9]{1,2})?\Z")


class InvalidAmount(Invalid):
    """An amount that cannot be accepted; the message says why (and how to fix it)."""


def parse_json_amount(value: object) -> Decimal:
    """An amount from an exchange document: a decimal string or an integer, at most two decimals."""
    if isinstance(value, bool):
        raise InvalidAmount(_("montant invalide"))
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        # JSON numbers arrive as floats; accept them only when their decimal text is exact.
        text = repr(value)
        if text.endswith(".0"):
            text = text[:-2]
    elif isinstance(value, str):
        text = value
    else:
        raise InvalidAmount(_("montant invalide"))
    if text.startswith("-"):
        raise InvalidAmount(_("montant négatif"))
    if not _JSON_AMOUNT.match(text):
        raise InvalidAmount(_("montant invalide (attendu : nombre décimal avec au plus deux décimales)"))
    try:
        amount = Decimal(text)
    except InvalidOperation as error:  # pragma: no cover - the pattern above excludes it
        raise InvalidAmount(_("montant invalide")) from error
    if amount > MAX_AMOUNT:
        raise InvalidAmount(_("montant trop élevé"))
    return amount.quantize(CENT)


def format_json_amount(amount: Decimal) -> str:
    """An amount as the exchange format writes it: a string with exactly two decimals."""
    return str(amount.quantize(CENT))


def to_cents(amount: Decimal) -> int:
    """Euros (at most two decimals) to integer cents."""
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise InvalidAmount(_("montant avec plus de deux décimales"))
    return int(cents)


def from_cents(cents: int) -> Decimal:
    """Integer cents to euros with exactly two decimals."""
    return (Decimal(cents) / 100).quantize(CENT)


_GROUP_SEPARATORS = " \u00a0\u202f"  # space, no-break space, narrow no-break space
_TYPED_AMOUNT = re.compile(r"[0-9.,\u0020\u00a0\u202f]+")
_GROUPED_INTEGER = re.compile(r"[0-9]{1,3}(?:[\u0020\u00a0\u202f][0-9]{3})+")
_MAX_INTEGER_DIGITS = 12


def parse_amount(text: str) -> Decimal:
    """The one strict parser for amounts typed by people ("1 234,56 €"); refuses anything doubtful."""
    body = _without_euro_sign(text.strip())
    if not body:
        raise InvalidAmount(_("Montant vide : saisissez un nombre, par exemple 1234,56."))
    negative = body[0] in "-\u2212"
    if negative:
        body = body[1:].lstrip()
    # Checked before anything else: Decimal() would accept 1e309, NaN, '١٢٣' and '1_000'.
    if not _TYPED_AMOUNT.fullmatch(body):
        if any(char.isdigit() and char not in "0123456789" for char in body):
            raise InvalidAmount(_("Montant invalide : utilisez uniquement les chiffres de 0 à 9."))
        raise InvalidAmount(_("Montant invalide : saisissez un nombre, par exemple 1 234,56."))
    if negative:
        raise InvalidAmount(_("Montant invalide : les montants négatifs ne sont pas autorisés."))
    digits, fraction = _split_amount(body)
    if len(digits.lstrip("0")) > _MAX_INTEGER_DIGITS:
        raise InvalidAmount(
            _("Montant trop élevé : le maximum est %(maximum)s.", maximum=format_eur(MAX_AMOUNT))
        )
    return Decimal(f"{digits}.{fraction or '0'}").quantize(CENT)


def _split_amount(body: str) -> tuple[str, str]:
    """Integer digits and decimals of a text made only of ASCII digits, separators and spaces."""
    if "." in body and "," in body:
        raise InvalidAmount(_mixed_separators_message(body))
    if body.count(".") + body.count(",") > 1:
        raise InvalidAmount(_("Montant invalide : les milliers se séparent par une espace (1 234 567)."))
    integer, separator, fraction = body.partition("." if "." in body else ",")
    grouped = any(char in _GROUP_SEPARATORS for char in integer)
    well_formed = bool(integer) and (not grouped or _GROUPED_INTEGER.fullmatch(integer) is not None)
    if not well_formed or (separator and not fraction.isdigit()):
        raise InvalidAmount(_("Montant invalide : écrivez par exemple 1234,56 ou 1 234,56."))
    digits = "".join(char for char in integer if char not in _GROUP_SEPARATORS)
    if len(fraction) == 3 and not grouped:
        raise InvalidAmount(_ambiguous_message(digits, fraction))
    if len(fraction) > 2:
        raise InvalidAmount(_("Montant invalide : deux chiffres au plus après la virgule (les centimes)."))
    return digits, fraction


def _without_euro_sign(text: str) -> str:
    if text.startswith("€"):
        return text[1:].lstrip()
    if text.endswith("€"):
        return text[:-1].rstrip()
    return text


def _ambiguous_message(digits: str, fraction: str) -> str:
    # "1,500" may mean fifteen hundred (English thousands) or one and a half: ask, never guess.
    thousands = str(int(digits + fraction))
    if fraction.endswith("0"):
        return _(
            "Montant ambigu : écrivez %(thousands)s ou %(decimal)s.",
            thousands=thousands,
            decimal=f"{int(digits)},{fraction[:2]}",
        )
    return _(
        "Montant ambigu : écrivez %(thousands)s pour des milliers ; les centimes ont deux chiffres au plus.",
        thousands=thousands,
    )


def _mixed_separators_message(body: str) -> str:
    # Read the last separator as the decimal one only to suggest a clear spelling.
    cut = max(body.rfind("."), body.rfind(","))
    digits = "".join(char for char in body[:cut] if char.isdigit())
    fraction = body[cut + 1 :]
    if digits and fraction.isdigit() and len(fraction) <= 2:
        example = f"{int(digits)},{fraction}"
    else:
        example = "1234,56"
    return _(
        "Montant ambigu : n'utilisez pas à la fois le point et la virgule ; écrivez par exemple %(example)s.",
        example=example,
    )


def _french(value: Decimal, places: int) -> str:
    """`value` with `places` decimals as fr_FR writes it: narrow no-break spaces between thousands,
    a decimal comma. The same text as Babel's (tests/test_money.py holds it on a corpus), without a
    locale lookup per call: pages format hundreds of amounts."""
    return f"{value:,.{places}f}".replace(",", "\u202f").replace(".", ",")


def format_eur(amount: Decimal) -> str:
    """An amount for French readers, e.g. « 1 234 567,89 € » (narrow and no-break spaces)."""
    # Round half-up here, as people do (Babel would round a third decimal half-even).
    return _french(amount.quantize(CENT, ROUND_HALF_UP), 2) + "\u00a0€"


def format_number(amount: Decimal) -> str:
    """An amount without the currency sign, two decimals, e.g. « 1 234,50 »."""
    return _french(amount.quantize(CENT, ROUND_HALF_UP), 2)


def format_share(rate: Decimal | None) -> str:
    """A rate as a French percentage with one decimal (« 65,2 % »), or « — » when there is none."""
    if rate is None:
        return "—"
    percent = (rate * 100).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return _french(percent, 1) + "\u00a0%"
