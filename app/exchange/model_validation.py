"""Reading what the partners of an exchange document are checked against: the budget model, the
indicators and the sections.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, cast, get_args

from flask_babel import gettext as _

from app.exchange.document import (
    BudgetModel,
    ExpenseCategory,
    Funder,
    FunderGroup,
    Indicator,
    IndicatorKind,
    IndirectCostRule,
    Section,
    SectionScope,
    SectionStatus,
)
from app.exchange.reading import MISSING, child_path
from app.exchange.scalars import MAX_GUIDANCE_LENGTH, MAX_NAME_LENGTH, ScalarReader

MIN_YEAR: Final = 1900
MAX_YEAR: Final = 2100

FUNDER_GROUPS: Final[tuple[str, ...]] = get_args(FunderGroup)
INDICATOR_KINDS: Final[tuple[str, ...]] = get_args(IndicatorKind)
SECTION_SCOPES: Final[tuple[str, ...]] = get_args(SectionScope)
SECTION_STATUSES: Final[tuple[str, ...]] = get_args(SectionStatus)


@dataclass(frozen=True)
class DocumentModel:
    """What the partners are checked against; None where the model itself was unreadable."""

    years: frozenset[int] | None
    categories: frozenset[str] | None
    funders: frozenset[str] | None
    per_year_indicators: frozenset[str] | None
    total_indicators: frozenset[str] | None
    partner_sections: frozenset[str] | None


class ModelReader(ScalarReader):
    """Reads the budget model, the indicators and the sections."""

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
                (child_path(p, "code"), c.code)
                for (p, _i), c in zip(category_items or (), categories, strict=True)
            ),
            _("catégorie"),
        )
        funder_items = self.array(fields["funders"], fields.at("funders"))
        funders = tuple(self.funder(item, item_path) for item_path, item in funder_items or ())
        self.unique_codes(
            ((child_path(p, "code"), f.code) for (p, _i), f in zip(funder_items or (), funders, strict=True)),
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
            if indirect_value is None or indirect_value is MISSING
            else self.indirect_costs(indirect_value, fields.at("indirect_costs"), categories)
        )
        # The computed category named by the flat rate, when it names one of the model's.
        designated = (
            indirect.category
            if indirect is not None and indirect.category in {c.code for c in categories}
            else None
        )
        for (item_path, _item), category in zip(category_items or (), categories, strict=True):
            if category.computed and designated is not None and designated != category.code:
                self.error(
                    child_path(item_path, "computed"),
                    _(
                        "catégorie calculée non désignée par budget_model.indirect_costs.category "
                        "(une seule catégorie calculée possible)"
                    ),
                )
            elif category.computed and indirect is None:
                self.error(
                    child_path(item_path, "computed"),
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

    def indicators(self, value: object, path: str) -> tuple[tuple[Indicator, ...], bool, frozenset[str]]:
        """The indicators, whether the list could be read, and the codes of those read with errors."""
        items = self.array(value, path)
        read = self.each(items, self.indicator)
        indicators = tuple(indicator for _path, indicator, _ok in read)
        # An indicator read with errors may have a placeholder per_year: checks depending on it are
        # skipped rather than reported as a second, misleading error.
        uncertain = frozenset(indicator.code for _path, indicator, ok in read if not ok)
        self.unique_codes(((child_path(p, "code"), i.code) for p, i, _ok in read), _("indicateur"))
        by_code = {indicator.code: indicator for indicator in indicators}
        for item_path, indicator, _ok in read:
            if not indicator.part_of:
                continue
            parent = by_code.get(indicator.part_of)
            where = child_path(item_path, "part_of")
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
        self.unique_codes(((child_path(p, "code"), s.code) for (p, _v), s in pairs), _("section"))
        positions: dict[int, str] = {}
        for (item_path, item), section in pairs:
            if not isinstance(item, dict) or type(item.get("position")) is not int:
                continue
            if section.position in positions:
                self.error(
                    child_path(item_path, "position"),
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
