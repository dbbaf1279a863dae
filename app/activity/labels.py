"""What each kind of event is called in French, which group it belongs to, and how its change reads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from app.money import format_eur, format_number

# The feed's filter groups, in the order the filter lists them.
GROUP_LABELS = {
    "textes": "Textes",
    "chiffres": "Chiffres",
    "signatures": "Signatures",
    "membres": "Membres",
    "roles": "Rôles",
    "parametres": "Paramètres",
    "exports": "Exports",
    "depots": "Dépôts",
    "annexes": "Annexes",
    "echeances": "Échéances et relances",
}

KIND_LABELS: dict[str, tuple[str, str]] = {
    # kind: (group, French label)
    "section.edit": ("textes", "Texte modifié"),
    "section.merge": ("textes", "Texte fusionné avec une modification simultanée"),
    "section.conflict_copy": ("textes", "Copie de conflit conservée"),
    "section.restore": ("textes", "Ancienne version restaurée"),
    "section.import": ("textes", "Texte importé"),
    "section.status_changed": ("textes", "Statut d'un texte changé"),
    "section.writer_assigned": ("textes", "Rédaction confiée"),
    "section.comment_added": ("textes", "Commentaire ajouté"),
    "section.comment_resolved": ("textes", "Discussion résolue"),
    "section.comment_reopened": ("textes", "Discussion rouverte"),
    "section.added": ("textes", "Chapitre ajouté au plan"),
    "section.updated": ("textes", "Chapitre modifié"),
    "section.moved": ("textes", "Chapitre déplacé"),
    "section.archived": ("textes", "Chapitre retiré du plan (archivé)"),
    "section.deleted": ("textes", "Chapitre supprimé du plan"),
    "section.restored": ("textes", "Chapitre rétabli"),
    "budget.amount_changed": ("chiffres", "Montant du budget modifié"),
    "budget.staff_changed": ("chiffres", "Personnel (ETP) modifié"),
    "budget.indicator_changed": ("chiffres", "Indicateur modifié"),
    "budget.signed_off": ("signatures", "Engagements signés par la direction"),
    "budget.sign_off_voided": ("signatures", "Signature devenue caduque"),
    "budget.sign_off_reminded": ("signatures", "Relance de signature envoyée"),
    "partner.created": ("membres", "Membre ajouté au consortium"),
    "partner.withdrawn": ("membres", "Membre retiré du consortium"),
    "partner.reinstated": ("membres", "Membre réintégré"),
    "consortium.lead_changed": ("membres", "Chef de file changé"),
    "volunteer.requested": ("membres", "Candidature reçue"),
    "volunteer.accepted": ("membres", "Candidature acceptée"),
    "volunteer.declined": ("membres", "Candidature refusée"),
    "invitation.created": ("membres", "Invitation envoyée"),
    "invitation.revoked": ("membres", "Invitation annulée"),
    "invitation.resent": ("membres", "Invitation renvoyée"),
    "invitation.accepted": ("membres", "Invitation acceptée"),
    "account.created": ("membres", "Compte créé"),
    "account.password_set": ("membres", "Mot de passe défini"),
    "role.granted": ("roles", "Rôle attribué"),
    "role.changed": ("roles", "Rôle changé"),
    "role.revoked": ("roles", "Rôle retiré"),
    "consortium.opened": ("parametres", "Consortium ouvert"),
    "consortium.settings_changed": ("parametres", "Paramètres du consortium modifiés"),
    "volunteering.opened": ("parametres", "Appel à candidatures ouvert"),
    "volunteering.closed": ("parametres", "Appel à candidatures fermé"),
    "volunteering.intro_changed": ("parametres", "Texte de l'appel à candidatures modifié"),
    "budget_model.category_added": ("parametres", "Catégorie de dépenses ajoutée"),
    "budget_model.category_renamed": ("parametres", "Catégorie de dépenses renommée"),
    "budget_model.category_moved": ("parametres", "Catégorie de dépenses déplacée"),
    "budget_model.category_removed": ("parametres", "Catégorie de dépenses retirée"),
    "budget_model.funder_added": ("parametres", "Financeur ajouté"),
    "budget_model.funder_changed": ("parametres", "Financeur modifié"),
    "budget_model.funder_moved": ("parametres", "Financeur déplacé"),
    "budget_model.funder_removed": ("parametres", "Financeur retiré"),
    "consortium.exported": ("exports", "Consortium exporté"),
    "consortium.imported": ("exports", "Consortium importé"),
    "dossier.exported": ("exports", "Dossier exporté"),
    "dossier.frozen": ("depots", "Version du dossier figée"),
    "consortium.submitted": ("depots", "Dossier déposé"),
    "annex.uploaded": ("annexes", "Annexe déposée"),
    "annex.requirements_changed": ("annexes", "Pièces exigées modifiées"),
    "milestone.added": ("echeances", "Échéance ajoutée"),
    "milestone.changed": ("echeances", "Échéance modifiée"),
    "milestone.removed": ("echeances", "Échéance supprimée"),
    "reminder.sent": ("echeances", "Relance envoyée"),
}

# Security and platform events: kept in the log, not shown in a consortium's feed.
HIDDEN_KINDS = frozenset({"access.denied", "mail.retried", "notifications.changed"})

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


def kinds_of(group: str) -> list[str]:
    """The event kinds a filter group gathers."""
    return [kind for kind, (kind_group, _label) in KIND_LABELS.items() if kind_group == group]


def label_of(kind: str) -> str:
    """The French label of a kind; an unknown kind still reads as something."""
    known = KIND_LABELS.get(kind)
    return known[1] if known else f"Autre action ({kind})"


def group_of(kind: str) -> str | None:
    """The filter group of a kind, if it has one."""
    known = KIND_LABELS.get(kind)
    return known[0] if known else None


@dataclass
class Change:
    """One line of « what changed »: a name, the old value and the new one (either may be empty)."""

    what: str
    old: str = ""
    new: str = ""


@dataclass
class Description:
    """What the feed says of an event beyond its label: the object, the changes, a link."""

    subject: str = ""
    changes: list[Change] = field(default_factory=list)
    note: str = ""


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


Namer = Callable[[str, Any], str]


def describe(kind: str, data: dict[str, Any], name: Namer) -> Description:
    """The object, the old → new values and a note of an event, in French.

    `name(what, key)` turns stored identifiers into names ("section", "partner", "partner_id",
    "user_id", "category", "funder", "indicator", "annex_kind").
    """
    result = Description()
    changes = result.changes
    section = (data.get("section") or data.get("code")) if kind.startswith("section.") else None
    if section:
        result.subject = name("section", section)
        if data.get("title") and kind in ("section.added", "section.restored", "section.archived"):
            result.subject = str(data["title"])
    if kind in (
        "section.edit",
        "section.merge",
        "section.conflict_copy",
        "section.restore",
        "section.import",
    ):
        changes.append(Change("Longueur", _chars(data.get("old_chars")), _chars(data.get("new_chars"))))
        if data.get("restored"):
            result.note = f"Version {data['restored']} restaurée"
    elif kind == "section.status_changed":
        changes.append(
            Change(
                "Statut",
                STATUS_LABELS.get(str(data.get("old")), _plain(data.get("old"))),
                STATUS_LABELS.get(str(data.get("new")), _plain(data.get("new"))),
            )
        )
        if data.get("reason") == "edited_after_validation":
            result.note = "Texte modifié après sa validation"
    elif kind == "section.writer_assigned":
        old, new = data.get("old") or {}, data.get("new") or {}
        for key, label in (("writer_partner_id", "Membre rédacteur"), ("writer_user_id", "Personne")):
            if old.get(key) != new.get(key):
                changes.append(Change(label, name(key, old.get(key)), name(key, new.get(key))))
        if old.get("due_date") != new.get("due_date"):
            changes.append(Change("Échéance", _date(old.get("due_date")), _date(new.get("due_date"))))
    elif kind == "section.comment_added" and data.get("reply_to"):
        result.note = "Réponse dans une discussion"
    elif kind == "section.moved":
        changes.append(Change("Position", _plain(data.get("old")), _plain(data.get("new"))))
    elif kind == "section.updated":
        for key, pair in (data.get("changes") or {}).items():
            if isinstance(pair, dict) and {"old", "new"} <= pair.keys():
                changes.append(Change(_section_field(key), _plain(pair["old"]), _plain(pair["new"])))
            elif isinstance(pair, list | tuple) and len(pair) == 2:
                changes.append(Change(_section_field(key), _plain(pair[0]), _plain(pair[1])))
    elif kind == "budget.amount_changed":
        side = "Ressource" if data.get("side") == "resource" else "Dépense"
        what = name("funder" if data.get("side") == "resource" else "category", data.get("code"))
        result.subject = f"{side} · {what} · {data.get('year', '')}".strip(" ·")
        changes.append(
            Change(
                "Montant",
                _eur((data.get("old") or {}).get("amount")),
                _eur((data.get("new") or {}).get("amount")),
            )
        )
    elif kind == "budget.staff_changed":
        result.subject = _plain(data.get("function"))
        old, new = data.get("old") or {}, data.get("new") or {}
        changes.append(Change("ETP", _decimal(old.get("fte")), _decimal(new.get("fte"))))
        changes.append(Change("Coût annuel", _eur(old.get("annual_cost")), _eur(new.get("annual_cost"))))
    elif kind == "budget.indicator_changed":
        result.subject = f"{name('indicator', data.get('code'))} · {data.get('year', '')}".strip(" ·")
        changes.append(
            Change(
                "Valeur",
                _plain((data.get("old") or {}).get("value")),
                _plain((data.get("new") or {}).get("value")),
            )
        )
    elif kind == "budget.sign_off_reminded" or kind == "reminder.sent":
        recipients = data.get("recipients") or []
        result.note = f"{len(recipients)} destinataire" + ("s" if len(recipients) > 1 else "")
        if data.get("automatic"):
            result.note += " · relance automatique"
        if data.get("items"):
            result.subject = "Reste à fournir : " + ", ".join(str(item) for item in data["items"][:5])
    elif kind in ("partner.withdrawn", "partner.reinstated"):
        states = {"active": "Actif", "withdrawn": "Retiré"}
        if data.get("old") in states and data.get("new") in states:
            changes.append(Change("Statut", states[data["old"]], states[data["new"]]))
        if data.get("reason"):
            result.note = f"Raison : « {_plain(data['reason'])} »"
    elif kind == "consortium.lead_changed":
        changes.append(
            Change("Chef de file", name("partner", data.get("old")), name("partner", data.get("new")))
        )
    elif kind.startswith(("volunteer.", "invitation.", "account.")):
        who = data.get("organisation") or data.get("email")
        result.subject = _plain(who) if who else ""
        if data.get("role"):
            result.note = f"Rôle : {ROLE_LABELS.get(str(data['role']), _plain(data['role']))}"
    elif kind in ("role.changed", "role.revoked", "role.granted"):
        result.subject = name("user_email", data.get("user"))
        old, new = data.get("old"), data.get("new")
        old_role = old.get("role") if isinstance(old, dict) else old
        new_role = new.get("role") if isinstance(new, dict) else new
        changes.append(
            Change(
                "Rôle",
                ROLE_LABELS.get(str(old_role), "—") if old_role else "—",
                ROLE_LABELS.get(str(new_role), "—") if new_role else "—",
            )
        )
    elif kind == "consortium.settings_changed":
        for key, pair in (data.get("changes") or {}).items():
            if isinstance(pair, dict):
                changes.append(
                    Change(SETTING_LABELS.get(key, key), _plain(pair.get("old")), _plain(pair.get("new")))
                )
    elif kind in ("volunteering.opened", "volunteering.closed"):
        pass
    elif kind == "volunteering.intro_changed":
        changes.append(_text_change(data.get("old"), data.get("new")))
    elif kind.startswith("budget_model."):
        result.subject = _plain(data.get("label") or data.get("code"))
        if kind.endswith("_renamed"):
            changes.append(Change("Libellé", _plain(data.get("old")), _plain(data.get("new"))))
        elif kind.endswith("_moved"):
            changes.append(Change("Position", _plain(data.get("old")), _plain(data.get("new"))))
        elif kind.endswith("_changed"):
            for key, pair in (data.get("changes") or {}).items():
                if isinstance(pair, dict):
                    changes.append(Change(key, _plain(pair.get("old")), _plain(pair.get("new"))))
    elif kind in ("consortium.exported", "dossier.exported"):
        fmt = data.get("format")
        result.note = f"Format : {str(fmt).upper()}" if fmt else ""
    elif kind == "dossier.frozen":
        result.subject = f"Version n° {data.get('number', '?')}"
        if data.get("pages"):
            result.note = f"{_integer(data['pages'])} pages"
    elif kind == "annex.uploaded":
        kind_name = name("annex_kind", data.get("annex_kind") or data.get("kind"))
        result.subject = f"{kind_name} · {_plain(data.get('filename'))}"
        if data.get("size"):
            result.note = _size(data["size"])
    elif kind == "annex.requirements_changed":
        old_kinds = [name("annex_kind", item) for item in data.get("old") or []]
        new_kinds = [name("annex_kind", item) for item in data.get("new") or []]
        changes.append(
            Change("Pièces exigées", ", ".join(old_kinds) or "aucune", ", ".join(new_kinds) or "aucune")
        )
    elif kind.startswith("milestone."):
        result.subject = _plain(data.get("title"))
        if data.get("due_date"):
            result.note = f"Échéance : {_date(data['due_date'])}"
        for key, pair in (data.get("changes") or {}).items():
            if isinstance(pair, dict):
                changes.append(
                    Change(_milestone_field(key), _plain(pair.get("old")), _plain(pair.get("new")))
                )
            elif isinstance(pair, list | tuple) and len(pair) == 2:
                changes.append(Change(_milestone_field(key), _plain(pair[0]), _plain(pair[1])))
    elif kind not in KIND_LABELS and ("old" in data or "new" in data):
        # An unknown kind: show its plain old → new when it has one.
        changes.append(Change("Valeur", _plain(data.get("old")), _plain(data.get("new"))))
    return result


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
