from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField
from wtforms.validators import DataRequired, Regexp


class UploadForm(FlaskForm):
    file = FileField(
        _l("Goodreads export (CSV)"),
        validators=[FileRequired(_l("Choose the CSV file Goodreads exported."))],
    )


class ConfirmForm(FlaskForm):
    """The previewed file, named by the random key it was kept under."""

    upload = HiddenField(validators=[DataRequired(), Regexp(r"^[A-Za-z0-9_-]{16,64}$")])
