"""Forms of the section plan page: a chapter's title, guidance, scope and limits."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, ValidationError

from app.consortia.validation import MAX_SLUG_LENGTH, MAX_TITLE_LENGTH
from app.form_fields import CountField
from app.sections.models import Section, SectionScope
from app.sections.plan import MAX_GUIDANCE_LENGTH, SCOPE_LABELS, SectionDraft


class SectionForm(FlaskForm):
    """A chapter as the coordinator sets it; the code only when adding one."""

    title = StringField(
        _l("Titre du chapitre"),
        validators=[DataRequired(_l("Donnez un titre au chapitre.")), Length(max=MAX_TITLE_LENGTH)],
    )
    code = StringField(_l("Code (facultatif)"), validators=[Length(max=MAX_SLUG_LENGTH)])
    scope = RadioField(
        _l("Qui rédige ?"),
        choices=[SelectChoice(scope.value, label) for scope, label in SCOPE_LABELS.items()],
        default=SectionScope.SHARED.value,
        validate_choice=False,
    )
    max_chars = CountField(_l("Limite du texte commun (caractères)"))
    max_chars_per_partner = CountField(_l("Limite de la partie de chaque membre (caractères)"))
    guidance = TextAreaField(_l("Consignes aux rédacteurs"), validators=[Length(max=MAX_GUIDANCE_LENGTH)])

    def validate_scope(self, field: Field) -> None:
        if field.data not in {scope.value for scope in SectionScope}:
            raise ValidationError(_l("Choisissez qui rédige ce chapitre."))

    def fill(self, section: Section) -> None:
        """Show the chapter's current values."""
        self.title.data = section.title
        self.code.data = section.code
        self.scope.data = section.scope.value
        self.max_chars.data = section.max_chars
        self.max_chars_per_partner.data = section.max_chars_per_partner
        self.guidance.data = section.guidance

    def draft(self) -> SectionDraft:
        """The chapter as typed."""
        return SectionDraft(
            title=self.title.data or "",
            guidance=self.guidance.data or "",
            scope=SectionScope(self.scope.data),
            max_chars=self.max_chars.data,
            max_chars_per_partner=self.max_chars_per_partner.data,
        )

    def add_errors(self, errors: dict[str, list[str]]) -> None:
        """Show a service's messages under their fields."""
        for name, messages in errors.items():
            field = self._fields.get(name)
            if field is None:
                self.form_errors.extend(messages)
            else:
                field.errors = [*field.errors, *messages]
