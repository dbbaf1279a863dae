"""Forms of the partners pages: a person's role, a withdrawal, the lead hand-over."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from app.consortia.models import Role
from app.members.withdrawal import REASON_MAX_CHARS


class RoleForm(FlaskForm):
    """Director or contributor (the page's CSRF token is checked before the view)."""

    class Meta:
        csrf = False

    role = SelectField(
        _l("Rôle"),
        choices=[
            SelectChoice(Role.DIRECTOR.value, _l("Direction")),
            SelectChoice(Role.CONTRIBUTOR.value, _l("Contribution")),
        ],
        validators=[DataRequired(_l("Choisissez « Direction » ou « Contribution »."))],
        validate_choice=False,  # an unknown role gets the service's French message
    )


class WithdrawForm(FlaskForm):
    """Why the partner leaves: mandatory, shown to the other partners and kept in the history."""

    reason = TextAreaField(
        _l("Raison du retrait"),
        validators=[
            DataRequired(_l("Indiquez la raison du retrait : elle est communiquée aux autres membres.")),
            Length(
                max=REASON_MAX_CHARS,
                message=_l("La raison du retrait ne peut pas dépasser %(max)d caractères."),
            ),
        ],
    )


class HandOverForm(FlaskForm):
    """Which active partner becomes the lead; `confirmed` is set by the confirmation step."""

    new_lead = RadioField(
        _l("Nouveau chef de file"),
        validators=[DataRequired(_l("Choisissez le membre qui devient chef de file."))],
        validate_choice=False,  # the service says why a partner cannot become lead
    )
    confirmed = HiddenField(default="")
