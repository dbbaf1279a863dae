"""SIRET numbers: 14 digits with a Luhn key, except La Poste's establishments."""

from __future__ import annotations

import pytest

from app.consortia.siret import is_valid_siret, normalise_siret


@pytest.mark.parametrize(
    "siret",
    [
        "73282932000074",
        "40483304800022",
        "35600000000048",  # La Poste's head office: an ordinary Luhn key
        "35600000049837",  # a La Poste establishment: digits add up to a multiple of 5
        "35600000000047",
    ],
)
def test_valid_siret_is_accepted(siret: str) -> None:
    assert is_valid_siret(siret)


@pytest.mark.parametrize(
    "siret",
    [
        "73282932000075",  # wrong key
        "7328293200007",  # 13 digits
        "732829320000740",  # 15 digits
        "732 829 320 00074",  # spaces: normalise first
        "7328293200007A",
        "",
        " 73282932000074",
        "73282932000074\n",
        "٧٣٢٨٢٩٣٢٠٠٠٠٧٤",  # Arabic-Indic digits are digits for str.isdigit, not for a SIRET
        "７３２８２９３２０００７４",  # full-width digits
        "35600000012345",  # La Poste SIREN, sum of digits not a multiple of 5
        "35600000012340",  # ... even though the Luhn key is right
    ],
)
def test_invalid_siret_is_refused(siret: str) -> None:
    assert not is_valid_siret(siret)


def test_normalise_drops_every_kind_of_space() -> None:
    assert normalise_siret(" 732 829 320\u00a000074\u202f") == "73282932000074"


def test_normalise_keeps_other_characters_for_the_check_to_refuse() -> None:
    assert normalise_siret("732.829.320.00074") == "732.829.320.00074"
