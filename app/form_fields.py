"""Form fields and helpers shared by the forms: typed fields (amounts, percentages, counts, parsed
strictly, what was typed shown again), length limits, service rules as validators, refusals shown."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, StringField
from wtforms.validators import Length, ValidationError

from app.consortia.validation import FieldInvalid
from app.money import InvalidAmount, format_number, parse_amount

_PERCENT = re.compile(r"\A([0-9]{1,3})(?:[.,]([0-9]{1,2}))?\Z")
_COUNT = re.compile(r"\A[0-9]{1,9}\Z")


class _TypedField(StringField):
    """A text input whose value is parsed; what was typed is shown again when it cannot be."""

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        return "" if self.data is None else self.display(self.data)

    def display(self, value: Any) -> str:
        return str(value)

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = None
        if valuelist and str(valuelist[0]).strip():
            self.data = self.parse(str(valuelist[0]).strip())

    def parse(self, text: str) -> Any:
        raise NotImplementedError


class AmountField(_TypedField):
    """An amount in euros, read by the one strict parser (`1 234,56`); empty means none."""

    def display(self, value: Decimal) -> str:
        return format_number(value)

    def parse(self, text: str) -> Decimal:
        try:
            return parse_amount(text)
        except InvalidAmount as error:
            raise ValueError(str(error)) from error


class PercentField(_TypedField):
    """A percentage typed as `60`, `62,5` or `60 %`; its data is the rate between 0 and 1 (`0.60`)."""

    def display(self, value: Decimal) -> str:
        text = format(value.scaleb(2), "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return text.replace(".", ",")

    def parse(self, text: str) -> Decimal:
        body = text.removesuffix("%").strip().replace("\u00a0", "").replace("\u202f", "")
        if _PERCENT.match(body) is None:
            raise ValueError(str(_l("Saisissez un pourcentage entre 0 et 100, par exemple 60 ou 62,5.")))
        percent = Decimal(body.replace(",", "."))
        if percent > 100:
            raise ValueError(str(_l("Un pourcentage ne dépasse pas 100.")))
        if 0 < percent < 1:
            # "0,60" is a rate typed where a percentage is expected: ask rather than read 0,6 %.
            raise ValueError(str(_l("Saisissez le pourcentage sur 100 : 60 pour 60 % (et non 0,60).")))
        # scaleb keeps the digits typed: 60 → 0.60, 62,5 → 0.625.
        return percent.scaleb(-2)


class CountField(_TypedField):
    """A whole number typed with the digits 0 to 9 only; empty means none."""

    def parse(self, text: str) -> int:
        if not _COUNT.match(text):
            raise ValueError(str(_l("Saisissez un nombre entier, avec les chiffres 0 à 9 seulement.")))
        return int(text)


def max_length(limit: int) -> Length:
    return Length(max=limit, message=_l("%(max)d caractères au plus."))


def service_rule(check: Callable[[str], object]) -> Callable[[FlaskForm, Field], None]:
    """A field validator running the service's own check, so every error shows in the first round."""

    def validate(form: FlaskForm, field: Field) -> None:
        if not (field.data or "").strip():
            return  # DataRequired, when the field has it, already said so
        try:
            check(field.data)
        except FieldInvalid as error:
            raise ValidationError(str(error)) from None

    return validate


def session_expired(form: FlaskForm) -> None:
    form.form_errors.append(_("Votre session a expiré. Vos saisies sont conservées : validez à nouveau."))


def show_field_error(form: FlaskForm, error: FieldInvalid) -> None:
    """Put a service's refusal next to the field it concerns (or above the form)."""
    field = form._fields.get(error.field)
    if field is None:
        form.form_errors.append(str(error))
    else:
        field.errors = [*field.errors, str(error)]
