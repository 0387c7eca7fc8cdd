"""Form validators that speak in the site's own words, in the reader's language.

WTForms' defaults ("Field must be between 3 and 30 characters long.", and their stock Russian
translation "Длина поля должна быть…") are written about "fields" for developers; a reader is
told what to type instead. Every form takes its validators from here.
"""

from __future__ import annotations

from collections.abc import Callable

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from wtforms import Field, Form, IntegerField
from wtforms.validators import DataRequired, InputRequired, StopValidation, ValidationError

from bookshelf.isbn import InvalidIsbn, to_isbn13

FILL_IN = _l("Fill in this field.")


def required(message: str | None = None) -> DataRequired:
    """Something other than blanks must be typed."""
    return DataRequired(message=message or FILL_IN)


def entered(message: str | None = None) -> InputRequired:
    """For numbers: 0 is an answer (then checked by its range), an empty box is not."""
    return InputRequired(message=message or FILL_IN)


class Length:
    """Text length in characters; the message names the side that was crossed."""

    def __init__(self, min: int = 0, max: int | None = None) -> None:
        self.min, self.max = min, max

    def __call__(self, form: Form, field: Field) -> None:
        size = len(field.data or "")
        if size < self.min:
            raise ValidationError(
                ngettext(
                    "Use at least %(num)d character.", "Use at least %(num)d characters.", self.min
                )
            )
        if self.max is not None and size > self.max:
            raise ValidationError(
                ngettext(
                    "Use at most %(num)d character.", "Use at most %(num)d characters.", self.max
                )
            )


class NumberRange:
    """A whole number between two bounds, both allowed; a bound that moves with the calendar
    (next year, say) is a function, asked at each check. `message` may name the kind of number
    (e.g. a year) and gets the same min and max."""

    def __init__(self, min: int, max: int | Callable[[], int], message: str | None = None) -> None:
        self.min, self.max, self.message = min, max, message

    def __call__(self, form: Form, field: Field) -> None:
        high = self.max() if callable(self.max) else self.max
        if field.data is None or not self.min <= field.data <= high:
            message = self.message or _l("Enter a number from %(min)s to %(max)s.")
            raise ValidationError(str(message) % {"min": self.min, "max": high})


class WholeNumberField(IntegerField):
    """IntegerField whose "not a number" message is ours (the stock one says "integer value")."""

    def process_formdata(self, valuelist: list[str]) -> None:
        if not valuelist or valuelist[0].strip() == "":
            self.data = None
            return
        try:
            self.data = int(valuelist[0])
        except ValueError:
            self.data = None
            raise ValueError(str(_l("Enter a whole number, in digits."))) from None

    def pre_validate(self, form: Form) -> None:
        # A value that was not a number has already been reported; say it once.
        if self.process_errors:
            raise StopValidation()


ISBN_MESSAGES = {
    "shape": _l("Type the ISBN’s 10 or 13 digits (an ISBN-10 may end in X); hyphens are fine."),
    "length": _l("Type the ISBN’s 10 or 13 digits (an ISBN-10 may end in X); hyphens are fine."),
    "check digit": _l("This ISBN has a typo: its last digit does not match the others."),
    "prefix": _l("This is not a book’s ISBN: an ISBN-13 starts with 978 or 979."),
}


class Isbn:
    """An ISBN-10 or ISBN-13 (bookshelf.isbn); the field keeps what was typed."""

    def __call__(self, form: Form, field: Field) -> None:
        try:
            to_isbn13(field.data or "")
        except InvalidIsbn as error:
            raise ValidationError(str(ISBN_MESSAGES[error.reason])) from None
