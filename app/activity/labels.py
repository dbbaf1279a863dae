"""What each kind of event is called in French, which group it belongs to, and how its change reads.

Every kind of `app.audit.EventKind` shown in a feed has a `Kind` here: its filter group, its label and a
small describer that turns the event's stored data into the object, the old → new values and a note.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.activity import descriptions as d
from app.audit import EventKind

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

# Security and platform events: kept in the log, not shown in a consortium's feed.
HIDDEN_KINDS = frozenset(
    {EventKind.ACCESS_DENIED, EventKind.MAIL_RETRIED, EventKind.MAIL_VIEWED, EventKind.NOTIFICATIONS_CHANGED}
)

# --- The kinds ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """How the feed shows one kind of event: its filter group, its French label, its describer."""

    group: str
    label: str
    describe: d.Describer


KINDS: dict[str, Kind] = {
    EventKind.SECTION_EDIT: Kind("textes", "Texte modifié", d.text_length),
    EventKind.SECTION_MERGE: Kind("textes", "Texte fusionné avec une modification simultanée", d.text_length),
    EventKind.SECTION_CONFLICT_COPY: Kind("textes", "Copie de conflit conservée", d.text_length),
    EventKind.SECTION_RESTORE: Kind("textes", "Ancienne version restaurée", d.text_length),
    EventKind.SECTION_IMPORT: Kind("textes", "Texte importé", d.text_length),
    EventKind.SECTION_STATUS_CHANGED: Kind("textes", "Statut d'un texte changé", d.status_changed),
    EventKind.SECTION_WRITER_ASSIGNED: Kind("textes", "Rédaction confiée", d.writer_assigned),
    EventKind.SECTION_COMMENT_ADDED: Kind("textes", "Commentaire ajouté", d.comment_added),
    EventKind.SECTION_COMMENT_RESOLVED: Kind("textes", "Discussion résolue", d.section_only),
    EventKind.SECTION_COMMENT_REOPENED: Kind("textes", "Discussion rouverte", d.section_only),
    EventKind.SECTION_ADDED: Kind("textes", "Chapitre ajouté au plan", d.titled_section),
    EventKind.SECTION_UPDATED: Kind("textes", "Chapitre modifié", d.section_updated),
    EventKind.SECTION_MOVED: Kind("textes", "Chapitre déplacé", d.section_moved),
    EventKind.SECTION_ARCHIVED: Kind("textes", "Chapitre retiré du plan (archivé)", d.titled_section),
    EventKind.SECTION_DELETED: Kind("textes", "Chapitre supprimé du plan", d.section_only),
    EventKind.SECTION_RESTORED: Kind("textes", "Chapitre rétabli", d.titled_section),
    EventKind.BUDGET_AMOUNT_CHANGED: Kind("chiffres", "Montant du budget modifié", d.amount_changed),
    EventKind.BUDGET_STAFF_CHANGED: Kind("chiffres", "Personnel (ETP) modifié", d.staff_changed),
    EventKind.BUDGET_INDICATOR_CHANGED: Kind("chiffres", "Indicateur modifié", d.indicator_changed),
    EventKind.BUDGET_SIGNED_OFF: Kind("signatures", "Engagements signés par la direction", d.nothing),
    EventKind.BUDGET_SIGN_OFF_VOIDED: Kind("signatures", "Signature devenue caduque", d.nothing),
    EventKind.BUDGET_SIGN_OFF_REMINDED: Kind("signatures", "Relance de signature envoyée", d.reminder_sent),
    EventKind.PARTNER_CREATED: Kind("membres", "Membre ajouté au consortium", d.nothing),
    EventKind.PARTNER_WITHDRAWN: Kind("membres", "Membre retiré du consortium", d.partner_status),
    EventKind.PARTNER_REINSTATED: Kind("membres", "Membre réintégré", d.partner_status),
    EventKind.CONSORTIUM_LEAD_CHANGED: Kind("membres", "Chef de file changé", d.lead_changed),
    EventKind.VOLUNTEER_REQUESTED: Kind("membres", "Candidature reçue", d.joining),
    EventKind.VOLUNTEER_ACCEPTED: Kind("membres", "Candidature acceptée", d.joining),
    EventKind.VOLUNTEER_DECLINED: Kind("membres", "Candidature refusée", d.joining),
    EventKind.INVITATION_CREATED: Kind("membres", "Invitation envoyée", d.joining),
    EventKind.INVITATION_REVOKED: Kind("membres", "Invitation annulée", d.joining),
    EventKind.INVITATION_RESENT: Kind("membres", "Invitation renvoyée", d.joining),
    EventKind.INVITATION_ACCEPTED: Kind("membres", "Invitation acceptée", d.joining),
    EventKind.ACCOUNT_CREATED: Kind("membres", "Compte créé", d.joining),
    EventKind.ACCOUNT_PASSWORD_SET: Kind("membres", "Mot de passe défini", d.joining),
    EventKind.ROLE_GRANTED: Kind("roles", "Rôle attribué", d.role),
    EventKind.ROLE_CHANGED: Kind("roles", "Rôle changé", d.role),
    EventKind.ROLE_REVOKED: Kind("roles", "Rôle retiré", d.role),
    EventKind.CONSORTIUM_OPENED: Kind("parametres", "Consortium ouvert", d.nothing),
    EventKind.CONSORTIUM_SETTINGS_CHANGED: Kind(
        "parametres", "Paramètres du consortium modifiés", d.settings_changed
    ),
    EventKind.VOLUNTEERING_OPENED: Kind("parametres", "Appel à candidatures ouvert", d.nothing),
    EventKind.VOLUNTEERING_CLOSED: Kind("parametres", "Appel à candidatures fermé", d.nothing),
    EventKind.VOLUNTEERING_INTRO_CHANGED: Kind(
        "parametres", "Texte de l'appel à candidatures modifié", d.intro_changed
    ),
    EventKind.BUDGET_MODEL_CATEGORY_ADDED: Kind("parametres", "Catégorie de dépenses ajoutée", d.budget_line),
    EventKind.BUDGET_MODEL_CATEGORY_RENAMED: Kind(
        "parametres", "Catégorie de dépenses renommée", d.budget_line_renamed
    ),
    EventKind.BUDGET_MODEL_CATEGORY_MOVED: Kind(
        "parametres", "Catégorie de dépenses déplacée", d.budget_line_moved
    ),
    EventKind.BUDGET_MODEL_CATEGORY_REMOVED: Kind(
        "parametres", "Catégorie de dépenses retirée", d.budget_line
    ),
    EventKind.BUDGET_MODEL_FUNDER_ADDED: Kind("parametres", "Financeur ajouté", d.budget_line),
    EventKind.BUDGET_MODEL_FUNDER_CHANGED: Kind("parametres", "Financeur modifié", d.budget_line_changed),
    EventKind.BUDGET_MODEL_FUNDER_MOVED: Kind("parametres", "Financeur déplacé", d.budget_line_moved),
    EventKind.BUDGET_MODEL_FUNDER_REMOVED: Kind("parametres", "Financeur retiré", d.budget_line),
    EventKind.CONSORTIUM_EXPORTED: Kind("exports", "Consortium exporté", d.exported),
    EventKind.CONSORTIUM_IMPORTED: Kind("exports", "Consortium importé", d.nothing),
    EventKind.DOSSIER_EXPORTED: Kind("exports", "Dossier exporté", d.exported),
    EventKind.DOSSIER_FROZEN: Kind("depots", "Version du dossier figée", d.frozen),
    EventKind.CONSORTIUM_SUBMITTED: Kind("depots", "Dossier déposé", d.nothing),
    EventKind.ANNEX_UPLOADED: Kind("annexes", "Annexe déposée", d.annex_uploaded),
    EventKind.ANNEX_REQUIREMENTS_CHANGED: Kind("annexes", "Pièces exigées modifiées", d.annex_requirements),
    EventKind.MILESTONE_ADDED: Kind("echeances", "Échéance ajoutée", d.milestone),
    EventKind.MILESTONE_CHANGED: Kind("echeances", "Échéance modifiée", d.milestone),
    EventKind.MILESTONE_REMOVED: Kind("echeances", "Échéance supprimée", d.milestone),
    EventKind.REMINDER_SENT: Kind("echeances", "Relance envoyée", d.reminder_sent),
}


def kinds_of(group: str) -> list[str]:
    """The event kinds a filter group gathers."""
    return [kind for kind, shown in KINDS.items() if shown.group == group]


def label_of(kind: str) -> str:
    """The French label of a kind; an unknown kind still reads as something."""
    known = KINDS.get(kind)
    return known.label if known else f"Autre action ({kind})"


def group_of(kind: str) -> str | None:
    """The filter group of a kind, if it has one."""
    known = KINDS.get(kind)
    return known.group if known else None


def describe(kind: str, data: dict[str, Any], name: d.Namer) -> d.Description:
    """The object, the old → new values and a note of an event, in French."""
    known = KINDS.get(kind)
    return (known.describe if known else d.unknown)(data, name)
