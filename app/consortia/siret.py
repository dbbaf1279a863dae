"""SIRET numbers: the 14-digit identifier of a French establishment (SIREN + NIC)."""

from __future__ import annotations

import re

_FOURTEEN_DIGITS = re.compile(r"\A[0-9]{14}\Z")

# La Poste numbers its thousands of establishments under one SIREN without the Luhn key: their
# digits add up to a multiple of 5 instead. Its head office keeps an ordinary Luhn-valid SIRET.
_LA_POSTE_SIREN = "356000000"
_LA_POSTE_HEAD_OFFICE = "35600000000048"


def _passes_luhn(digits: str) -> bool:
    total = 0
    for position, character in enumerate(reversed(digits)):
        digit = int(character)
        if position % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def is_valid_siret(value: str) -> bool:
    """Whether the text is exactly 14 ASCII digits with a valid check (Luhn, or La Poste's rule)."""
    # `str.isdigit` would accept Arabic-Indic or full-width digits; the pattern only ASCII ones.
    if not _FOURTEEN_DIGITS.match(value):
        return False
    if value.startswith(_LA_POSTE_SIREN) and value != _LA_POSTE_HEAD_OFFICE:
        return sum(int(character) for character in value) % 5 == 0
    return _passes_luhn(value)


def normalise_siret(text: str) -> str:
    """The SIRET as typed, without the spaces people put between its groups of digits."""
    # split() also drops the non-breaking and narrow spaces that copy-paste from PDFs brings.
    return "".join(text.split())
