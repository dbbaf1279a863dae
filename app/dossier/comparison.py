"""What changed between a submitted version's exchange document and the consortium as it is now."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from markupsafe import Markup

from app.exchange import document as doc
from app.money import format_eur
from app.sections.merge import DiffPiece, diff_html, word_diff
from app.templating import french_datetime, french_decimal, french_integer


@dataclass(frozen=True)
class TextChange:
    """A text of the dossier that changed: a shared section, or a partner's part of one."""

    section: str
    partner: str | None
    change: str  # "modifié", "ajouté", "supprimé"
    diff: Markup


@dataclass(frozen=True)
class FigureChange:
    """A figure that changed for a partner: old → new, already formatted in French."""

    partner: str
    label: str
    old: str
    new: str


@dataclass(frozen=True)
class Comparison:
    """What changed from a submitted version to the consortium as it is now."""

    number: int
    texts: list[TextChange] = field(default_factory=list)
    figures: list[FigureChange] = field(default_factory=list)
    joined: list[str] = field(default_factory=list)
    withdrawn: list[str] = field(default_factory=list)
    general: list[FigureChange] = field(default_factory=list)

    @property
    def unchanged(self) -> bool:
        return not (self.texts or self.figures or self.joined or self.withdrawn or self.general)


def _text_change(section: str, partner: str | None, old: str, new: str) -> TextChange | None:
    if old == new:
        return None
    change = _("ajouté") if not old.strip() else _("supprimé") if not new.strip() else _("modifié")
    return TextChange(section, partner, change, Markup(diff_html(_elided(word_diff(old, new)))))


CONTEXT_WORDS = 25


def _elided(pieces: list[DiffPiece]) -> list[DiffPiece]:
    """Long unchanged runs cut down to the words around the changes, so the changes stand out."""
    result = []
    for index, piece in enumerate(pieces):
        words = piece.text.split()
        if piece.kind != "equal" or len(words) <= 3 * CONTEXT_WORDS:
            result.append(piece)
            continue
        head = "" if index == 0 else " ".join(words[:CONTEXT_WORDS]) + " "
        tail = "" if index == len(pieces) - 1 else " " + " ".join(words[-CONTEXT_WORDS:])
        result.append(DiffPiece("equal", f"{head}[…]{tail}"))
    return result


def _money(amount: Decimal | None) -> str:
    return "—" if amount is None else format_eur(amount)


def _number(value: Decimal | int | None) -> str:
    if value is None:
        return "—"
    return french_integer(value) if isinstance(value, int) else french_decimal(value)


def _compare_maps(
    rows: list[FigureChange],
    partner: str,
    old: Mapping[str, Decimal | int],
    new: Mapping[str, Decimal | int],
    labels: Mapping[str, str],
    prefix: str,
    shown: Callable[[Any], str] = _money,
) -> None:
    for code in dict.fromkeys([*old, *new]):
        before, after = old.get(code), new.get(code)
        if before != after:
            rows.append(
                FigureChange(partner, f"{prefix}{labels.get(code, code)}", shown(before), shown(after))
            )


def compare_documents(number: int, old: doc.ExchangeDocument, new: doc.ExchangeDocument) -> Comparison:
    """The differences between two exchange documents of the same consortium."""
    comparison = Comparison(number)
    _compare_general(comparison, old, new)
    titles = {section.code: section.title for section in (*old.sections, *new.sections)}
    old_sections = {section.code: section for section in old.sections}
    new_sections = {section.code: section for section in new.sections}
    for code in dict.fromkeys([*old_sections, *new_sections]):
        before, after = old_sections.get(code), new_sections.get(code)
        change = _text_change(
            titles[code],
            None,
            (before.content or "") if before else "",
            (after.content or "") if after else "",
        )
        if change:
            comparison.texts.append(change)
    old_partners = {partner.id: partner for partner in old.partners}
    new_partners = {partner.id: partner for partner in new.partners}
    for partner_id in dict.fromkeys([*old_partners, *new_partners]):
        before_partner, after_partner = old_partners.get(partner_id), new_partners.get(partner_id)
        was = before_partner is not None and before_partner.is_active
        now = after_partner is not None and after_partner.is_active
        name = (after_partner or before_partner).name  # type: ignore[union-attr]
        if now and not was:
            comparison.joined.append(name)
        elif was and not now:
            comparison.withdrawn.append(name)
        if not now or after_partner is None:
            continue
        before_texts = before_partner.sections if before_partner is not None and was else {}
        for code in dict.fromkeys([*before_texts, *after_partner.sections]):
            change = _text_change(
                titles.get(code, code), name, before_texts.get(code, ""), after_partner.sections.get(code, "")
            )
            if change:
                comparison.texts.append(change)
        if before_partner is not None and was:
            _compare_figures(comparison.figures, old, new, before_partner, after_partner)
    return comparison


def _compare_general(comparison: Comparison, old: doc.ExchangeDocument, new: doc.ExchangeDocument) -> None:
    pairs = [
        (_("Intitulé"), old.consortium.title, new.consortium.title),
        (_("Acronyme"), old.consortium.acronym, new.consortium.acronym),
        (
            _("Début du projet"),
            old.consortium.project_start.isoformat(),
            new.consortium.project_start.isoformat(),
        ),
        (_("Fin du projet"), old.consortium.project_end.isoformat(), new.consortium.project_end.isoformat()),
        (_("Chef de file"), old.consortium.lead_partner, new.consortium.lead_partner),
    ]
    for label, before, after in pairs:
        if before != after:
            comparison.general.append(FigureChange("", label, before, after))


def _compare_figures(
    rows: list[FigureChange],
    old: doc.ExchangeDocument,
    new: doc.ExchangeDocument,
    before: doc.Partner,
    after: doc.Partner,
) -> None:
    categories = {
        c.code: c.label for c in (*old.budget_model.expense_categories, *new.budget_model.expense_categories)
    }
    funders = {f.code: f.label for f in (*old.budget_model.funders, *new.budget_model.funders)}
    indicators = {i.code: i.label for i in (*old.indicators, *new.indicators)}
    name = after.name
    empty = doc.YearBudget({}, {})
    for year in dict.fromkeys([*before.budget, *after.budget]):
        old_year, new_year = before.budget.get(year, empty), after.budget.get(year, empty)
        _compare_maps(
            rows, name, old_year.expenses, new_year.expenses, categories, f"{year} · {_('dépense')} · "
        )
        _compare_maps(
            rows, name, old_year.resources, new_year.resources, funders, f"{year} · {_('ressource')} · "
        )
    _compare_maps(rows, name, before.staff_fte, after.staff_fte, {}, _("ETP") + " · ", shown=_number)
    for year in dict.fromkeys([*before.indicators.per_year, *after.indicators.per_year]):
        _compare_maps(
            rows,
            name,
            before.indicators.per_year.get(year, {}),
            after.indicators.per_year.get(year, {}),
            indicators,
            f"{year} · {_('indicateur')} · ",
            shown=_number,
        )
    _compare_maps(
        rows,
        name,
        before.indicators.totals,
        after.indicators.totals,
        indicators,
        _("Indicateur") + " · ",
        shown=_number,
    )
    signed_before, signed_after = before.sign_off is not None, after.sign_off is not None
    if signed_before != signed_after or (
        before.sign_off and after.sign_off and before.sign_off.digest != after.sign_off.digest
    ):
        rows.append(
            FigureChange(
                name,
                _("Signature de la direction"),
                _sign_off_text(before.sign_off),
                _sign_off_text(after.sign_off),
            )
        )


def _sign_off_text(sign_off: doc.SignOff | None) -> str:
    if sign_off is None:
        return _("non signé")
    return _("signé le %(date)s", date=french_datetime(sign_off.at))
