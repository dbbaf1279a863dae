"""Reading the scalar values of an exchange document: text, codes, numbers, money, dates, choices.

Each getter reports a breach with its path and returns a placeholder of the right type.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Final

from flask_babel import gettext as _

from app.exchange.reading import MISSING, Reader, shorten, show_value, type_name
from app.money import InvalidAmount, parse_json_amount
from app.richtext import CONTROL_CHARACTERS, sanitize_html

# Length limits, in characters; they match the database columns (app/*/models.py).
MAX_CODE_LENGTH: Final = 64
MAX_NAME_LENGTH: Final = 300  # names, titles, labels, roles
MAX_ACRONYM_LENGTH: Final = 60
MAX_DEPARTEMENT_LENGTH: Final = 40
MAX_EMAIL_LENGTH: Final = 254
MAX_GUIDANCE_LENGTH: Final = 20_000
MAX_HTML_LENGTH: Final = 1_000_000

MAX_INT: Final = 2**31 - 1  # a PostgreSQL integer
MAX_FTE: Final = Decimal("9999.99")
MAX_RATE_DECIMALS: Final = 6

SLUG: Final = re.compile(r"\A[a-z0-9_-]+\Z")
_DATE = re.compile(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_TIMESTAMP = re.compile(
    r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})\Z"
)
_RATE = re.compile(rf"\A(0(\.[0-9]{{1,{MAX_RATE_DECIMALS}}})?|1(\.0{{1,{MAX_RATE_DECIMALS}}})?)\Z")
_FTE = re.compile(r"\A[0-9]+(\.[0-9]{1,2})?\Z")
# Deliberately loose: one "@", no spaces, a dot in the domain. Deliverability is not our concern.
_EMAIL = re.compile(r"\A[^@\s]+@[^@\s]+\.[^@\s]+\Z")
_LINE_BREAK = re.compile("[\t\n\r]")


class ScalarReader(Reader):
    """A `Reader` that also reads the format's scalar values."""

    def text(
        self, value: object, path: str, *, max_length: int, blank: bool = False, multiline: bool = False
    ) -> str:
        """A string within the length limit; not blank unless allowed; no control characters."""
        if value is MISSING:
            return ""
        if not isinstance(value, str):
            self.error(path, _("chaîne attendue, trouvé : %(type)s", type=type_name(value)))
            return ""
        if "\x00" in value:
            self.error(path, _("caractère NUL interdit"))
            return ""
        control = CONTROL_CHARACTERS.search(value) or (None if multiline else _LINE_BREAK.search(value))
        if control:
            self.error(
                path,
                _(
                    "caractère de contrôle interdit (U+%(code)04X à la position %(position)d)",
                    code=ord(control.group()),
                    position=control.start() + 1,
                ),
            )
        if len(value) > max_length:
            self.error(
                path,
                _(
                    "texte trop long : %(length)d caractères pour %(max)d au plus",
                    length=len(value),
                    max=max_length,
                ),
            )
        elif not blank and not value.strip():
            self.error(path, _("texte vide (une valeur est attendue)"))
        return value

    def optional_text(self, value: object, path: str, *, max_length: int) -> str | None:
        """A string or null."""
        return None if value is None else self.text(value, path, max_length=max_length)

    def html(self, value: object, path: str) -> str:
        """Rich text, sanitised: anything outside the allow-list is removed, not refused."""
        if value is MISSING:
            return ""
        if not isinstance(value, str):
            self.error(path, _("texte HTML attendu (chaîne), trouvé : %(type)s", type=type_name(value)))
            return ""
        if "\x00" in value:
            self.error(path, _("caractère NUL interdit"))
            return ""
        if len(value) > MAX_HTML_LENGTH:
            self.error(
                path,
                _(
                    "texte HTML trop long : %(length)d caractères pour %(max)d au plus",
                    length=len(value),
                    max=MAX_HTML_LENGTH,
                ),
            )
            return ""
        return sanitize_html(value)

    def code(self, value: object, path: str) -> str:
        """A slug `[a-z0-9_-]+` of at most 64 characters."""
        if value is MISSING:
            return ""
        if not isinstance(value, str):
            self.error(path, _("code attendu (chaîne), trouvé : %(type)s", type=type_name(value)))
            return ""
        if not SLUG.match(value):
            self.error(
                path,
                _(
                    "code invalide « %(value)s » "
                    "(attendu : lettres minuscules sans accent, chiffres, « _ » ou « - »)",
                    value=shorten(value),
                ),
            )
        elif len(value) > MAX_CODE_LENGTH:
            self.error(path, _("code trop long (%(max)d caractères au plus)", max=MAX_CODE_LENGTH))
        return value

    def boolean(self, value: object, path: str) -> bool:
        """true or false."""
        if value is MISSING:
            return False
        if not isinstance(value, bool):
            self.error(path, _("booléen attendu (true ou false), trouvé : %(type)s", type=type_name(value)))
            return False
        return value

    def integer(self, value: object, path: str, *, minimum: int, maximum: int = MAX_INT) -> int:
        """A JSON integer (not a boolean, not 3.0) within bounds."""
        if value is MISSING:
            return minimum
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(path, _("nombre entier attendu, trouvé : %(type)s", type=type_name(value)))
            return minimum
        if value < minimum:
            if minimum == 0:
                self.error(path, _("nombre négatif (attendu : entier positif ou nul)"))
            else:
                self.error(path, _("%(value)d est trop petit (minimum %(min)d)", value=value, min=minimum))
            return minimum
        if value > maximum:
            self.error(path, _("%(value)d est trop grand (maximum %(max)d)", value=value, max=maximum))
            return minimum
        return value

    def optional_integer(
        self, value: object, path: str, *, minimum: int, maximum: int = MAX_INT
    ) -> int | None:
        """An integer or null."""
        return None if value is None else self.integer(value, path, minimum=minimum, maximum=maximum)

    def money(self, value: object, path: str) -> Decimal:
        """An amount: a decimal string, or a JSON number that is an integer or has two decimals at most."""
        if value is MISSING:
            return Decimal("0.00")
        if isinstance(value, Decimal):
            # From load_document: the number as written, so "1E+3" is refused (a float would be 1000.0).
            value = str(value)
        try:
            return parse_json_amount(value)
        except InvalidAmount as error:
            self.error(path, str(error))
            return Decimal("0.00")

    def rate(self, value: object, path: str) -> Decimal:
        """A share or flat rate: a decimal string between "0" and "1"."""
        if value is MISSING:
            return Decimal(0)
        if not isinstance(value, str):
            self.error(
                path,
                _(
                    "taux attendu sous forme de chaîne entre « 0 » et « 1 » (p. ex. « 0.15 »), "
                    "trouvé : %(type)s",
                    type=type_name(value),
                ),
            )
            return Decimal(0)
        if not _RATE.match(value):
            self.error(
                path,
                _(
                    "taux invalide « %(value)s » (attendu : nombre décimal entre « 0 » et « 1 », "
                    "%(decimals)d décimales au plus, p. ex. « 0.15 »)",
                    value=shorten(value),
                    decimals=MAX_RATE_DECIMALS,
                ),
            )
            return Decimal(0)
        return Decimal(value)

    def fte(self, value: object, path: str) -> Decimal:
        """Full-time equivalents: a decimal string with two decimals at most."""
        if value is MISSING:
            return Decimal("0.00")
        if not isinstance(value, str):
            self.error(
                path,
                _(
                    "ETP attendu sous forme de chaîne (p. ex. « 1.50 »), trouvé : %(type)s",
                    type=type_name(value),
                ),
            )
            return Decimal("0.00")
        if value.startswith("-"):
            self.error(path, _("ETP négatif"))
            return Decimal("0.00")
        if not _FTE.match(value):
            self.error(
                path,
                _(
                    "ETP invalide « %(value)s » "
                    "(attendu : nombre décimal avec au plus deux décimales, p. ex. « 1.50 »)",
                    value=shorten(value),
                ),
            )
            return Decimal("0.00")
        fte = Decimal(value)
        if fte > MAX_FTE:
            self.error(path, _("ETP trop élevé (%(max)s au plus)", max=MAX_FTE))
            return Decimal("0.00")
        return fte.quantize(Decimal("0.01"))

    def iso_date(self, value: object, path: str) -> date:
        """An ISO 8601 calendar date, "YYYY-MM-DD"."""
        if value is MISSING:
            return date.min
        if not isinstance(value, str) or not _DATE.match(value):
            self.error(
                path,
                _(
                    "date attendue au format AAAA-MM-JJ (p. ex. « 2019-09-01 »), trouvé : %(value)s",
                    value=show_value(value),
                ),
            )
            return date.min
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.error(path, _("date inexistante « %(value)s »", value=value))
            return date.min

    def optional_iso_date(self, value: object, path: str) -> date | None:
        """A date or null."""
        return None if value is None else self.iso_date(value, path)

    def timestamp(self, value: object, path: str) -> datetime:
        """An ISO 8601 date and time with a time zone ("Z" or "+02:00")."""
        placeholder = datetime.min
        if value is MISSING:
            return placeholder
        if not isinstance(value, str) or not _TIMESTAMP.match(value):
            self.error(
                path,
                _(
                    "horodatage attendu au format ISO 8601 avec fuseau horaire "
                    "(p. ex. « 2019-08-20T10:00:00+02:00 »), trouvé : %(value)s",
                    value=show_value(value),
                ),
            )
            return placeholder
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            self.error(path, _("horodatage inexistant « %(value)s »", value=value))
            return placeholder

    def email(self, value: object, path: str) -> str:
        """Something that looks like an e-mail address."""
        text = self.text(value, path, max_length=MAX_EMAIL_LENGTH)
        if text and text.strip() and not _EMAIL.match(text):
            self.error(path, _("adresse e-mail invalide « %(value)s »", value=shorten(text)))
        return text

    def choice(self, value: object, path: str, choices: Sequence[str]) -> str:
        """One of a fixed set of strings; "" (none of them) after an error."""
        if value is MISSING:
            return ""
        if not isinstance(value, str) or value not in choices:
            self.error(
                path,
                _(
                    "valeur invalide %(value)s (valeurs permises : %(choices)s)",
                    value=show_value(value),
                    choices=", ".join(choices),
                ),
            )
            return ""
        return value
