"""Reading an exchange document: every breach of format v1 reported with its JSON path, all at once.

`load_document` reads JSON text; `parse_document` checks already-decoded JSON. Either returns a
complete `ExchangeDocument` or raises `ExchangeInvalid` listing every error as
"<json path>: <message>". Only breaches of the format are errors: derived problems (an
unbalanced year, a total below the call's minimum...) are for the application's checks.

One reader object walks the document and collects the errors; its parts live by concept:
`reading` (decoding, paths, objects and lists), `scalars` (values), `model_validation` (budget
model, indicators, sections), `partner_validation` (partners), and here the top level, the call,
the consortium and the lead partner.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final, TypeVar, cast, get_args

from flask_babel import gettext as _
from flask_babel import ngettext

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
    ExchangeDocument,
    Partner,
)
from app.exchange.model_validation import DocumentModel, ModelReader
from app.exchange.partner_validation import PARTNER_ROLES, PartnerReader
from app.exchange.reading import (
    MISSING,
    ROOT_PATH,
    Fields,
    NonFiniteNumber,
    child_path,
    decode_json,
    duplicate_key_paths,
    index_path,
    show_value,
    type_name,
)
from app.exchange.scalars import MAX_ACRONYM_LENGTH, MAX_NAME_LENGTH

MAX_DURATION_MONTHS: Final = 1200

CONSORTIUM_STATUSES: Final[tuple[str, ...]] = get_args(ConsortiumStatus)

T = TypeVar("T")


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
        data = decode_json(text)
    except json.JSONDecodeError as error:
        raise _document_error(
            _(
                "JSON mal formé, ligne %(line)d, colonne %(column)d (%(reason)s)",
                line=error.lineno,
                column=error.colno,
                reason=error.msg,
            )
        ) from error
    except NonFiniteNumber as error:
        raise _document_error(
            _("JSON invalide, « %(constant)s » n'est pas un nombre JSON", constant=error.constant)
        ) from error
    except RecursionError as error:
        raise _document_error(_("JSON trop profondément imbriqué")) from error
    except ValueError as error:
        # Python refuses integers of more than 4,300 digits.
        raise _document_error(_("JSON invalide (%(reason)s)", reason=str(error))) from error
    duplicates = [
        f"{path}: " + _("clé en double (une seule occurrence attendue)") for path in duplicate_key_paths(data)
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
    reader = _DocumentReader()
    document = reader.document(data)
    if reader.errors:
        raise ExchangeInvalid(reader.errors)
    return document


def _document_error(message: str) -> ExchangeInvalid:
    # Errors about the file as a whole: its path is the root.
    return ExchangeInvalid([f"{ROOT_PATH}: {message}"])


class _DocumentReader(ModelReader, PartnerReader):
    """The whole document: its top level, call and consortium, then the model and the partners."""

    def document(self, data: object) -> ExchangeDocument:
        if not isinstance(data, dict):
            self.error(
                ROOT_PATH, _("le document doit être un objet JSON, trouvé : %(type)s", type=type_name(data))
            )
            fields = Fields("", None)
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
        model = DocumentModel(
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
                    value=show_value(data["format"]),
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
                    value=show_value(version),
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
            return None if raw is None or raw is MISSING else read(raw, fields.at(key))

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

    def _lead(self, consortium: ConsortiumInfo, partners: Sequence[Partner], fields: Fields) -> None:
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
                child_path(fields.at("consortium"), "lead_partner"),
                _("partenaire « %(id)s » absent de partners", id=lead_id),
            )
        elif partners[indexes[0]].role != "lead":
            self.error(
                child_path(index_path(partners_path, indexes[0]), "role"),
                _("« %(id)s » est consortium.lead_partner : son rôle doit être « lead »", id=lead_id),
            )


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
