"""Reading the partners of an exchange document: identity, contacts, staff, texts, budget,
indicator values and sign-off, each checked against the document's model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Final, cast, get_args

from flask_babel import gettext as _

from app.consortia.siret import is_valid_siret
from app.exchange.document import (
    BudgetModel,
    Contact,
    Indicator,
    Partner,
    PartnerIndicators,
    PartnerRole,
    PartnerStatus,
    SignOff,
    YearBudget,
)
from app.exchange.model_validation import DocumentModel
from app.exchange.reading import MISSING, child_path, shorten, type_name
from app.exchange.scalars import (
    MAX_CODE_LENGTH,
    MAX_DEPARTEMENT_LENGTH,
    MAX_NAME_LENGTH,
    SLUG,
    ScalarReader,
)

PARTNER_ROLES: Final[tuple[str, ...]] = get_args(PartnerRole)
PARTNER_STATUSES: Final[tuple[str, ...]] = get_args(PartnerStatus)

_YEAR_KEY = re.compile(r"\A[0-9]{4}\Z")
_DIGEST = re.compile(r"\A[0-9a-f]{64}\Z")


class PartnerReader(ScalarReader):
    """Reads the partners against the model read before them."""

    def partners(
        self,
        value: object,
        path: str,
        model: DocumentModel,
        budget_model: BudgetModel,
        indicators: Sequence[Indicator],
    ) -> tuple[Partner, ...]:
        items = self.array(value, path)
        partners = tuple(
            self.partner(item, item_path, model, budget_model, indicators) for item_path, item in items or ()
        )
        self.unique_codes(
            (
                (child_path(p, "id"), partner.id)
                for (p, _v), partner in zip(items or (), partners, strict=True)
            ),
            _("partenaire"),
        )
        # One establishment cannot be two partners.
        self.unique_codes(
            (
                (child_path(p, "siret"), partner.siret or "")
                for (p, _v), partner in zip(items or (), partners, strict=True)
            ),
            _("SIRET"),
        )
        if items is not None and not items:
            self.error(path, _("au moins un partenaire attendu (le chef de file)"))
        return partners

    def partner(
        self,
        value: object,
        path: str,
        model: DocumentModel,
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
        if value is MISSING:
            return ""
        if not isinstance(value, str):
            self.error(
                path,
                _("SIRET attendu (chaîne de 14 chiffres) ou null, trouvé : %(type)s", type=type_name(value)),
            )
            return ""
        if not is_valid_siret(value):
            self.error(
                path,
                _(
                    "SIRET invalide « %(value)s » "
                    "(attendu : 14 chiffres sans espace, clé de contrôle correcte)",
                    value=shorten(value),
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
            where = child_path(path, function)
            if not SLUG.match(function) or len(function) > MAX_CODE_LENGTH:
                self.error(
                    where,
                    _(
                        "code de fonction invalide (attendu : minuscules sans accent, chiffres, "
                        "« _ » ou « - », 64 caractères au plus)"
                    ),
                )
            staff[function] = self.fte(fte, where)
        return staff

    def partner_sections(self, value: object, path: str, model: DocumentModel) -> dict[str, str]:
        texts = {}
        for code, html in self.mapping(value, path).items():
            where = child_path(path, code)
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

    def _year_key(self, key: str, path: str, model: DocumentModel) -> int | None:
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
        self, value: object, path: str, model: DocumentModel, budget_model: BudgetModel
    ) -> dict[int, YearBudget]:
        given: dict[int, YearBudget] = {}
        for key, year_value in self.mapping(value, path).items():
            year_path = child_path(path, key)
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
            code_path = child_path(path, code)
            if known is not None and code not in known:
                self.error(code_path, unknown_message)
            amounts[code] = self.money(amount, code_path)
        return amounts

    def partner_indicators(
        self,
        value: object,
        path: str,
        model: DocumentModel,
        budget_model: BudgetModel,
        indicators: Sequence[Indicator],
    ) -> PartnerIndicators:
        fields = self.record(value, path, required=(), optional=("per_year", "totals"), extensions=False)
        per_year_codes = [i.code for i in indicators if i.per_year]
        total_codes = [i.code for i in indicators if not i.per_year]
        per_year: dict[int, dict[str, int]] = {}
        per_year_path = fields.at("per_year")
        for key, counts in self.mapping(fields.get("per_year", {}), per_year_path).items():
            year_path = child_path(per_year_path, key)
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
            code_path = child_path(path, code)
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
        if digest is not MISSING and (not isinstance(digest, str) or not _DIGEST.match(digest)):
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
