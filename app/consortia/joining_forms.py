"""Forms of the joining pages: the public call for volunteers, its settings, invitations, accepting one."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, Field, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError

from app.auth.services import check_new_password
from app.consortia.joining import (
    FieldInvalid,
    Volunteering,
    checked_email,
    checked_siret,
    normalise_departements,
)
from app.errors import Invalid

_SPACES = re.compile(r"[\s\u00a0\u202f]+")


def _length(limit: int) -> Length:
    return Length(max=limit, message=_l("%(max)d caractères au plus."))


def _service_rule(check: Callable[[str], object]) -> Callable[[FlaskForm, Field], None]:
    """A field validator running the service's own check, so every error shows in the first round."""

    def validate(form: FlaskForm, field: Field) -> None:
        if not (field.data or "").strip():
            return  # DataRequired, when the field has it, already said so
        try:
            check(field.data)
        except FieldInvalid as error:
            raise ValidationError(str(error)) from None

    return validate


class VolunteerForm(FlaskForm):
    """A PLIE director volunteers their organisation (public page, no account needed)."""

    organisation_name = StringField(
        _l("Nom de l'organisation"),
        validators=[DataRequired(_l("Indiquez le nom de l'organisation.")), _length(300)],
    )
    organisation_kind = StringField(_l("Type de structure"), validators=[_length(300)])
    departement = StringField(
        _l("Département(s)"),
        validators=[
            DataRequired(_l("Indiquez le ou les départements couverts (par exemple 93).")),
            _length(80),
            _service_rule(normalise_departements),
        ],
    )
    territory = StringField(_l("Territoire d'intervention"), validators=[_length(300)])
    siret = StringField(_l("SIRET (facultatif)"), validators=[_length(40), _service_rule(checked_siret)])
    address = TextAreaField(_l("Adresse postale"), validators=[_length(1000)])
    contact_name = StringField(
        _l("Vos prénom et nom"), validators=[DataRequired(_l("Indiquez votre nom.")), _length(200)]
    )
    contact_role = StringField(_l("Votre fonction"), validators=[_length(200)])
    email = EmailField(
        _l("Votre adresse e-mail"),
        validators=[
            DataRequired(_l("Indiquez votre adresse e-mail : la réponse y sera envoyée.")),
            _length(254),
            _service_rule(checked_email),
        ],
    )
    participants_per_year = StringField(
        _l("Nombre de participants envisagés par an (estimation)"), validators=[_length(20)]
    )
    territories_qpv = TextAreaField(
        _l("Territoires et quartiers prioritaires (QPV) couverts"), validators=[_length(3000)]
    )
    motivation = TextAreaField(
        _l("Votre motivation, en quelques lignes"),
        validators=[
            DataRequired(_l("Dites en quelques lignes pourquoi vous souhaitez rejoindre le consortium.")),
            _length(3000),
        ],
    )

    def validate_participants_per_year(self, field: Field) -> None:
        """A whole number of people, `1 200` with spaces accepted."""
        if self.participants() is None and (field.data or "").strip():
            raise ValidationError(_l("Indiquez un nombre entier de personnes par an, par exemple 120."))

    def participants(self) -> int | None:
        """The estimate as a number, None when left empty or not a whole number."""
        text = _SPACES.sub("", self.participants_per_year.data or "")
        # isdecimal() would accept Arabic-Indic or full-width digits; only ASCII ones are read.
        if not text or not text.isascii() or not text.isdigit() or len(text) > 7:
            return None
        return int(text)

    def volunteering(self) -> Volunteering:
        """What was typed, for the service (declared fields only)."""
        return Volunteering(
            organisation_name=self.organisation_name.data or "",
            organisation_kind=self.organisation_kind.data or "",
            departement=self.departement.data or "",
            territory=self.territory.data or "",
            siret=self.siret.data or "",
            address=self.address.data or "",
            contact_name=self.contact_name.data or "",
            contact_role=self.contact_role.data or "",
            email=self.email.data or "",
            participants_per_year=self.participants(),
            territories_qpv=self.territories_qpv.data or "",
            motivation=self.motivation.data or "",
        )


class VolunteeringIntroForm(FlaskForm):
    """The text at the top of the public page."""

    intro = TextAreaField(_l("Texte d'introduction de la page publique"), validators=[_length(5000)])


class DeclineForm(FlaskForm):
    """Why a request is turned down; sent to the volunteer."""

    message = TextAreaField(
        _l("Message à la personne (envoyé par e-mail)"),
        validators=[
            DataRequired(_l("Écrivez un message à la personne : il lui sera envoyé par e-mail.")),
            _length(5000),
        ],
    )


def _invitee_name() -> StringField:
    return StringField(
        _l("Nom de la personne invitée"),
        validators=[DataRequired(_l("Indiquez le nom de la personne invitée.")), _length(200)],
    )


def _invitee_email() -> EmailField:
    return EmailField(
        _l("Son adresse e-mail"),
        validators=[
            DataRequired(_l("Indiquez l'adresse e-mail de la personne invitée.")),
            _length(254),
            _service_rule(checked_email),
        ],
    )


def _personal_message() -> TextAreaField:
    return TextAreaField(_l("Message personnel (facultatif)"), validators=[Optional(), _length(5000)])


class InviteOrganisationForm(FlaskForm):
    """Invite an organisation to join, through the person who will direct its participation."""

    organisation_name = StringField(
        _l("Nom de l'organisation"),
        validators=[DataRequired(_l("Indiquez le nom de l'organisation.")), _length(300)],
    )
    departement = StringField(
        _l("Département(s)"),
        validators=[
            DataRequired(_l("Indiquez le ou les départements (par exemple 93).")),
            _length(80),
            _service_rule(normalise_departements),
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
            _length(200),
        ],
    )
    password = PasswordField(
        _l("Choisissez un mot de passe (10 caractères au moins)"),
        validators=[DataRequired(_l("Choisissez un mot de passe.")), _length(1024)],
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
