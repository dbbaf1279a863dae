"""Forms of the invitation pages: inviting an organisation or a person, accepting."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, Field, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, EqualTo, Optional, ValidationError

from app.auth.services import check_new_password
from app.consortia.validation import checked_email, normalise_departements
from app.errors import Invalid
from app.form_fields import max_length, service_rule


def _invitee_name() -> StringField:
    return StringField(
        _l("Nom de la personne invitée"),
        validators=[DataRequired(_l("Indiquez le nom de la personne invitée.")), max_length(200)],
    )


def _invitee_email() -> EmailField:
    return EmailField(
        _l("Son adresse e-mail"),
        validators=[
            DataRequired(_l("Indiquez l'adresse e-mail de la personne invitée.")),
            max_length(254),
            service_rule(checked_email),
        ],
    )


def _personal_message() -> TextAreaField:
    return TextAreaField(_l("Message personnel (facultatif)"), validators=[Optional(), max_length(5000)])


class InviteOrganisationForm(FlaskForm):
    """Invite an organisation to join, through the person who will direct its participation."""

    organisation_name = StringField(
        _l("Nom de l'organisation"),
        validators=[DataRequired(_l("Indiquez le nom de l'organisation.")), max_length(300)],
    )
    departement = StringField(
        _l("Département(s)"),
        validators=[
            DataRequired(_l("Indiquez le ou les départements (par exemple 93).")),
            max_length(80),
            service_rule(normalise_departements),
        ],
    )
    name = _invitee_name()
    email = _invitee_email()
    message = _personal_message()


class InvitePersonForm(FlaskForm):
    """Invite a person: a colleague of a partner, a reader, or a coordinator."""

    name = _invitee_name()
    email = _invitee_email()
    role = SelectField(_l("Rôle"), choices=[], validate_choice=False)
    partner = SelectField(_l("Membre du consortium"), choices=[], validate_choice=False)
    message = _personal_message()


class CreateAccountForm(FlaskForm):
    """The invited person chooses a name and a password."""

    name = StringField(
        _l("Vos prénom et nom"),
        validators=[
            DataRequired(_l("Indiquez votre nom, tel que vos partenaires le connaissent.")),
            max_length(200),
        ],
    )
    password = PasswordField(
        _l("Choisissez un mot de passe (10 caractères au moins)"),
        validators=[DataRequired(_l("Choisissez un mot de passe.")), max_length(1024)],
    )
    password_confirm = PasswordField(
        _l("Retapez le mot de passe"),
        validators=[
            DataRequired(_l("Retapez le mot de passe.")),
            EqualTo("password", message=_l("Les deux mots de passe ne sont pas identiques.")),
        ],
    )

    def validate_password(self, field: Field) -> None:
        """The accounts' rule on length, said at once with the other errors."""
        try:
            check_new_password(field.data or "")
        except Invalid as error:
            raise ValidationError(str(error)) from None


class JoinForm(FlaskForm):
    """Accepting an invitation while logged in as the invited person (the CSRF token only)."""
