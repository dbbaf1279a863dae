"""How an event reads in the feed: its object, its old → new values and a note, one describer per kind
(or per family of kinds that read alike), from the event's stored data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from app.money import format_eur, format_number

STATUS_LABELS = {
    "todo": "À rédiger",
    "in_progress": "En cours",
    "in_review": "À relire",
    "validated": "Validé",
}
ROLE_LABELS = {
    "coordinator": "Coordination",
    "director": "Direction",
    "contributor": "Contribution",
    "reader": "Lecture",
}
SETTING_LABELS = {
    "title": "Titre",
    "acronym": "Acronyme",
    "project_start": "Début du projet",
    "project_end": "Fin du projet",
    "years": "Années",
    "indirect_rate": "Taux des coûts indirects",
    "indirect_category": "Catégorie des coûts indirects",
    "indirect_base": "Base des coûts indirects",
}


@dataclass
class Change:
    """One line of « what changed »: a name, the old value and the new one (either may be empty)."""

    what: str
    old: str = ""
    new: str = ""


@dataclass
class Description:
    """What the feed says of an event beyond its label: the object, the changes, a note."""

    subject: str = ""
    changes: list[Change] = field(default_factory=list)
    note: str = ""


# `name(what, key)` turns stored identifiers into names ("section", "partner", "partner_id",
# "user_id", "user_email", "category", "funder", "indicator", "annex_kind").
Namer = Callable[[str, Any], str]
Describer = Callable[[dict[str, Any], Namer], Description]


def _eur(value: Any) -> str:
    if value in (None, ""):
        return "—"
    try:
        return format_eur(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return str(value)


def _decimal(value: Any) -> str:
    if value in (None, ""):
        return "—"
    try:
        return format_number(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return str(value)


def _integer(value: Any) -> str:
    try:
        return f"{int(value):,}".replace(",", "\u202f")
    except (TypeError, ValueError):
        return "—" if value is None else str(value)


def _chars(value: Any) -> str:
    if value is None:
        return "—"
    number = _integer(value)
    return f"{number} caractère" + ("s" if str(value) not in ("0", "1") else "")


def _date(value: Any) -> str:
    if not value:
        return "—"
    text = str(value)
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        return f"{text[8:10]}/{text[5:7]}/{text[0:4]}"
    return text


def _plain(value: Any) -> str:
    """Any stored value as short French text."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, list):
        return ", ".join(_plain(item) for item in value) or "—"
    if isinstance(value, dict):
        return ", ".join(f"{key} : {_plain(item)}" for key, item in value.items())
    text = str(value)
    if len(text) == 10 and text[4:5] == "-" and text[7:8] == "-" and text[:4].isdigit():
        return _date(text)
    return text if len(text) <= 120 else text[:119] + "…"


def _text_change(old: Any, new: Any) -> Change:
    # Long texts are not repeated in the feed: their length says what happened.
    old_text, new_text = str(old or ""), str(new or "")
    if len(old_text) > 80 or len(new_text) > 80:
        return Change("Texte", _chars(len(old_text)), _chars(len(new_text)))
    return Change("Texte", old_text or "—", new_text or "—")


def _mapping(value: Any) -> dict[str, Any]:
    """A stored object, or an empty one when the event kept something else."""
    return value if isinstance(value, dict) else {}


def _changes_of(data: dict[str, Any], label: Callable[[str], str]) -> list[Change]:
    """The `changes` of an event stored as {key: {old, new}} or {key: [old, new]}, in French."""
    changes = []
    for key, pair in _mapping(data.get("changes")).items():
        if isinstance(pair, dict) and {"old", "new"} <= pair.keys():
            changes.append(Change(label(key), _plain(pair["old"]), _plain(pair["new"])))
        elif isinstance(pair, list | tuple) and len(pair) == 2:
            changes.append(Change(label(key), _plain(pair[0]), _plain(pair[1])))
    return changes


# --- One describer per kind (or per family of kinds that read alike) -----------------------------


def nothing(data: dict[str, Any], name: Namer) -> Description:
    return Description()


def section_only(data: dict[str, Any], name: Namer) -> Description:
    code = data.get("section") or data.get("code")
    return Description(subject=name("section", code) if code else "")


def titled_section(data: dict[str, Any], name: Namer) -> Description:
    # A chapter added, archived or brought back: its title as it was then.
    result = section_only(data, name)
    if data.get("title"):
        result.subject = str(data["title"])
    return result


def text_length(data: dict[str, Any], name: Namer) -> Description:
    result = section_only(data, name)
    result.changes.append(Change("Longueur", _chars(data.get("old_chars")), _chars(data.get("new_chars"))))
    if data.get("restored"):
        result.note = f"Version {data['restored']} restaurée"
    return result


def status_changed(data: dict[str, Any], name: Namer) -> Description:
    result = section_only(data, name)
    old, new = str(data.get("old")), str(data.get("new"))
    result.changes.append(
        Change(
            "Statut",
            STATUS_LABELS.get(old, _plain(data.get("old"))),
            STATUS_LABELS.get(new, _plain(data.get("new"))),
        )
    )
    if data.get("reason") == "edited_after_validation":
        result.note = "Texte modifié après sa validation"
    return result


def writer_assigned(data: dict[str, Any], name: Namer) -> Description:
    result = section_only(data, name)
    old, new = _mapping(data.get("old")), _mapping(data.get("new"))
    for key, label in (("writer_partner_id", "Membre rédacteur"), ("writer_user_id", "Personne")):
        if old.get(key) != new.get(key):
            result.changes.append(Change(label, name(key, old.get(key)), name(key, new.get(key))))
    if old.get("due_date") != new.get("due_date"):
        result.changes.append(Change("Échéance", _date(old.get("due_date")), _date(new.get("due_date"))))
    return result


def comment_added(data: dict[str, Any], name: Namer) -> Description:
    result = section_only(data, name)
    if data.get("reply_to"):
        result.note = "Réponse dans une discussion"
    return result


def section_moved(data: dict[str, Any], name: Namer) -> Description:
    result = section_only(data, name)
    result.changes.append(Change("Position", _plain(data.get("old")), _plain(data.get("new"))))
    return result


def section_updated(data: dict[str, Any], name: Namer) -> Description:
    result = section_only(data, name)
    result.changes.extend(_changes_of(data, _section_field))
    return result


def amount_changed(data: dict[str, Any], name: Namer) -> Description:
    resource = data.get("side") == "resource"
    what = name("funder" if resource else "category", data.get("code"))
    subject = f"{'Ressource' if resource else 'Dépense'} · {what} · {data.get('year', '')}".strip(" ·")
    old, new = _mapping(data.get("old")), _mapping(data.get("new"))
    return Description(subject, [Change("Montant", _eur(old.get("amount")), _eur(new.get("amount")))])


def staff_changed(data: dict[str, Any], name: Namer) -> Description:
    old, new = _mapping(data.get("old")), _mapping(data.get("new"))
    return Description(
        _plain(data.get("function")),
        [
            Change("ETP", _decimal(old.get("fte")), _decimal(new.get("fte"))),
            Change("Coût annuel", _eur(old.get("annual_cost")), _eur(new.get("annual_cost"))),
        ],
    )


def indicator_changed(data: dict[str, Any], name: Namer) -> Description:
    old, new = _mapping(data.get("old")), _mapping(data.get("new"))
    subject = f"{name('indicator', data.get('code'))} · {data.get('year', '')}".strip(" ·")
    return Description(subject, [Change("Valeur", _plain(old.get("value")), _plain(new.get("value")))])


def reminder_sent(data: dict[str, Any], name: Namer) -> Description:
    recipients = data.get("recipients") or []
    result = Description(note=f"{len(recipients)} destinataire" + ("s" if len(recipients) > 1 else ""))
    if data.get("automatic"):
        result.note += " · relance automatique"
    if data.get("items"):
        result.subject = "Reste à fournir : " + ", ".join(str(item) for item in data["items"][:5])
    return result


def partner_status(data: dict[str, Any], name: Namer) -> Description:
    result = Description()
    states = {"active": "Actif", "withdrawn": "Retiré"}
    if data.get("old") in states and data.get("new") in states:
        result.changes.append(Change("Statut", states[data["old"]], states[data["new"]]))
    if data.get("reason"):
        result.note = f"Raison : « {_plain(data['reason'])} »"
    return result


def lead_changed(data: dict[str, Any], name: Namer) -> Description:
    old, new = name("partner", data.get("old")), name("partner", data.get("new"))
    return Description(changes=[Change("Chef de file", old, new)])


def joining(data: dict[str, Any], name: Namer) -> Description:
    who = data.get("organisation") or data.get("email")
    result = Description(subject=_plain(who) if who else "")
    if data.get("role"):
        result.note = f"Rôle : {ROLE_LABELS.get(str(data['role']), _plain(data['role']))}"
    return result


def role(data: dict[str, Any], name: Namer) -> Description:
    old, new = data.get("old"), data.get("new")
    old_role = old.get("role") if isinstance(old, dict) else old
    new_role = new.get("role") if isinstance(new, dict) else new
    change = Change(
        "Rôle",
        ROLE_LABELS.get(str(old_role), "—") if old_role else "—",
        ROLE_LABELS.get(str(new_role), "—") if new_role else "—",
    )
    return Description(name("user_email", data.get("user")), [change])


def settings_changed(data: dict[str, Any], name: Namer) -> Description:
    return Description(changes=_changes_of(data, lambda key: SETTING_LABELS.get(key, key)))


def intro_changed(data: dict[str, Any], name: Namer) -> Description:
    # Long texts are not repeated in the feed: their length says what happened.
    old_text, new_text = str(data.get("old") or ""), str(data.get("new") or "")
    if len(old_text) > 80 or len(new_text) > 80:
        return Description(changes=[Change("Texte", _chars(len(old_text)), _chars(len(new_text)))])
    return Description(changes=[Change("Texte", old_text or "—", new_text or "—")])


def budget_line(data: dict[str, Any], name: Namer) -> Description:
    return Description(subject=_plain(data.get("label") or data.get("code")))


def budget_line_renamed(data: dict[str, Any], name: Namer) -> Description:
    result = budget_line(data, name)
    result.changes.append(Change("Libellé", _plain(data.get("old")), _plain(data.get("new"))))
    return result


def budget_line_moved(data: dict[str, Any], name: Namer) -> Description:
    result = budget_line(data, name)
    result.changes.append(Change("Position", _plain(data.get("old")), _plain(data.get("new"))))
    return result


def budget_line_changed(data: dict[str, Any], name: Namer) -> Description:
    result = budget_line(data, name)
    result.changes.extend(_changes_of(data, lambda key: key))
    return result


def exported(data: dict[str, Any], name: Namer) -> Description:
    fmt = data.get("format")
    return Description(note=f"Format : {str(fmt).upper()}" if fmt else "")


def frozen(data: dict[str, Any], name: Namer) -> Description:
    result = Description(subject=f"Version n° {data.get('number', '?')}")
    if data.get("pages"):
        result.note = f"{_integer(data['pages'])} pages"
    return result


def annex_uploaded(data: dict[str, Any], name: Namer) -> Description:
    kind_name = name("annex_kind", data.get("annex_kind") or data.get("kind"))
    result = Description(subject=f"{kind_name} · {_plain(data.get('filename'))}")
    if data.get("size"):
        result.note = _size(data["size"])
    return result


def annex_requirements(data: dict[str, Any], name: Namer) -> Description:
    old = ", ".join(name("annex_kind", item) for item in data.get("old") or []) or "aucune"
    new = ", ".join(name("annex_kind", item) for item in data.get("new") or []) or "aucune"
    return Description(changes=[Change("Pièces exigées", old, new)])


def milestone(data: dict[str, Any], name: Namer) -> Description:
    result = Description(subject=_plain(data.get("title")), changes=_changes_of(data, _milestone_field))
    if data.get("due_date"):
        result.note = f"Échéance : {_date(data['due_date'])}"
    return result


def unknown(data: dict[str, Any], name: Namer) -> Description:
    # A kind this version does not know (an older or newer log): its plain old → new when it has one.
    if "old" in data or "new" in data:
        return Description(changes=[Change("Valeur", _plain(data.get("old")), _plain(data.get("new")))])
    return Description()


def _section_field(key: str) -> str:
    return {
        "title": "Titre",
        "guidance": "Consignes",
        "scope": "Portée",
        "max_chars": "Limite de caractères",
        "max_chars_per_partner": "Limite par membre",
    }.get(key, key)


def _milestone_field(key: str) -> str:
    return {
        "title": "Intitulé",
        "due_date": "Date",
        "covers": "Porte sur",
        "remind_days_before": "Relance (jours avant)",
    }.get(key, key)


def _size(value: Any) -> str:
    try:
        size = int(value)
    except (TypeError, ValueError):
        return ""
    if size < 1024:
        return f"{size} octets"
    if size < 1024 * 1024:
        return f"{_integer(round(size / 1024))} Ko"
    return f"{format_number(Decimal(size) / Decimal(1024 * 1024)).rstrip('0').rstrip(',')} Mo"
