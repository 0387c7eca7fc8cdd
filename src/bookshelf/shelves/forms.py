from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, Field, Form, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional, Regexp, ValidationError

from bookshelf.models import READER_REVIEW_MAX, SHELVES, STARS_MAX, STARS_MIN
from bookshelf.shelves.service import SHELF_LABELS, Placement, ShelfError, parse_tags
from bookshelf.text import strip, text_pattern
from bookshelf.validators import Length, required


class ReaderDateField(DateField):
    """A calendar date whose "not a date" message speaks to the reader, not the developer."""

    def process_formdata(self, valuelist: list[str]) -> None:
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        try:
            self.data = dt.date.fromisoformat(valuelist[0].strip())
        except ValueError:
            self.data = None
            raise ValueError(str(_l("Enter a date as year-month-day, e.g. 2024-03-31."))) from None


class TagsField(StringField):
    """Named shelves as comma-separated text; .names holds them once validated."""

    names: tuple[str, ...] = ()

    def pre_validate(self, form: Form) -> None:
        try:
            self.names = parse_tags(self.data or "")
        except ShelfError as error:
            raise ValidationError(error.message) from None


class ShelfForm(FlaskForm):
    shelf = SelectField(
        _l("Shelf"),
        choices=[
            SelectChoice("", _l("Not on my shelves")),
            *(SelectChoice(key, SHELF_LABELS[key]) for key in SHELVES),
        ],
        validate_choice=False,  # checked by Placement, with our own message
    )
    started_on = ReaderDateField(_l("Started"), validators=[Optional()])
    finished_on = ReaderDateField(_l("Finished"), validators=[Optional()])
    tags = TagsField(
        _l("My shelves"),
        filters=[strip],
        description=_l("Your own shelf names, separated by commas."),
    )

    def placement(self) -> Placement:
        return Placement(
            shelf=self.shelf.data or None,
            started_on=self.started_on.data,
            finished_on=self.finished_on.data,
            tags=self.tags.names,
        )

    def validate(self, extra_validators: object = None) -> bool:
        if not super().validate(extra_validators):  # type: ignore[arg-type]
            return False
        try:
            self.placement().check()
        except ShelfError as error:
            field: Field = self[error.field]
            field.errors = [*field.errors, error.message]
            return False
        return True


class RatingForm(FlaskForm):
    stars = RadioField(
        _l("My rating"),
        choices=[SelectChoice(str(n), str(n)) for n in range(STARS_MIN, STARS_MAX + 1)],
        validators=[required(_l("Choose from 1 to 5 stars."))],
        validate_choice=False,
    )
    review = TextAreaField(
        _l("My review"),
        filters=[strip],
        validators=[
            Optional(),
            Length(max=READER_REVIEW_MAX),
            Regexp(text_pattern(False), message=_l("Remove the invisible characters.")),
        ],
    )

    def validate_stars(self, field: Field) -> None:
        if field.data not in {str(n) for n in range(STARS_MIN, STARS_MAX + 1)}:
            raise ValidationError(str(_l("Choose from 1 to 5 stars.")))
