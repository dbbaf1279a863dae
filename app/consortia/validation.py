"""What coordinators type, cleaned and checked: texts, identifiers, their limits, and errors by field.

Opening a consortium, its settings, its budget model and its chapter plan all report every field's
messages at once through `Errors` and `InvalidFields`.
"""

from __future__ import annotations

import re
import unicodedata

from flask_babel import gettext as _

from app.auth.services import check_email
from app.consortia.siret import is_valid_siret, normalise_siret
from app.errors import Invalid

CODE_PATTERN = re.compile(r"\A[a-z0-9_-]+\Z")
MAX_SLUG_LENGTH = 64
MAX_TITLE_LENGTH = 300
MAX_ACRONYM_LENGTH = 60

_LIGATURES = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss"})
# Direction marks and overrides (U+202E turns "exe.pdf" into "fdp.exe"), the byte-order mark.
_INVISIBLE = dict.fromkeys([0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0xFEFF])


def slug_from(text: str, *, separator: str = "-", max_length: int = MAX_SLUG_LENGTH) -> str:
    """An ASCII identifier made of the words of a text: « Île-de-France Œuvre » → `ile-de-france-oeuvre`."""
    ascii_text = unicodedata.normalize("NFKD", text.translate(_LIGATURES)).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    return separator.join(words)[:max_length].strip(separator)


def clean_line(text: str) -> str:
    """A one-line text as kept: NFC, spaces folded (newlines and tabs included), trimmed."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def clean_text(text: str) -> str:
    """A multi-line text as kept: NFC, Windows line ends unified, trimmed."""
    return unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n").strip()


def visible_line(text: str) -> str:
    """A one-line text from anyone, as stored: `clean_line` less controls and direction overrides."""
    text = unicodedata.normalize("NFC", text).translate(_INVISIBLE)
    return clean_line("".join(c for c in text if unicodedata.category(c) != "Cc" or c.isspace()))


def visible_text(text: str) -> str:
    """A multi-line text from anyone, as stored: NFC, Unix line breaks, no controls or direction overrides."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n").translate(_INVISIBLE)
    lines = (
        "".join(c for c in line if unicodedata.category(c) != "Cc" or c == "\t").rstrip()
        for line in text.split("\n")
    )
    return "\n".join(lines).strip()


class InvalidFields(Invalid):
    """Inputs breaking rules; `errors` maps each form field's name to its French messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(_("Certaines informations sont à corriger : voyez les messages sous les champs."))
        self.errors = errors


class Errors:
    """Collects the messages of every field, to report them all at once."""

    def __init__(self) -> None:
        self.by_field: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        """Note a message under a field."""
        self.by_field.setdefault(field, []).append(message)

    def __contains__(self, field: str) -> bool:
        return field in self.by_field

    def raise_if_any(self) -> None:
        """Raise InvalidFields when a message was noted."""
        if self.by_field:
            raise InvalidFields(self.by_field)


def check_text(errors: Errors, field: str, value: str, *, maximum: int, required: bool = True) -> None:
    """Note a missing text (when required) or one longer than `maximum` characters."""
    if required and not value:
        errors.add(field, _("Ce champ est obligatoire."))
    elif len(value) > maximum:
        errors.add(
            field,
            _(
                "%(count)s caractères au plus (vous en avez saisi %(typed)s).",
                count=maximum,
                typed=len(value),
            ),
        )


# --- Fields of the joining forms (volunteering, invitations) ---------------------------------------


class FieldInvalid(Invalid):
    """A rule broken by one field of a form: the page shows the message next to that field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


_DEPARTEMENT = re.compile(r"\A(?:0[1-9]|[1-8][0-9]|9[0-5]|2A|2B|97[1-8]|IDF)\Z")


def normalise_departements(text: str) -> str:
    """`93`, or several as `94/91`; accepts « 94, 91 », « 94 et 91 », « idf »."""
    parts: list[str] = []
    for part in re.split(r"[\s/,;+&]+", visible_line(text).upper()):
        if part in ("", "ET"):
            continue
        code = f"0{part}" if len(part) == 1 and part.isdigit() else part
        if not _DEPARTEMENT.match(code):
            raise FieldInvalid(
                "departement",
                _(
                    "Département non reconnu : « %(value)s ». Indiquez son numéro (93), "
                    "ou plusieurs numéros séparés par « / » (94/91).",
                    value=part,
                ),
            )
        if code not in parts:
            parts.append(code)
    if not parts:
        raise FieldInvalid("departement", _("Indiquez le ou les départements couverts (par exemple 93)."))
    result = "/".join(parts)
    if len(result) > 40:
        raise FieldInvalid("departement", _("Trop de départements : indiquez « IDF » pour toute la région."))
    return result


def checked_siret(text: str) -> str | None:
    """The SIRET without spaces, None when left empty; refused when its check digit is wrong."""
    value = normalise_siret(text)
    if not value:
        return None
    if not is_valid_siret(value):
        raise FieldInvalid(
            "siret",
            _(
                "Ce numéro SIRET n'est pas valide : il compte 14 chiffres dont le dernier est une clé de "
                "contrôle. Vérifiez-le (sur l'avis de situation Insee par exemple) ou laissez le champ vide."
            ),
        )
    return value


def required_line(value: str, field: str, limit: int, missing: str) -> str:
    text = visible_line(value)
    if not text:
        raise FieldInvalid(field, missing)
    if len(text) > limit:
        raise FieldInvalid(field, _("%(n)d caractères au plus.", n=limit))
    return text


def optional_line(value: str, field: str, limit: int) -> str:
    text = visible_line(value)
    if len(text) > limit:
        raise FieldInvalid(field, _("%(n)d caractères au plus.", n=limit))
    return text


def checked_email(value: str, field: str = "email") -> str:
    """The normalised address, or FieldInvalid saying how it looks wrong."""
    try:
        return check_email(visible_line(value))
    except Invalid:
        raise FieldInvalid(
            field, _("Adresse e-mail invalide : vérifiez-la (par exemple prenom.nom@plie-exemple.fr).")
        ) from None
