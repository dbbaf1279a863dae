"""Forms of the opening wizard and of the settings page: they check shape, the services check rules."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, Field, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from app.budget.models import FUNDER_GROUP_LABELS, FunderGroup
from app.consortia.models import Call, Organisation
from app.consortia.validation import MAX_ACRONYM_LENGTH, MAX_SLUG_LENGTH, MAX_TITLE_LENGTH, Errors
from app.form_fields import AmountField, CountField, PercentField
from app.opening.defaults import INDIRECT_RULE_LABELS, IndirectRule
from app.opening.services import (
    MAX_ADDRESS_LENGTH,
    MAX_DEPARTEMENT_LENGTH,
    OpeningInput,
    OrganisationInput,
    check_organisation,
    check_slug,
)
from app.opening.settings import (
    CallInput,
    CallRulesInput,
    SettingsInput,
    check_call,
    check_deadline,
    check_period,
)

NEW = "nouveau"
KEEP_RULE = "actuelle"
DATE_MESSAGE = _l("Saisissez une date valide, par exemple 01/09/2025.")


class CallRulesForm(FlaskForm):
    """The call's name, deadline and rules, shared by the opening wizard and the settings page."""

    call_name = StringField(_l("Nom de l'appel à projets"), validators=[Length(max=MAX_TITLE_LENGTH)])
    submission_deadline = DateField(_l("Date limite de dépôt"), validators=[Optional()], format="%Y-%m-%d")
    min_total_cost = AmountField(_l("Coût total minimum du projet (€)"))
    min_duration_months = CountField(_l("Durée minimale (mois)"))
    max_duration_months = CountField(_l("Durée maximale (mois)"))
    main_funder = SelectField(_l("Financeur principal"), choices=[], validate_choice=False)
    main_funder_share_min = PercentField(_l("Part du financeur principal : au moins (%)"))
    main_funder_share_max = PercentField(_l("Part du financeur principal : au plus (%)"))
    min_local_cofunding_share = PercentField(_l("Cofinancements locaux : au moins (%)"))
    balance_tolerance = AmountField(_l("Écart toléré entre dépenses et ressources (€)"))

    def set_funders(self, funders: Iterable[tuple[str, str]]) -> None:
        """Offer these funders (code, label) as the call's main funder."""
        self.main_funder.choices = [
            SelectChoice("", str(_l("— Aucun —"))),
            *(SelectChoice(code, label) for code, label in funders),
        ]

    def validate_main_funder(self, field: Field) -> None:
        if field.data and field.data not in self.funder_codes():
            raise ValidationError(_l("Choisissez un financeur de la liste."))

    def call_input(self) -> CallInput:
        """The call as typed."""
        return CallInput(
            name=self.call_name.data or "",
            submission_deadline=self.submission_deadline.data,
            rules=CallRulesInput(
                min_total_cost=self.min_total_cost.data,
                min_duration_months=self.min_duration_months.data,
                max_duration_months=self.max_duration_months.data,
                main_funder=self.main_funder.data or None,
                main_funder_share_min=self.main_funder_share_min.data,
                main_funder_share_max=self.main_funder_share_max.data,
                min_local_cofunding_share=self.min_local_cofunding_share.data,
                balance_tolerance=self.balance_tolerance.data,
            ),
        )

    def fill_call(self, call: Call) -> None:
        """Show a call's current values."""
        self.call_name.data = call.name
        self.submission_deadline.data = call.submission_deadline
        self.min_total_cost.data = call.min_total_cost
        self.min_duration_months.data = call.min_duration_months
        self.max_duration_months.data = call.max_duration_months
        self.main_funder.data = call.main_funder or ""
        self.main_funder_share_min.data = call.main_funder_share_min
        self.main_funder_share_max.data = call.main_funder_share_max
        self.min_local_cofunding_share.data = call.min_local_cofunding_share
        self.balance_tolerance.data = call.balance_tolerance

    def add_errors(self, errors: dict[str, list[str]], *, only_new: bool = False) -> None:
        """Show a service's messages under their fields (or above the form for unknown ones);
        `only_new` leaves a field that already shows a message as it is."""
        for name, messages in errors.items():
            field = self._fields.get(name)
            if field is None:
                self.form_errors.extend(messages)
            elif not (only_new and field.errors):
                field.errors = [*field.errors, *messages]

    def funder_codes(self) -> list[str]:
        """The funders offered as the call's main funder."""
        return [choice.value for choice in self.main_funder.choices if choice.value]

    def is_valid(self) -> bool:
        """Whether no field shows a message."""
        return not any(field.errors for field in self._fields.values())


def _rule_choices() -> list[SelectChoice]:
    return [SelectChoice(rule.value, label) for rule, label in INDIRECT_RULE_LABELS.items()]


class OpeningForm(CallRulesForm):
    """The opening wizard: the call, the project, the lead organisation, the indirect-cost rule."""

    call_choice = SelectField(_l("Appel à projets"), choices=[], validate_choice=False)
    title = StringField(
        _l("Intitulé du projet"),
        validators=[DataRequired(_l("Donnez un intitulé au projet.")), Length(max=MAX_TITLE_LENGTH)],
    )
    acronym = StringField(_l("Acronyme"), validators=[Length(max=MAX_ACRONYM_LENGTH)])
    slug = StringField(_l("Adresse du consortium"), validators=[Length(max=MAX_SLUG_LENGTH)])
    project_start = DateField(
        _l("Début du projet"),
        validators=[InputRequired(_l("Indiquez la date de début."))],
        format="%Y-%m-%d",
    )
    project_end = DateField(
        _l("Fin du projet"),
        validators=[InputRequired(_l("Indiquez la date de fin."))],
        format="%Y-%m-%d",
    )
    organisation_choice = SelectField(_l("Chef de file"), choices=[], validate_choice=False)
    organisation_name = StringField(_l("Nom de l'organisation"), validators=[Length(max=MAX_TITLE_LENGTH)])
    organisation_kind = StringField(_l("Type de structure"), validators=[Length(max=MAX_TITLE_LENGTH)])
    organisation_departement = StringField(
        _l("Département(s)"), validators=[Length(max=MAX_DEPARTEMENT_LENGTH)]
    )
    organisation_territory = StringField(_l("Territoire couvert"), validators=[Length(max=MAX_TITLE_LENGTH)])
    organisation_siret = StringField(_l("SIRET"), validators=[Length(max=40)])
    organisation_address = TextAreaField(_l("Adresse postale"), validators=[Length(max=MAX_ADDRESS_LENGTH)])
    indirect_rule = RadioField(
        _l("Règle de calcul des coûts indirects"),
        choices=[],
        default=IndirectRule.STAFF_15.value,
        validate_choice=False,
    )

    def setup(
        self,
        calls: Sequence[Call],
        organisations: Sequence[Organisation],
        funders: Iterable[tuple[str, str]],
        lead: Organisation | None = None,
    ) -> None:
        """Offer the known calls and organisations, the funders, and the indirect-cost rules."""
        self.call_choice.choices = [
            *(SelectChoice(str(call.id), call.name) for call in calls),
            SelectChoice(NEW, str(_l("Un autre appel (à décrire ci-dessous)"))),
        ]
        self.organisation_choice.choices = [
            *(
                SelectChoice(str(org.id), f"{org.name} ({org.departement})" if org.departement else org.name)
                for org in organisations
            ),
            SelectChoice(NEW, str(_l("Une autre organisation (à décrire ci-dessous)"))),
        ]
        self.set_funders(funders)
        self.indirect_rule.choices = _rule_choices()
        if self.call_choice.data is None:
            self.call_choice.data = str(calls[0].id) if calls else NEW
        if self.organisation_choice.data is None:
            known = lead is not None and any(org.id == lead.id for org in organisations)
            self.organisation_choice.data = str(lead.id) if lead is not None and known else NEW

    def _choice(self, field: SelectField) -> None:
        if field.data not in {choice.value for choice in field.choices}:
            raise ValidationError(_l("Choisissez dans la liste."))

    def validate_call_choice(self, field: Field) -> None:
        self._choice(field)

    def validate_organisation_choice(self, field: Field) -> None:
        self._choice(field)

    def validate_indirect_rule(self, field: Field) -> None:
        if field.data not in {rule.value for rule in IndirectRule}:
            raise ValidationError(_l("Choisissez une règle de calcul des coûts indirects."))

    def validate_call_name(self, field: Field) -> None:
        if self.call_choice.data == NEW and not (field.data or "").strip():
            raise ValidationError(_l("Donnez le nom de l'appel à projets."))

    def validate_organisation_name(self, field: Field) -> None:
        if self.organisation_choice.data == NEW and not (field.data or "").strip():
            raise ValidationError(_l("Donnez le nom de l'organisation chef de file."))

    def validate_organisation_departement(self, field: Field) -> None:
        if self.organisation_choice.data == NEW and not (field.data or "").strip():
            raise ValidationError(_l("Indiquez le ou les départements, par exemple 93 ou 94/91."))

    def validate(self, extra_validators: Any = None) -> bool:
        """Check every field (the new call's only when one is described), then the service's rules on
        what could be read, so that every message shows at once."""
        super().validate(extra_validators)
        new_call = self.call_choice.data == NEW
        if not new_call:
            # The new-call fields are hidden and unused: their leftovers must not block the form. The
            # deadline stays: it may be given for a known call too.
            for name in CallRulesForm.__dict__:
                field = self._fields.get(name)
                if field is not None and field is not self.submission_deadline:
                    field.errors = []
        rules = Errors()
        if self.project_start.data and self.project_end.data:
            check_period(rules, self.project_start.data, self.project_end.data)
            if not rules.by_field:
                check_deadline(rules, self.submission_deadline.data, self.project_start.data)
        if (self.slug.data or "").strip():
            check_slug(rules, (self.slug.data or "").strip().lower())
        if new_call:
            check_call(rules, self.call_input(), self.funder_codes())
        if self.organisation_choice.data == NEW:
            check_organisation(rules, self.organisation_input())
        self.add_errors(rules.by_field, only_new=True)
        return self.is_valid()

    def organisation_input(self) -> OrganisationInput:
        """The lead organisation as typed."""
        return OrganisationInput(
            name=self.organisation_name.data or "",
            kind=self.organisation_kind.data or "",
            departement=self.organisation_departement.data or "",
            territory=self.organisation_territory.data or "",
            siret=self.organisation_siret.data or "",
            address=self.organisation_address.data or "",
        )

    def opening_input(self) -> OpeningInput:
        """What the person asked for."""
        existing_call = self.call_choice.data != NEW
        existing_org = self.organisation_choice.data != NEW
        assert self.project_start.data is not None
        assert self.project_end.data is not None
        return OpeningInput(
            title=self.title.data or "",
            acronym=self.acronym.data or "",
            slug=self.slug.data or "",
            project_start=self.project_start.data,
            project_end=self.project_end.data,
            indirect_rule=IndirectRule(self.indirect_rule.data),
            call_id=int(self.call_choice.data) if existing_call else None,
            new_call=None if existing_call else self.call_input(),
            submission_deadline=self.submission_deadline.data if existing_call else None,
            organisation_id=int(self.organisation_choice.data) if existing_org else None,
            new_organisation=None if existing_org else self.organisation_input(),
        )


class SettingsForm(CallRulesForm):
    """The settings page's main form: the project, its call and the indirect-cost rule."""

    title = StringField(
        _l("Intitulé du projet"),
        validators=[DataRequired(_l("Donnez un intitulé au projet.")), Length(max=MAX_TITLE_LENGTH)],
    )
    acronym = StringField(_l("Acronyme"), validators=[Length(max=MAX_ACRONYM_LENGTH)])
    project_start = DateField(
        _l("Début du projet"),
        validators=[InputRequired(_l("Indiquez la date de début."))],
        format="%Y-%m-%d",
    )
    project_end = DateField(
        _l("Fin du projet"),
        validators=[InputRequired(_l("Indiquez la date de fin."))],
        format="%Y-%m-%d",
    )
    indirect_rule = RadioField(_l("Règle de calcul des coûts indirects"), choices=[], validate_choice=False)

    def setup(self, funders: Iterable[tuple[str, str]], custom_rule: str | None) -> None:
        """Offer the consortium's funders and the rules (the current one too when it is not standard)."""
        self.set_funders(funders)
        choices = _rule_choices()
        if custom_rule is not None:
            choices.insert(0, SelectChoice(KEEP_RULE, custom_rule))
        self.indirect_rule.choices = choices
        self.call_name.validators = [
            DataRequired(_l("Donnez le nom de l'appel à projets.")),
            Length(max=MAX_TITLE_LENGTH),
        ]

    def validate_indirect_rule(self, field: Field) -> None:
        if field.data not in {choice.value for choice in field.choices}:
            raise ValidationError(_l("Choisissez une règle de calcul des coûts indirects."))

    def validate(self, extra_validators: Any = None) -> bool:
        """Check every field, then the service's rules on what could be read (every message at once)."""
        super().validate(extra_validators)
        rules = Errors()
        if self.project_start.data and self.project_end.data:
            check_period(rules, self.project_start.data, self.project_end.data)
        check_call(rules, self.call_input(), self.funder_codes())
        self.add_errors(rules.by_field, only_new=True)
        return self.is_valid()

    def settings_input(self) -> SettingsInput:
        """What the person asked for."""
        assert self.project_start.data is not None
        assert self.project_end.data is not None
        rule = self.indirect_rule.data
        return SettingsInput(
            title=self.title.data or "",
            acronym=self.acronym.data or "",
            project_start=self.project_start.data,
            project_end=self.project_end.data,
            call=self.call_input(),
            indirect_rule=None if rule == KEEP_RULE else IndirectRule(rule),
        )


class CategoryForm(FlaskForm):
    """One expense category of the budget model: rename, move, remove; or the label of a new one."""

    op = HiddenField()
    label = StringField(_l("Libellé"), validators=[Length(max=MAX_TITLE_LENGTH)])

    def add_errors(self, errors: dict[str, list[str]]) -> None:
        """Show a service's messages under their fields."""
        for name, messages in errors.items():
            field = self._fields.get(name)
            if field is None:
                self.form_errors.extend(messages)
            else:
                field.errors = [*field.errors, *messages]


class FunderForm(CategoryForm):
    """One funder of the budget model: its label and group too."""

    group = SelectField(
        _l("Groupe"),
        choices=[SelectChoice(group.value, label) for group, label in FUNDER_GROUP_LABELS.items()],
        validate_choice=False,
    )

    def validate_group(self, field: Field) -> None:
        if field.data not in {group.value for group in FunderGroup}:
            raise ValidationError(_l("Choisissez un groupe de la liste."))
