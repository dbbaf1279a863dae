"""Forms of the writing pages: the text (without JavaScript), the lead writer, comments."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField, SelectMultipleField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from app.sections.comments import MAX_COMMENT_LENGTH

# The API's hard cap: a text beyond it is refused, whatever the section's own limit.
MAX_TEXT_LENGTH = 200_000


def _optional_int(value: object) -> int | None:
    if value in (None, "", "None"):
        return None
    try:
        return int(str(value))
    except ValueError:
        return None


class TextForm(FlaskForm):
    """A part's text as typed in the plain text area, with the revision it started from."""

    content = TextAreaField(
        _l("Texte"),
        validators=[Length(max=MAX_TEXT_LENGTH, message=_l("Le texte dépasse 200 000 caractères."))],
    )
    base_revision = HiddenField(
        validators=[InputRequired(_l("La version de départ manque : rechargez la page."))]
    )

    def base(self) -> int | None:
        """The revision the text started from, None when unreadable."""
        value = _optional_int(self.base_revision.data)
        return value if value is not None and value >= 0 else None


class WriterForm(FlaskForm):
    """The lead writer of a section (a partner, a person, or both) and the internal due date."""

    partner = SelectField(_l("Membre chargé de la rédaction"), coerce=_optional_int, validate_choice=False)
    user = SelectField(_l("Personne chargée de la rédaction"), coerce=_optional_int, validate_choice=False)
    due_date = DateField(
        _l("À rendre le"), validators=[Optional()], format="%Y-%m-%d", render_kw={"type": "date"}
    )


class CommentForm(FlaskForm):
    """A new comment or a reply, with the people or members it mentions."""

    body = TextAreaField(
        _l("Commentaire"),
        validators=[
            InputRequired(_l("Écrivez votre commentaire.")),
            Length(max=MAX_COMMENT_LENGTH, message=_l("Un commentaire fait au plus 5 000 caractères.")),
        ],
    )
    mentions = SelectMultipleField(_l("Mentionner (prévenu par e-mail)"), validate_choice=False)
    parent = HiddenField()
