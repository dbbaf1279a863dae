"""Reading an exchange document: every breach of format v1 reported with its JSON path, all at once.

`load_document` reads JSON text; `parse_document` checks already-decoded JSON. Either returns a
complete `ExchangeDocument` or raises `ExchangeInvalid` listing every error as
"<json path>: <message>". Only breaches of the format are errors: derived problems (an
unbalanced year, a total below the call's minimum...) are for the application's checks.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final, TypeVar, cast

from flask_babel import gettext as _
from flask_babel import ngettext

from app.consortia.siret import is_valid_siret
from app.errors import Invalid
from app.exchange.document import (
    FORMAT_NAME,
    FORMAT_VERSION,
    PARTNER_SECTION_SCOPES,
    BudgetModel,
    Call,
    CallRules,
    ConsortiumInfo,
    ConsortiumStatus,
    Contact,
    ExchangeDocument,
    ExpenseCategory,
    Extensions,
    Funder,
    FunderGroup,
    Indicator,
    IndicatorKind,
    IndirectCostRule,
    Partner,
    PartnerIndicators,
    PartnerRole,
    PartnerStatus,
    Section,
    SectionScope,
    SectionStatus,
    SignOff,
    YearBudget,
)
from app.money import InvalidAmount, parse_json_amount
from app.richtext import sanitize_html

# Length limits, in characters; they match the database columns (app/*/models.py).
MAX_CODE_LENGTH: Final = 64
MAX_NAME_LENGTH: Final = 300  # names, titles, labels, roles
MAX_ACRONYM_LENGTH: Final = 60
MAX_DEPARTEMENT_LENGTH: Final = 40
MAX_EMAIL_LENGTH: Final = 254
MAX_GUIDANCE_LENGTH: Final = 20_000
MAX_HTML_LENGTH: Final = 1_000_000

MAX_INT: Final = 2**31 - 1  # a PostgreSQL integer
MIN_YEAR: Final = 1900
MAX_YEAR: Final = 2100
MAX_DURATION_MONTHS: Final = 1200
MAX_FTE: Final = Decimal("9999.99")
MAX_RATE_DECIMALS: Final = 6

CONSORTIUM_STATUSES: Final = ("draft", "submitted")
FUNDER_GROUPS: Final = ("etat", "ue", "collectivites", "autres_publics", "prives", "autofinancement")
INDICATOR_KINDS: Final = ("output", "result")
SECTION_SCOPES: Final = ("shared", "per_partner", "shared_and_per_partner")
SECTION_STATUSES: Final = ("todo", "in_progress", "in_review", "validated")
PARTNER_ROLES: Final = ("lead", "member")
PARTNER_STATUSES: Final = ("active", "withdrawn")

_SLUG = re.compile(r"\A[a-z0-9_-]+\Z")
_PATH_KEY = re.compile(r"\A[A-Za-z0-9_-]+\Z")
_YEAR_KEY = re.compile(r"\A[0-9]{4}\Z")
_DATE = re.compile(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_TIMESTAMP = re.compile(
    r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})\Z"
)
_RATE = re.compile(rf"\A(0(\.[0-9]{{1,{MAX_RATE_DECIMALS}}})?|1(\.0{{1,{MAX_RATE_DECIMALS}}})?)\Z")
_FTE = re.compile(r"\A[0-9]+(\.[0-9]{1,2})?\Z")
_DIGEST = re.compile(r"\A[0-9a-f]{64}\Z")
# Deliberately loose: one "@", no spaces, a dot in the domain. Deliverability is not our concern.
_EMAIL = re.compile(r"\A[^@\s]+@[^@\s]+\.[^@\s]+\Z")
# Controls other than tab, line feed and carriage return (DEL and C1 included).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LINE_BREAK = re.compile("[\t\n\r]")

ROOT_PATH: Final = "$"


class ExchangeInvalid(Invalid):
    """An exchange document breaks format v1; `errors` lists every breach as "<path>: <message>"."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__(
            ngettext(
                "Le document d'échange contient %(num)d erreur.",
                "Le document d'échange contient %(num)d erreurs.",
                len(errors),
            )
        )
        self.errors = errors


def load_document(text: str | bytes) -> ExchangeDocument:
    """Decode JSON text (UTF-8) and check it as an exchange document."""
    if isinstance(text, bytes):
        try:
            # utf-8-sig: a byte-order mark left by a Windows editor is not worth a refusal.
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise _document_error(
                _(
                    "le fichier n'est pas en UTF-8 (octet invalide à la position %(position)d)",
                    position=error.start,
                )
            ) from error
    text = text.removeprefix("\ufeff")
    try:
        data = json.loads(
            text,
            # Decimal keeps the number as written: 1.005 stays 1.005 and 1e3 stays an exponent,
            # so the money rules can refuse them instead of seeing a float.
            parse_float=Decimal,
            parse_constant=_refuse_constant,
            object_pairs_hook=_JsonObject.from_pairs,
        )
    except json.JSONDecodeError as error:
        raise _document_error(
            _(
                "JSON mal formé, ligne %(line)d, colonne %(column)d (%(reason)s)",
                line=error.lineno,
                column=error.colno,
                reason=error.msg,
            )
        ) from error
    except _NonFiniteNumber as error:
        raise _document_error(
            _("JSON invalide, « %(constant)s » n'est pas un nombre JSON", constant=error.constant)
        ) from error
    except RecursionError as error:
        raise _document_error(_("JSON trop profondément imbriqué")) from error
    except ValueError as error:
        # Python refuses integers of more than 4,300 digits.
        raise _document_error(_("JSON invalide (%(reason)s)", reason=str(error))) from error
    duplicates = [
        f"{path}: " + _("clé en double (une seule occurrence attendue)")
        for path in _duplicate_key_paths(data)
    ]
    try:
        document = parse_document(data)
    except ExchangeInvalid as error:
        raise ExchangeInvalid(duplicates + error.errors) from error
    if duplicates:
        raise ExchangeInvalid(duplicates)
    return document


def parse_document(data: object) -> ExchangeDocument:
    """Check decoded JSON against format v1 and return the complete, canonical document."""
    reader = _Reader()
    document = reader.document(data)
    if reader.errors:
        raise ExchangeInvalid(reader.errors)
    return document


class _NonFiniteNumber(ValueError):
    def __init__(self, constant: str) -> None:
        super().__init__(constant)
        self.constant = constant


def _refuse_constant(constant: str) -> object:
    raise _NonFiniteNumber(constant)


def _document_error(message: str) -> ExchangeInvalid:
    # Errors about the file as a whole: its path is the root.
    return ExchangeInvalid([f"{ROOT_PATH}: {message}"])


class _JsonObject(dict[str, Any]):
    """A decoded JSON object that remembers the keys it saw twice (json keeps only the last)."""

    duplicates: tuple[str, ...] = ()

    @classmethod
    def from_pairs(cls, pairs: list[tuple[str, Any]]) -> _JsonObject:
        obj = cls(pairs)
        if len(obj) != len(pairs):
            seen: set[str] = set()
            repeated = []
            for key, _value in pairs:
                if key in seen:
                    repeated.append(key)
                seen.add(key)
            obj.duplicates = tuple(repeated)
        return obj


def _duplicate_key_paths(value: object) -> Iterator[str]:
    # A stack rather than recursion: the walk must not fail where json.loads succeeded.
    stack: list[tuple[object, str]] = [(value, "")]
    while stack:
        current, where = stack.pop()
        if isinstance(current, dict):
            if isinstance(current, _JsonObject):
                for key in dict.fromkeys(current.duplicates):
                    yield _child(where, key)
            stack.extend((child, _child(where, key)) for key, child in reversed(current.items()))
        elif isinstance(current, list):
            stack.extend((child, _index(where, i)) for i, child in reversed(list(enumerate(current))))


def _child(path: str, key: str) -> str:
    if _PATH_KEY.match(key):
        return f"{path}.{key}" if path else key
    # Keys that could confuse the path (dots, spaces, brackets, controls) are quoted and escaped.
    return f"{path}[{json.dumps(key[:80])}]"


def _index(path: str, index: int) -> str:
    return f"{path or ROOT_PATH}[{index}]"


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return _("booléen")
    if isinstance(value, int):
        return _("nombre entier")
    if isinstance(value, float | Decimal):
        return _("nombre décimal")
    if isinstance(value, str):
        return _("chaîne")
    if isinstance(value, list):
        return _("liste")
    if isinstance(value, dict):
        return _("objet")
    return type(value).__name__


# A key that is absent; getters return a placeholder for it without reporting anything, since
# the missing key (or the enclosing object that is not one) has been reported already.
_MISSING: Final = object()

T = TypeVar("T")


@dataclass
class _Fields:
    """The keys of one JSON object being read, with the path to each."""

    path: str
    values: Mapping[str, Any] | None

    def __getitem__(self, key: str) -> object:
        if self.values is None or key not in self.values:
            return _MISSING
        return self.values[key]

    def get(self, key: str, default: object = None) -> object:
        """The value of an optional key, or the default when it is absent."""
        if self.values is None:
            return _MISSING
        return self.values.get(key, default)

    def has(self, key: str) -> bool:
        return self.values is not None and key in self.values

    def at(self, key: str) -> str:
        return _child(self.path, key)

    @property
    def valid(self) -> bool:
        return self.values is not None


@dataclass(frozen=True)
class _Model:
    """What the rest of the document is checked against; None where the model itself was unreadable."""

    years: frozenset[int] | None
    categories: frozenset[str] | None
    funders: frozenset[str] | None
    per_year_indicators: frozenset[str] | None
    total_indicators: frozenset[str] | None
    partner_sections: frozenset[str] | None


class _Reader:
    """Walks a decoded document once, collecting every error and building the document anyway.

    On an error a getter returns a placeholder of the right type, so reading goes on and finds
    the other errors; the placeholders never leave this module because any error raises.
    """

    def __init__(self) -> None:
        self.errors: list[str] = []

    def error(self, path: str, message: str) -> None:
        self.errors.append(f"{path or ROOT_PATH}: {message}")

    # --- objects and lists -------------------------------------------------------------------

    def record(
        self,
        value: object,
        path: str,
        *,
        required: Sequence[str],
        optional: Sequence[str] = (),
        extensions: bool = True,
    ) -> _Fields:
        """A JSON object with fixed keys: missing and unknown keys are reported."""
        if value is _MISSING:
            return _Fields(path, None)
        if not isinstance(value, dict):
            self.error(path, _("objet attendu, trouvé : %(type)s", type=_type_name(value)))
            return _Fields(path, None)
        allowed = [*required, *optional, *(["extensions"] if extensions else [])]
        for key in required:
            if key not in value:
                self.error(_child(path, key), _("clé obligatoire manquante"))
        for key in value:
            if key not in allowed:
                self.error(
                    _child(path, key),
                    _("clé inconnue (clés permises : %(keys)s)", keys=", ".join(allowed)),
                )
        return _Fields(path, value)

    def mapping(self, value: object, path: str) -> Mapping[str, Any]:
        """A JSON object whose keys are codes (checked by the caller); empty if it is not one."""
        if value is _MISSING:
            return {}
        if not isinstance(value, dict):
            self.error(path, _("objet attendu, trouvé : %(type)s", type=_type_name(value)))
            return {}
        return cast(Mapping[str, Any], value)

    def array(self, value: object, path: str) -> list[tuple[str, Any]] | None:
        """The items of a JSON array with their paths; None if it is not one."""
        if value is _MISSING:
            return None
        if not isinstance(value, list):
            self.error(path, _("liste attendue, trouvé : %(type)s", type=_type_name(value)))
            return None
        return [(_index(path, i), item) for i, item in enumerate(value)]

    def extensions(self, fields: _Fields) -> Extensions | None:
        """The object's "extensions", copied as plain JSON; None when absent."""
        if not fields.has("extensions"):
            return None
        path = fields.at("extensions")
        value = fields["extensions"]
        if not isinstance(value, dict):
            self.error(path, _("objet attendu, trouvé : %(type)s", type=_type_name(value)))
            return None
        try:
            return cast(Extensions, self._plain_json(value, path))
        except RecursionError:
            self.error(path, _("extensions trop profondément imbriquées"))
            return None

    def _plain_json(self, value: object, path: str) -> object:
        # Extensions are opaque but must still be storable and exportable: no NUL (PostgreSQL),
        # no NaN or infinity (not JSON), numbers back to what json.dumps writes.
        if isinstance(value, dict):
            copy: dict[str, object] = {}
            for key, child in value.items():
                if "\x00" in key:
                    self.error(_child(path, key), _("caractère NUL interdit dans une clé"))
                copy[key] = self._plain_json(child, _child(path, key))
            return copy
        if isinstance(value, list):
            return [self._plain_json(child, _index(path, i)) for i, child in enumerate(value)]
        if isinstance(value, str):
            if "\x00" in value:
                self.error(path, _("caractère NUL interdit"))
            return value
        if isinstance(value, Decimal | float) and not isinstance(value, bool):
            number = float(value)
            if not math.isfinite(number):
                self.error(path, _("nombre hors limites (NaN et l'infini ne sont pas du JSON)"))
                return 0
            return number
        if value is None or isinstance(value, bool | int):
            return value
        self.error(path, _("valeur non JSON : %(type)s", type=_type_name(value)))
        return None

    # --- scalar values -----------------------------------------------------------------------

    def text(
        self, value: object, path: str, *, max_length: int, blank: bool = False, multiline: bool = False
    ) -> str:
        """A string within the length limit; not blank unless allowed; no control characters."""
        if value is _MISSING:
            return ""
        if not isinstance(value, str):
            self.error(path, _("chaîne attendue, trouvé : %(type)s", type=_type_name(value)))
            return ""
        if "\x00" in value:
            self.error(path, _("caractère NUL interdit"))
            return ""
        control = _CONTROL.search(value) or (None if multiline else _LINE_BREAK.search(value))
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
        if value is _MISSING:
            return ""
        if not isinstance(value, str):
            self.error(path, _("texte HTML attendu (chaîne), trouvé : %(type)s", type=_type_name(value)))
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
        if value is _MISSING:
            return ""
        if not isinstance(value, str):
            self.error(path, _("code attendu (chaîne), trouvé : %(type)s", type=_type_name(value)))
            return ""
        if not _SLUG.match(value):
            self.error(
                path,
                _(
                    "code invalide « %(value)s » "
                    "(attendu : lettres minuscules sans accent, chiffres, « _ » ou « - »)",
                    value=_shorten(value),
                ),
            )
        elif len(value) > MAX_CODE_LENGTH:
            self.error(path, _("code trop long (%(max)d caractères au plus)", max=MAX_CODE_LENGTH))
        return value

    def boolean(self, value: object, path: str) -> bool:
        """true or false."""
        if value is _MISSING:
            return False
        if not isinstance(value, bool):
            self.error(path, _("booléen attendu (true ou false), trouvé : %(type)s", type=_type_name(value)))
            return False
        return value

    def integer(self, value: object, path: str, *, minimum: int, maximum: int = MAX_INT) -> int:
        """A JSON integer (not a boolean, not 3.0) within bounds."""
        if value is _MISSING:
            return minimum
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(path, _("nombre entier attendu, trouvé : %(type)s", type=_type_name(value)))
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
        if value is _MISSING:
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
        if value is _MISSING:
            return Decimal(0)
        if not isinstance(value, str):
            self.error(
                path,
                _(
                    "taux attendu sous forme de chaîne entre « 0 » et « 1 » (p. ex. « 0.15 »), "
                    "trouvé : %(type)s",
                    type=_type_name(value),
                ),
            )
            return Decimal(0)
        if not _RATE.match(value):
            self.error(
                path,
                _(
                    "taux invalide « %(value)s » (attendu : nombre décimal entre « 0 » et « 1 », "
                    "%(decimals)d décimales au plus, p. ex. « 0.15 »)",
                    value=_shorten(value),
                    decimals=MAX_RATE_DECIMALS,
                ),
            )
            return Decimal(0)
        return Decimal(value)

    def fte(self, value: object, path: str) -> Decimal:
        """Full-time equivalents: a decimal string with two decimals at most."""
        if value is _MISSING:
            return Decimal("0.00")
        if not isinstance(value, str):
            self.error(
                path,
                _(
                    "ETP attendu sous forme de chaîne (p. ex. « 1.50 »), trouvé : %(type)s",
                    type=_type_name(value),
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
                    value=_shorten(value),
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
        if value is _MISSING:
            return date.min
        if not isinstance(value, str) or not _DATE.match(value):
            self.error(
                path,
                _(
                    "date attendue au format AAAA-MM-JJ (p. ex. « 2019-09-01 »), trouvé : %(value)s",
                    value=_show(value),
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
        if value is _MISSING:
            return placeholder
        if not isinstance(value, str) or not _TIMESTAMP.match(value):
            self.error(
                path,
                _(
                    "horodatage attendu au format ISO 8601 avec fuseau horaire "
                    "(p. ex. « 2019-08-20T10:00:00+02:00 »), trouvé : %(value)s",
                    value=_show(value),
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
            self.error(path, _("adresse e-mail invalide « %(value)s »", value=_shorten(text)))
        return text

    def choice(self, value: object, path: str, choices: Sequence[str]) -> str:
        """One of a fixed set of strings; "" (none of them) after an error."""
        if value is _MISSING:
            return ""
        if not isinstance(value, str) or value not in choices:
            self.error(
                path,
                _(
                    "valeur invalide %(value)s (valeurs permises : %(choices)s)",
                    value=_show(value),
                    choices=", ".join(choices),
                ),
            )
            return ""
        return value

    def unique_codes(self, codes: Iterable[tuple[str, str]], what: str) -> None:
        """Report every code that appears a second time in its list."""
        seen: dict[str, str] = {}
        for path, code in codes:
            if not code:
                continue
            if code in seen:
                self.error(
                    path,
                    _(
                        "%(what)s « %(code)s » en double (déjà en %(first)s)",
                        what=what,
                        code=code,
                        first=seen[code],
                    ),
                )
            else:
                seen[code] = path

    # --- the document ------------------------------------------------------------------------

    def document(self, data: object) -> ExchangeDocument:
        if not isinstance(data, dict):
            self.error(
                ROOT_PATH, _("le document doit être un objet JSON, trouvé : %(type)s", type=_type_name(data))
            )
            data = {}
            fields = _Fields("", None)
        else:
            if not self._format_and_version(data):
                # Another format or version: its other keys mean nothing to these rules.
                return _placeholder_document()
            fields = self.record(
                data,
                "",
                required=(
                    "format",
                    "version",
                    "exported_at",
                    "call",
                    "consortium",
                    "budget_model",
                    "indicators",
                    "sections",
                    "partners",
                ),
            )
        exported_at = self.timestamp(fields["exported_at"], fields.at("exported_at"))
        budget_model, years_readable, codes_readable = self.budget_model(
            fields["budget_model"], fields.at("budget_model")
        )
        call = self.call(fields["call"], fields.at("call"), budget_model if codes_readable else None)
        consortium = self.consortium(fields["consortium"], fields.at("consortium"))
        indicators, indicators_valid, uncertain_indicators = self.indicators(
            fields["indicators"], fields.at("indicators")
        )
        sections, sections_valid, uncertain_sections = self.sections(
            fields["sections"], fields.at("sections")
        )
        model = _Model(
            years=frozenset(budget_model.years) if years_readable else None,
            categories=frozenset(budget_model.category_codes) if codes_readable else None,
            funders=frozenset(budget_model.funder_codes) if codes_readable else None,
            per_year_indicators=(
                frozenset(i.code for i in indicators if i.per_year) | uncertain_indicators
                if indicators_valid
                else None
            ),
            total_indicators=(
                frozenset(i.code for i in indicators if not i.per_year) | uncertain_indicators
                if indicators_valid
                else None
            ),
            partner_sections=(
                frozenset(s.code for s in sections if s.scope in PARTNER_SECTION_SCOPES) | uncertain_sections
                if sections_valid
                else None
            ),
        )
        partners = self.partners(fields["partners"], fields.at("partners"), model, budget_model, indicators)
        self._lead(consortium, partners, fields)
        return ExchangeDocument(
            exported_at=exported_at,
            call=call,
            consortium=consortium,
            budget_model=budget_model,
            indicators=indicators,
            sections=sections,
            partners=partners,
            extensions=self.extensions(fields),
        )

    def _format_and_version(self, data: Mapping[str, Any]) -> bool:
        """Whether "format" and "version" are this format's, when given (their absence is reported later)."""
        ok = True
        if "format" in data and data["format"] != FORMAT_NAME:
            self.error(
                "format",
                _(
                    "format inconnu %(value)s (attendu : « %(expected)s »)",
                    value=_show(data["format"]),
                    expected=FORMAT_NAME,
                ),
            )
            ok = False
        version = data.get("version", FORMAT_VERSION)
        # type() and not isinstance(): true and 1.0 are not the version 1.
        if type(version) is not int or version != FORMAT_VERSION:
            self.error(
                "version",
                _(
                    "version %(value)s non prise en charge (cette application lit la version %(expected)d)",
                    value=_show(version),
                    expected=FORMAT_VERSION,
                ),
            )
            ok = False
        return ok

    def call(self, value: object, path: str, model: BudgetModel | None) -> Call:
        fields = self.record(
            value,
            path,
            required=("code", "name", "programme", "operator", "submission_deadline", "rules"),
        )
        return Call(
            code=self.code(fields["code"], fields.at("code")),
            name=self.text(fields["name"], fields.at("name"), max_length=MAX_NAME_LENGTH),
            programme=self.optional_text(
                fields["programme"], fields.at("programme"), max_length=MAX_NAME_LENGTH
            ),
            operator=self.optional_text(
                fields["operator"], fields.at("operator"), max_length=MAX_NAME_LENGTH
            ),
            submission_deadline=self.optional_iso_date(
                fields["submission_deadline"], fields.at("submission_deadline")
            ),
            rules=self.rules(fields["rules"], fields.at("rules"), model),
            extensions=self.extensions(fields),
        )

    def rules(self, value: object, path: str, model: BudgetModel | None) -> CallRules:
        keys = (
            "min_total_cost",
            "min_duration_months",
            "max_duration_months",
            "main_funder",
            "main_funder_share_range",
            "min_local_cofunding_share",
            "balance_tolerance",
        )
        fields = self.record(value, path, required=(), optional=keys)

        # Every rule is optional; null is read as "not given".
        def given(key: str, read: Callable[[object, str], T]) -> T | None:
            raw = fields.get(key)
            return None if raw is None or raw is _MISSING else read(raw, fields.at(key))

        min_months = given(
            "min_duration_months", lambda v, p: self.integer(v, p, minimum=1, maximum=MAX_DURATION_MONTHS)
        )
        max_months = given(
            "max_duration_months", lambda v, p: self.integer(v, p, minimum=1, maximum=MAX_DURATION_MONTHS)
        )
        if min_months is not None and max_months is not None and min_months > max_months:
            self.error(
                fields.at("max_duration_months"),
                _(
                    "durée maximale (%(max)d mois) inférieure à la durée minimale (%(min)d mois)",
                    max=max_months,
                    min=min_months,
                ),
            )
        main_funder = given("main_funder", self.code)
        if main_funder and model is not None and main_funder not in model.funder_codes:
            self.error(
                fields.at("main_funder"),
                _("financeur « %(code)s » absent de budget_model.funders", code=main_funder),
            )
        return CallRules(
            min_total_cost=given("min_total_cost", self.money),
            min_duration_months=min_months,
            max_duration_months=max_months,
            main_funder=main_funder,
            main_funder_share_range=given("main_funder_share_range", self.rate_range),
            min_local_cofunding_share=given("min_local_cofunding_share", self.rate),
            balance_tolerance=given("balance_tolerance", self.money),
            extensions=self.extensions(fields),
        )

    def rate_range(self, value: object, path: str) -> tuple[Decimal, Decimal]:
        items = self.array(value, path)
        if items is None:
            return (Decimal(0), Decimal(1))
        if len(items) != 2:
            self.error(
                path,
                _(
                    "liste de deux taux attendue [minimum, maximum], trouvé %(count)d éléments",
                    count=len(items),
                ),
            )
            return (Decimal(0), Decimal(1))
        low, high = (self.rate(item, item_path) for item_path, item in items)
        if low > high:
            self.error(path, _("le minimum (%(low)s) dépasse le maximum (%(high)s)", low=low, high=high))
        return (low, high)

    def consortium(self, value: object, path: str) -> ConsortiumInfo:
        fields = self.record(
            value,
            path,
            required=("slug", "title", "acronym", "lead_partner", "status", "project_start", "project_end"),
        )
        start = self.iso_date(fields["project_start"], fields.at("project_start"))
        end = self.iso_date(fields["project_end"], fields.at("project_end"))
        if start != date.min and end != date.min and start > end:
            self.error(
                fields.at("project_end"),
                _(
                    "fin du projet (%(end)s) antérieure à son début (%(start)s)",
                    end=end.isoformat(),
                    start=start.isoformat(),
                ),
            )
        return ConsortiumInfo(
            slug=self.code(fields["slug"], fields.at("slug")),
            title=self.text(fields["title"], fields.at("title"), max_length=MAX_NAME_LENGTH),
            acronym=self.text(
                fields["acronym"], fields.at("acronym"), max_length=MAX_ACRONYM_LENGTH, blank=True
            ),
            lead_partner=self.code(fields["lead_partner"], fields.at("lead_partner")),
            status=cast(
                ConsortiumStatus, self.choice(fields["status"], fields.at("status"), CONSORTIUM_STATUSES)
            ),
            project_start=start,
            project_end=end,
            extensions=self.extensions(fields),
        )

    def budget_model(self, value: object, path: str) -> tuple[BudgetModel, bool, bool]:
        """The model, whether its years were read without error, and whether its codes could be read.

        References to years, categories and funders are only checked against lists that were read:
        otherwise every partner would repeat the model's own error.
        """
        fields = self.record(
            value, path, required=("years", "expense_categories", "funders", "indirect_costs")
        )
        errors = len(self.errors)
        years = self.years(fields["years"], fields.at("years"))
        years_readable = fields.valid and len(self.errors) == errors
        errors = len(self.errors)
        category_items = self.array(fields["expense_categories"], fields.at("expense_categories"))
        categories = tuple(self.expense_category(item, item_path) for item_path, item in category_items or ())
        self.unique_codes(
            (
                (_child(p, "code"), c.code)
                for (p, _i), c in zip(category_items or (), categories, strict=True)
            ),
            _("catégorie"),
        )
        funder_items = self.array(fields["funders"], fields.at("funders"))
        funders = tuple(self.funder(item, item_path) for item_path, item in funder_items or ())
        self.unique_codes(
            ((_child(p, "code"), f.code) for (p, _i), f in zip(funder_items or (), funders, strict=True)),
            _("financeur"),
        )
        # A duplicated or unreadable code makes the lists unreliable: partners are then not checked
        # against them (the model's error is enough; fixing it shows the rest on the next import).
        codes_readable = (
            category_items is not None and funder_items is not None and len(self.errors) == errors
        )
        indirect_value = fields["indirect_costs"]
        indirect = (
            None
            if indirect_value is None or indirect_value is _MISSING
            else self.indirect_costs(indirect_value, fields.at("indirect_costs"), categories)
        )
        for (item_path, _item), category in zip(category_items or (), categories, strict=True):
            designated = indirect is not None and indirect.category in {c.code for c in categories}
            if (
                category.computed
                and designated
                and indirect is not None
                and indirect.category != category.code
            ):
                self.error(
                    _child(item_path, "computed"),
                    _(
                        "catégorie calculée non désignée par budget_model.indirect_costs.category "
                        "(une seule catégorie calculée possible)"
                    ),
                )
            elif category.computed and indirect is None:
                self.error(
                    _child(item_path, "computed"),
                    _(
                        "catégorie calculée alors que budget_model.indirect_costs est null "
                        "(aucun forfait défini)"
                    ),
                )
        model = BudgetModel(
            years=years,
            expense_categories=categories,
            funders=funders,
            indirect_costs=indirect,
            extensions=self.extensions(fields),
        )
        return model, years_readable, codes_readable

    def years(self, value: object, path: str) -> tuple[int, ...]:
        """The model's years: integers, unique, in increasing order; only the valid ones are returned."""
        items = self.array(value, path)
        if items is None:
            return ()
        if not items:
            self.error(path, _("au moins une année attendue"))
        years: list[int] = []
        for item_path, item in items:
            errors = len(self.errors)
            year = self.integer(item, item_path, minimum=MIN_YEAR, maximum=MAX_YEAR)
            if len(self.errors) > errors:
                continue
            if years and year <= years[-1]:
                self.error(
                    item_path,
                    _(
                        "années attendues uniques et en ordre croissant (%(year)d après %(previous)d)",
                        year=year,
                        previous=years[-1],
                    ),
                )
                continue
            years.append(year)
        return tuple(years)

    def expense_category(self, value: object, path: str) -> ExpenseCategory:
        fields = self.record(value, path, required=("code", "label"), optional=("computed",))
        computed = fields.get("computed", False)
        return ExpenseCategory(
            code=self.code(fields["code"], fields.at("code")),
            label=self.text(fields["label"], fields.at("label"), max_length=MAX_NAME_LENGTH),
            computed=self.boolean(computed, fields.at("computed")),
            extensions=self.extensions(fields),
        )

    def funder(self, value: object, path: str) -> Funder:
        fields = self.record(value, path, required=("code", "label", "group"))
        return Funder(
            code=self.code(fields["code"], fields.at("code")),
            label=self.text(fields["label"], fields.at("label"), max_length=MAX_NAME_LENGTH),
            group=cast(FunderGroup, self.choice(fields["group"], fields.at("group"), FUNDER_GROUPS)),
            extensions=self.extensions(fields),
        )

    def indirect_costs(
        self, value: object, path: str, categories: Sequence[ExpenseCategory]
    ) -> IndirectCostRule:
        fields = self.record(value, path, required=("category", "rate", "base_categories"))
        by_code = {category.code: category for category in categories}
        category = self.code(fields["category"], fields.at("category"))
        if category and category not in by_code:
            self.error(
                fields.at("category"),
                _("catégorie « %(code)s » absente de budget_model.expense_categories", code=category),
            )
        elif category and not by_code[category].computed:
            self.error(
                fields.at("category"),
                _('la catégorie « %(code)s » doit être déclarée calculée ("computed": true)', code=category),
            )
        base_items = self.array(fields["base_categories"], fields.at("base_categories"))
        base: list[str] = []
        for item_path, item in base_items or ():
            code = self.code(item, item_path)
            if not code:
                continue
            if code not in by_code:
                self.error(
                    item_path,
                    _("catégorie « %(code)s » absente de budget_model.expense_categories", code=code),
                )
            elif by_code[code].computed or code == category:
                self.error(item_path, _("une catégorie calculée ne peut pas servir de base au forfait"))
            elif code in base:
                self.error(item_path, _("catégorie « %(code)s » en double", code=code))
            base.append(code)
        if base_items is not None and not base_items:
            self.error(fields.at("base_categories"), _("au moins une catégorie de base attendue"))
        return IndirectCostRule(
            category=category,
            rate=self.rate(fields["rate"], fields.at("rate")),
            base_categories=tuple(base),
            extensions=self.extensions(fields),
        )

    def each(
        self, items: Sequence[tuple[str, Any]] | None, read: Callable[[object, str], T]
    ) -> list[tuple[str, T, bool]]:
        """Each item read, with its path and whether it was read without error."""
        results = []
        for item_path, item in items or ():
            errors = len(self.errors)
            results.append((item_path, read(item, item_path), len(self.errors) == errors))
        return results

    def indicators(self, value: object, path: str) -> tuple[tuple[Indicator, ...], bool, frozenset[str]]:
        """The indicators, whether the list could be read, and the codes of those read with errors."""
        items = self.array(value, path)
        read = self.each(items, self.indicator)
        indicators = tuple(indicator for _path, indicator, _ok in read)
        # An indicator read with errors may have a placeholder per_year: checks depending on it are
        # skipped rather than reported as a second, misleading error.
        uncertain = frozenset(indicator.code for _path, indicator, ok in read if not ok)
        self.unique_codes(((_child(p, "code"), i.code) for p, i, _ok in read), _("indicateur"))
        by_code = {indicator.code: indicator for indicator in indicators}
        for item_path, indicator, _ok in read:
            if not indicator.part_of:
                continue
            parent = by_code.get(indicator.part_of)
            where = _child(item_path, "part_of")
            if parent is None:
                self.error(where, _("indicateur « %(code)s » absent de indicators", code=indicator.part_of))
            elif parent.code == indicator.code:
                self.error(where, _("un indicateur ne peut pas faire partie de lui-même"))
            elif parent.per_year != indicator.per_year and not {parent.code, indicator.code} & uncertain:
                self.error(
                    where,
                    _(
                        "« %(code)s » et son parent « %(parent)s » doivent être tous deux annuels "
                        "ou tous deux globaux (per_year)",
                        code=indicator.code,
                        parent=parent.code,
                    ),
                )
            elif self._is_in_cycle(indicator, by_code):
                self.error(
                    where, _("cycle dans les part_of (un indicateur finit par faire partie de lui-même)")
                )
        return indicators, items is not None, uncertain

    @staticmethod
    def _is_in_cycle(indicator: Indicator, by_code: Mapping[str, Indicator]) -> bool:
        seen = {indicator.code}
        current = indicator
        while current.part_of is not None and current.part_of in by_code:
            current = by_code[current.part_of]
            if current.code in seen:
                return True
            seen.add(current.code)
        return False

    def indicator(self, value: object, path: str) -> Indicator:
        fields = self.record(value, path, required=("code", "label", "kind", "per_year", "part_of"))
        part_of = fields["part_of"]
        return Indicator(
            code=self.code(fields["code"], fields.at("code")),
            label=self.text(fields["label"], fields.at("label"), max_length=MAX_NAME_LENGTH),
            kind=cast(IndicatorKind, self.choice(fields["kind"], fields.at("kind"), INDICATOR_KINDS)),
            per_year=self.boolean(fields["per_year"], fields.at("per_year")),
            part_of=None if part_of is None else self.code(part_of, fields.at("part_of")),
            extensions=self.extensions(fields),
        )

    def sections(self, value: object, path: str) -> tuple[tuple[Section, ...], bool, frozenset[str]]:
        """The sections, whether the list could be read, and the codes of those read with errors."""
        items = self.array(value, path)
        read = self.each(items, self.section)
        sections = tuple(section for _path, section, _ok in read)
        uncertain = frozenset(section.code for _path, section, ok in read if not ok)
        pairs = list(zip(items or (), sections, strict=True))
        self.unique_codes(((_child(p, "code"), s.code) for (p, _v), s in pairs), _("section"))
        positions: dict[int, str] = {}
        for (item_path, item), section in pairs:
            if not isinstance(item, dict) or type(item.get("position")) is not int or section.position < 0:
                continue
            if section.position in positions:
                self.error(
                    _child(item_path, "position"),
                    _(
                        "position %(position)d déjà prise par %(other)s",
                        position=section.position,
                        other=positions[section.position],
                    ),
                )
            else:
                positions[section.position] = item_path
        return sections, items is not None, uncertain

    def section(self, value: object, path: str) -> Section:
        fields = self.record(
            value,
            path,
            required=(
                "code",
                "position",
                "title",
                "guidance",
                "scope",
                "max_chars",
                "max_chars_per_partner",
                "generated",
                "content",
                "status",
            ),
        )
        content = fields["content"]
        return Section(
            code=self.code(fields["code"], fields.at("code")),
            position=self.integer(fields["position"], fields.at("position"), minimum=0),
            title=self.text(fields["title"], fields.at("title"), max_length=MAX_NAME_LENGTH),
            guidance=self.text(
                fields["guidance"],
                fields.at("guidance"),
                max_length=MAX_GUIDANCE_LENGTH,
                blank=True,
                multiline=True,
            ),
            scope=cast(SectionScope, self.choice(fields["scope"], fields.at("scope"), SECTION_SCOPES)),
            max_chars=self.optional_integer(fields["max_chars"], fields.at("max_chars"), minimum=1),
            max_chars_per_partner=self.optional_integer(
                fields["max_chars_per_partner"], fields.at("max_chars_per_partner"), minimum=1
            ),
            generated=self.boolean(fields["generated"], fields.at("generated")),
            content=None if content is None else self.html(content, fields.at("content")),
            status=cast(SectionStatus, self.choice(fields["status"], fields.at("status"), SECTION_STATUSES)),
            extensions=self.extensions(fields),
        )

    # --- partners ----------------------------------------------------------------------------

    def partners(
        self,
        value: object,
        path: str,
        model: _Model,
        budget_model: BudgetModel,
        indicators: Sequence[Indicator],
    ) -> tuple[Partner, ...]:
        items = self.array(value, path)
        partners = tuple(
            self.partner(item, item_path, model, budget_model, indicators) for item_path, item in items or ()
        )
        self.unique_codes(
            ((_child(p, "id"), partner.id) for (p, _v), partner in zip(items or (), partners, strict=True)),
            _("partenaire"),
        )
        # One establishment cannot be two partners.
        self.unique_codes(
            (
                (_child(p, "siret"), partner.siret or "")
                for (p, _v), partner in zip(items or (), partners, strict=True)
            ),
            _("SIRET"),
        )
        if items is not None and not items:
            self.error(path, _("au moins un partenaire attendu (le chef de file)"))
        return partners

    def _lead(self, consortium: ConsortiumInfo, partners: Sequence[Partner], fields: _Fields) -> None:
        partners_path = fields.at("partners")
        # A role that could not be read is already reported; counting leads without it would add
        # a second, misleading error.
        if not partners or any(partner.role not in PARTNER_ROLES for partner in partners):
            return
        leads = [(i, partner) for i, partner in enumerate(partners) if partner.role == "lead"]
        if len(leads) != 1:
            self.error(
                partners_path,
                _(
                    "un seul partenaire de rôle « lead » attendu, trouvé %(count)d (%(ids)s)",
                    count=len(leads),
                    ids=", ".join(partner.id for _i, partner in leads) or "-",
                ),
            )
        lead_id = consortium.lead_partner
        if not lead_id:
            return
        indexes = [i for i, partner in enumerate(partners) if partner.id == lead_id]
        if not indexes:
            self.error(
                _child(fields.at("consortium"), "lead_partner"),
                _("partenaire « %(id)s » absent de partners", id=lead_id),
            )
        elif partners[indexes[0]].role != "lead":
            self.error(
                _child(_index(partners_path, indexes[0]), "role"),
                _("« %(id)s » est consortium.lead_partner : son rôle doit être « lead »", id=lead_id),
            )

    def partner(
        self,
        value: object,
        path: str,
        model: _Model,
        budget_model: BudgetModel,
        indicators: Sequence[Indicator],
    ) -> Partner:
        fields = self.record(
            value,
            path,
            required=(
                "id",
                "name",
                "kind",
                "departement",
                "territory",
                "siret",
                "role",
                "status",
                "contacts",
                "staff_fte",
                "sections",
                "budget",
                "indicators",
                "sign_off",
            ),
        )
        siret = fields["siret"]
        sign_off = fields["sign_off"]
        return Partner(
            id=self.code(fields["id"], fields.at("id")),
            name=self.text(fields["name"], fields.at("name"), max_length=MAX_NAME_LENGTH),
            kind=self.text(fields["kind"], fields.at("kind"), max_length=MAX_NAME_LENGTH, blank=True),
            departement=self.text(
                fields["departement"], fields.at("departement"), max_length=MAX_DEPARTEMENT_LENGTH, blank=True
            ),
            territory=self.text(
                fields["territory"], fields.at("territory"), max_length=MAX_NAME_LENGTH, blank=True
            ),
            siret=None if siret is None else self.siret(siret, fields.at("siret")),
            role=cast(PartnerRole, self.choice(fields["role"], fields.at("role"), PARTNER_ROLES)),
            status=cast(PartnerStatus, self.choice(fields["status"], fields.at("status"), PARTNER_STATUSES)),
            contacts=self.contacts(fields["contacts"], fields.at("contacts")),
            staff_fte=self.staff_fte(fields["staff_fte"], fields.at("staff_fte")),
            sections=self.partner_sections(fields["sections"], fields.at("sections"), model),
            budget=self.partner_budget(fields["budget"], fields.at("budget"), model, budget_model),
            indicators=self.partner_indicators(
                fields["indicators"], fields.at("indicators"), model, budget_model, indicators
            ),
            sign_off=None if sign_off is None else self.sign_off(sign_off, fields.at("sign_off")),
            extensions=self.extensions(fields),
        )

    def siret(self, value: object, path: str) -> str:
        if value is _MISSING:
            return ""
        if not isinstance(value, str):
            self.error(
                path,
                _("SIRET attendu (chaîne de 14 chiffres) ou null, trouvé : %(type)s", type=_type_name(value)),
            )
            return ""
        if not is_valid_siret(value):
            self.error(
                path,
                _(
                    "SIRET invalide « %(value)s » "
                    "(attendu : 14 chiffres sans espace, clé de contrôle correcte)",
                    value=_shorten(value),
                ),
            )
        return value

    def contacts(self, value: object, path: str) -> tuple[Contact, ...]:
        contacts = []
        for item_path, item in self.array(value, path) or ():
            fields = self.record(item, item_path, required=("role", "email"))
            contacts.append(
                Contact(
                    role=self.text(fields["role"], fields.at("role"), max_length=MAX_NAME_LENGTH),
                    email=self.email(fields["email"], fields.at("email")),
                    extensions=self.extensions(fields),
                )
            )
        return tuple(contacts)

    def staff_fte(self, value: object, path: str) -> dict[str, Decimal]:
        staff = {}
        for function, fte in self.mapping(value, path).items():
            where = _child(path, function)
            if not _SLUG.match(function) or len(function) > MAX_CODE_LENGTH:
                self.error(
                    where,
                    _(
                        "code de fonction invalide (attendu : minuscules sans accent, chiffres, "
                        "« _ » ou « - », 64 caractères au plus)"
                    ),
                )
            staff[function] = self.fte(fte, where)
        return staff

    def partner_sections(self, value: object, path: str, model: _Model) -> dict[str, str]:
        texts = {}
        for code, html in self.mapping(value, path).items():
            where = _child(path, code)
            if model.partner_sections is not None and code not in model.partner_sections:
                self.error(
                    where,
                    _(
                        "section inconnue ou sans partie par partenaire (attendu : une section de portée "
                        "per_partner ou shared_and_per_partner : %(codes)s)",
                        codes=", ".join(sorted(model.partner_sections)) or "-",
                    ),
                )
            texts[code] = self.html(html, where)
        return texts

    def _year_key(self, key: str, path: str, model: _Model) -> int | None:
        if not _YEAR_KEY.match(key) or (model.years is not None and int(key) not in model.years):
            self.error(
                path,
                _(
                    "année inconnue (attendu : une année de budget_model.years : %(years)s)",
                    years=", ".join(str(year) for year in sorted(model.years or ())) or "-",
                ),
            )
            return None
        return int(key)

    def partner_budget(
        self, value: object, path: str, model: _Model, budget_model: BudgetModel
    ) -> dict[int, YearBudget]:
        given: dict[int, YearBudget] = {}
        for key, year_value in self.mapping(value, path).items():
            year_path = _child(path, key)
            year = self._year_key(key, year_path, model)
            fields = self.record(
                year_value, year_path, required=(), optional=("expenses", "resources"), extensions=False
            )
            expenses = self.amounts(
                fields.get("expenses", {}),
                fields.at("expenses"),
                model.categories,
                _("catégorie de dépense inconnue : absente de budget_model.expense_categories"),
            )
            resources = self.amounts(
                fields.get("resources", {}),
                fields.at("resources"),
                model.funders,
                _("financeur inconnu : absent de budget_model.funders"),
            )
            if year is not None:
                # A value given for the computed category is replaced by the flat rate (not an error).
                given[year] = budget_model.complete_year(expenses, resources)
        return {
            year: given[year] if year in given else budget_model.complete_year({}, {})
            for year in budget_model.years
        }

    def amounts(
        self, value: object, path: str, known: frozenset[str] | None, unknown_message: str
    ) -> dict[str, Decimal]:
        amounts = {}
        for code, amount in self.mapping(value, path).items():
            code_path = _child(path, code)
            if known is not None and code not in known:
                self.error(code_path, unknown_message)
            amounts[code] = self.money(amount, code_path)
        return amounts

    def partner_indicators(
        self,
        value: object,
        path: str,
        model: _Model,
        budget_model: BudgetModel,
        indicators: Sequence[Indicator],
    ) -> PartnerIndicators:
        fields = self.record(value, path, required=(), optional=("per_year", "totals"), extensions=False)
        per_year_codes = [i.code for i in indicators if i.per_year]
        total_codes = [i.code for i in indicators if not i.per_year]
        per_year: dict[int, dict[str, int]] = {}
        per_year_path = fields.at("per_year")
        for key, counts in self.mapping(fields.get("per_year", {}), per_year_path).items():
            year_path = _child(per_year_path, key)
            year = self._year_key(key, year_path, model)
            values = self.counts(
                counts, year_path, model.per_year_indicators, model.total_indicators, annual=True
            )
            if year is not None:
                per_year[year] = values
        totals_path = fields.at("totals")
        totals = self.counts(
            fields.get("totals", {}),
            totals_path,
            model.total_indicators,
            model.per_year_indicators,
            annual=False,
        )
        return PartnerIndicators(
            per_year={
                year: {code: per_year.get(year, {}).get(code, 0) for code in per_year_codes}
                for year in budget_model.years
            },
            totals={code: totals.get(code, 0) for code in total_codes},
        )

    def counts(
        self,
        value: object,
        path: str,
        known: frozenset[str] | None,
        elsewhere: frozenset[str] | None,
        *,
        annual: bool,
    ) -> dict[str, int]:
        counts = {}
        for code, count in self.mapping(value, path).items():
            code_path = _child(path, code)
            if known is not None and code not in known:
                if elsewhere is not None and code in elsewhere:
                    message = (
                        _("indicateur global (per_year: false) : sa valeur va dans indicators.totals")
                        if annual
                        else _(
                            "indicateur annuel (per_year: true) : ses valeurs vont dans indicators.per_year"
                        )
                    )
                else:
                    message = _("indicateur inconnu : absent de indicators")
                self.error(code_path, message)
            counts[code] = self.integer(count, code_path, minimum=0)
        return counts

    def sign_off(self, value: object, path: str) -> SignOff:
        fields = self.record(value, path, required=("by", "at", "digest"))
        digest = fields["digest"]
        if digest is not _MISSING and (not isinstance(digest, str) or not _DIGEST.match(digest)):
            self.error(
                fields.at("digest"),
                _("empreinte invalide (attendu : SHA-256 en 64 caractères hexadécimaux minuscules)"),
            )
        return SignOff(
            by=self.email(fields["by"], fields.at("by")),
            at=self.timestamp(fields["at"], fields.at("at")),
            digest=digest if isinstance(digest, str) else "",
            extensions=self.extensions(fields),
        )


def _shorten(text: str, limit: int = 60) -> str:
    # Values echoed in messages are cut (a hostile 1 MB string must not become a 1 MB error) and
    # their control characters spelled out (an error message must be printable and storable).
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return _CONTROL.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def _show(value: object) -> str:
    if isinstance(value, str):
        return f"« {_shorten(value)} »"
    if value is _MISSING:
        return _("rien")
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bool | int | float) or value is None:
        return json.dumps(value)
    return _type_name(value)


def _placeholder_document() -> ExchangeDocument:
    # Returned only alongside errors, so that the reader's signature stays simple.
    return ExchangeDocument(
        exported_at=datetime.min,
        call=Call(
            code="", name="", programme=None, operator=None, submission_deadline=None, rules=CallRules()
        ),
        consortium=ConsortiumInfo(
            slug="",
            title="",
            acronym="",
            lead_partner="",
            status="draft",
            project_start=date.min,
            project_end=date.min,
        ),
        budget_model=BudgetModel(years=(), expense_categories=(), funders=(), indirect_costs=None),
        indicators=(),
        sections=(),
        partners=(),
    )
