"""Forms of the volunteering pages: the public call for volunteers, its text, a refusal."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, Field, StringField, TextAreaField
from wtforms.validators import DataRequired, ValidationError

from app.consortia.validation import checked_email, checked_siret, normalise_departements
from app.form_fields import max_length, service_rule
from app.volunteering.services import Volunteering

_SPACES = re.compile(r"[\s\u00a0\u202f]+")


class VolunteerForm(FlaskForm):
    """A PLIE director volunteers their organisation (public page, no account needed)."""

    organisation_name = StringField(
        _l("Nom de l'organisation"),
        validators=[DataRequired(_l("Indiquez le nom de l'organisation.")), max_length(300)],
    )
    organisation_kind = StringField(_l("Type de structure"), validators=[max_length(300)])
    departement = StringField(
        _l("Département(s)"),
        validators=[
            DataRequired(_l("Indiquez le ou les départements couverts (par exemple 93).")),
            max_length(80),
            service_rule(normalise_departements),
        ],
    )
    territory = StringField(_l("Territoire d'intervention"), validators=[max_length(300)])
    siret = StringField(_l("SIRET (facultatif)"), validators=[max_length(40), service_rule(checked_siret)])
    address = TextAreaField(_l("Adresse postale"), validators=[max_length(1000)])
    contact_name = StringField(
        _l("Vos prénom et nom"), validators=[DataRequired(_l("Indiquez votre nom.")), max_length(200)]
    )
    contact_role = StringField(_l("Votre fonction"), validators=[max_length(200)])
    email = EmailField(
        _l("Votre adresse e-mail"),
        validators=[
            DataRequired(_l("Indiquez votre adresse e-mail : la réponse y sera envoyée.")),
            max_length(254),
            service_rule(checked_email),
        ],
    )
    participants_per_year = StringField(
        _l("Nombre de participants envisagés par an (estimation)"), validators=[max_length(20)]
    )
    territories_qpv = TextAreaField(
        _l("Territoires et quartiers prioritaires (QPV) couverts"), validators=[max_length(3000)]
    )
    motivation = TextAreaField(
        _l("Votre motivation, en quelques lignes"),
        validators=[
            DataRequired(_l("Dites en quelques lignes pourquoi vous souhaitez rejoindre le consortium.")),
            max_length(3000),
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

    intro = TextAreaField(_l("Texte d'introduction de la page publique"), validators=[max_length(5000)])


class DeclineForm(FlaskForm):
    """Why a request is turned down; sent to the volunteer."""

    message = TextAreaField(
        _l("Message à la personne (envoyé par e-mail)"),
        validators=[
            DataRequired(_l("Écrivez un message à la personne : il lui sera envoyé par e-mail.")),
            max_length(5000),
        ],
    )
