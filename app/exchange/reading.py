"""The generic part of reading an exchange document: JSON decoding, paths, objects and lists.

`Reader` walks decoded JSON collecting every error as "<json path>: <message>"; the scalar
values are read by `app.exchange.scalars`, the document's parts by the `*_validation` modules.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, TypeVar, cast

from flask_babel import gettext as _

from app.exchange.document import Extensions
from app.richtext import CONTROL_CHARACTERS

ROOT_PATH: Final = "$"

_PATH_KEY = re.compile(r"\A[A-Za-z0-9_-]+\Z")

# A key that is absent; getters return a placeholder for it without reporting anything, since
# the missing key (or the enclosing object that is not one) has been reported already.
MISSING: Final = object()

T = TypeVar("T")


# --- decoding --------------------------------------------------------------------------------


class NonFiniteNumber(ValueError):
    """NaN or Infinity in JSON text: Python accepts them, JSON does not."""

    def __init__(self, constant: str) -> None:
        super().__init__(constant)
        self.constant = constant


def _refuse_constant(constant: str) -> object:
    raise NonFiniteNumber(constant)


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


def decode_json(text: str) -> object:
    """Decode JSON keeping numbers as written and repeated keys; raises as json.loads, or NonFiniteNumber."""
    return json.loads(
        text,
        # Decimal keeps the number as written: 1.005 stays 1.005 and 1e3 stays an exponent,
        # so the money rules can refuse them instead of seeing a float.
        parse_float=Decimal,
        parse_constant=_refuse_constant,
        object_pairs_hook=_JsonObject.from_pairs,
    )


def duplicate_key_paths(value: object) -> Iterator[str]:
    """The path of every key repeated in an object of `decode_json`'s result."""
    # A stack rather than recursion: the walk must not fail where json.loads succeeded.
    stack: list[tuple[object, str]] = [(value, "")]
    while stack:
        current, where = stack.pop()
        if isinstance(current, dict):
            if isinstance(current, _JsonObject):
                for key in dict.fromkeys(current.duplicates):
                    yield child_path(where, key)
            stack.extend((child, child_path(where, key)) for key, child in reversed(current.items()))
        elif isinstance(current, list):
            stack.extend((child, index_path(where, i)) for i, child in reversed(list(enumerate(current))))


# --- paths and values in messages ------------------------------------------------------------


def child_path(path: str, key: str) -> str:
    """The path of an object's key, quoted when the key could confuse the path."""
    if _PATH_KEY.match(key):
        return f"{path}.{key}" if path else key
    # Keys that could confuse the path (dots, spaces, brackets, controls) are quoted and escaped.
    return f"{path}[{json.dumps(key[:80])}]"


def index_path(path: str, index: int) -> str:
    """The path of a list's item."""
    return f"{path or ROOT_PATH}[{index}]"


def type_name(value: object) -> str:
    """The JSON type of a value, in French, for "expected X, found Y" messages."""
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


def shorten(text: str, limit: int = 60) -> str:
    """A string cut and with its control characters spelled out, to be echoed in a message."""
    # A hostile 1 MB string must not become a 1 MB error, and a message must be printable and storable.
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return CONTROL_CHARACTERS.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def show_value(value: object) -> str:
    """A value as echoed in a message: strings quoted and shortened, numbers as JSON, others by type."""
    if isinstance(value, str):
        return f"« {shorten(value)} »"
    if value is MISSING:
        return _("rien")
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bool | int | float) or value is None:
        return json.dumps(value)
    return type_name(value)


# --- reading ---------------------------------------------------------------------------------


@dataclass
class Fields:
    """The keys of one JSON object being read, with the path to each."""

    path: str
    values: Mapping[str, Any] | None

    def __getitem__(self, key: str) -> object:
        if self.values is None or key not in self.values:
            return MISSING
        return self.values[key]

    def get(self, key: str, default: object = None) -> object:
        """The value of an optional key, or the default when it is absent."""
        if self.values is None:
            return MISSING
        return self.values.get(key, default)

    def has(self, key: str) -> bool:
        """Whether the object has the key (False when it is not an object)."""
        return self.values is not None and key in self.values

    def at(self, key: str) -> str:
        """The path of the key's value."""
        return child_path(self.path, key)

    @property
    def valid(self) -> bool:
        """Whether the value read was a JSON object."""
        return self.values is not None


class Reader:
    """Walks a decoded document once, collecting every error and building the document anyway.

    On an error a getter returns a placeholder of the right type, so reading goes on and finds
    the other errors; the placeholders never leave the package because any error raises.
    """

    def __init__(self) -> None:
        self.errors: list[str] = []

    def error(self, path: str, message: str) -> None:
        """Record a breach at a path (the root when the path is empty)."""
        self.errors.append(f"{path or ROOT_PATH}: {message}")

    def record(
        self,
        value: object,
        path: str,
        *,
        required: Sequence[str],
        optional: Sequence[str] = (),
        extensions: bool = True,
    ) -> Fields:
        """A JSON object with fixed keys: missing and unknown keys are reported."""
        if value is MISSING:
            return Fields(path, None)
        if not isinstance(value, dict):
            self.error(path, _("objet attendu, trouvé : %(type)s", type=type_name(value)))
            return Fields(path, None)
        allowed = [*required, *optional, *(["extensions"] if extensions else [])]
        for key in required:
            if key not in value:
                self.error(child_path(path, key), _("clé obligatoire manquante"))
        for key in value:
            if key not in allowed:
                self.error(
                    child_path(path, key),
                    _("clé inconnue (clés permises : %(keys)s)", keys=", ".join(allowed)),
                )
        return Fields(path, value)

    def mapping(self, value: object, path: str) -> Mapping[str, Any]:
        """A JSON object whose keys are codes (checked by the caller); empty if it is not one."""
        if value is MISSING:
            return {}
        if not isinstance(value, dict):
            self.error(path, _("objet attendu, trouvé : %(type)s", type=type_name(value)))
            return {}
        return cast(Mapping[str, Any], value)

    def array(self, value: object, path: str) -> list[tuple[str, Any]] | None:
        """The items of a JSON array with their paths; None if it is not one."""
        if value is MISSING:
            return None
        if not isinstance(value, list):
            self.error(path, _("liste attendue, trouvé : %(type)s", type=type_name(value)))
            return None
        return [(index_path(path, i), item) for i, item in enumerate(value)]

    def each(
        self, items: Sequence[tuple[str, Any]] | None, read: Callable[[object, str], T]
    ) -> list[tuple[str, T, bool]]:
        """Each item read, with its path and whether it was read without error."""
        results = []
        for item_path, item in items or ():
            errors = len(self.errors)
            results.append((item_path, read(item, item_path), len(self.errors) == errors))
        return results

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

    def extensions(self, fields: Fields) -> Extensions | None:
        """The object's "extensions", copied as plain JSON; None when absent."""
        if not fields.has("extensions"):
            return None
        path = fields.at("extensions")
        value = fields["extensions"]
        if not isinstance(value, dict):
            self.error(path, _("objet attendu, trouvé : %(type)s", type=type_name(value)))
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
                    self.error(child_path(path, key), _("caractère NUL interdit dans une clé"))
                copy[key] = self._plain_json(child, child_path(path, key))
            return copy
        if isinstance(value, list):
            return [self._plain_json(child, index_path(path, i)) for i, child in enumerate(value)]
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
        self.error(path, _("valeur non JSON : %(type)s", type=type_name(value)))
        return None
