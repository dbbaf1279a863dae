"""The annex upload form (the page's CSRF token is checked before the view, like every form)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from app.annexes.models import ANNEX_KIND_LABELS
from app.annexes.services import TITLE_MAX_CHARS


class UploadForm(FlaskForm):
    """Kind, optional title, file; `replaces` names a co-funding letter or other annex to replace."""

    class Meta:
        csrf = False

    kind = SelectField(
        _l("Type de pièce"),
        choices=[
            SelectChoice("", _l("— Choisir —")),
            *(SelectChoice(kind.value, _l(label)) for kind, label in ANNEX_KIND_LABELS.items()),
        ],
        validate_choice=False,  # an unknown kind gets the service's French message
    )
    title = StringField(_l("Titre (facultatif)"), validators=[Length(max=TITLE_MAX_CHARS)])
    file = FileField(_l("Fichier"))
    replaces = HiddenField()
    back = HiddenField(default="index")
