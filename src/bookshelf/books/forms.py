from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.datastructures import FileStorage
from wtforms import BooleanField, Field, Form, StringField, TextAreaField
from wtforms.validators import Optional, Regexp, ValidationError

from bookshelf.books.rules import BOOK_RULES
from bookshelf.covers.images import (
    ACCEPTED_MIME_TYPES,
    MAX_BYTES,
    TOO_LARGE,
    CoverRejected,
    process_cover,
)
from bookshelf.covers.storage import CoverStore
from bookshelf.models import Book
from bookshelf.text import strip, text_pattern
from bookshelf.validators import (
    Isbn,
    Length,
    NumberRange,
    WholeNumberField,
    entered,
    required,
)


def validators_for(name: str) -> list[object]:
    """WTForms validators built from the shared BOOK_RULES."""
    rule = BOOK_RULES[name]
    is_number = rule.minimum is not None
    checks: list[object] = []
    if rule.required:
        # InputRequired for numbers: DataRequired would call 0 "missing" instead of "too small".
        checks.append(entered() if is_number else required())
    else:
        checks.append(Optional())
    if rule.isbn:
        checks.append(Isbn())  # its own shape and length, in its own words
    elif rule.max_length is not None:
        checks.append(Length(max=rule.max_length))
        invisible = _l("Remove the invisible characters.")
        checks.append(Regexp(text_pattern(rule.required), message=invisible))
    if is_number:
        checks.append(NumberRange(min=rule.minimum, max=rule.maximum, message=number_message(name)))
    return checks


def checked_cover(_form: Form, field: Field) -> None:
    """Decode and re-encode the chosen file now, so a bad one is an error beside the field."""
    field.processed = None
    upload = field.data
    if not isinstance(upload, FileStorage) or not upload.filename:
        return  # no file chosen: the cover stays as it is
    try:
        field.processed = process_cover(upload.stream.read(MAX_BYTES + 1))
    except CoverRejected as rejected:
        raise ValidationError(str(rejected.message)) from rejected


def number_message(name: str) -> str | None:
    """The out-of-range message: a year is called a year."""
    if name == "year":
        return _l("Enter a year from %(min)s to %(max)s, in digits.")
    return None


class BookForm(FlaskForm):
    title = StringField(_l("Title"), filters=[strip], validators=validators_for("title"))
    author = StringField(_l("Author"), filters=[strip], validators=validators_for("author"))
    pages_num = WholeNumberField(_l("Pages"), validators=validators_for("pages_num"))
    review = TextAreaField(_l("Review"), filters=[strip], validators=validators_for("review"))
    cover = FileField(
        _l("Cover"),
        validators=[checked_cover],
        # For app.js: a file over the limit is named before it is sent (lazy: translated).
        render_kw={
            "accept": ",".join(ACCEPTED_MIME_TYPES),
            "data-max-bytes": MAX_BYTES,
            "data-too-large": TOO_LARGE,
        },
        description=_l("JPEG, PNG or WebP, up to 5 MB."),
    )
    remove_cover = BooleanField(_l("Remove the cover"))
    isbn = StringField(_l("ISBN"), filters=[strip], validators=validators_for("isbn"))
    year = WholeNumberField(_l("Year published"), validators=validators_for("year"))

    def for_book(self, book: Book) -> BookForm:
        """Editing a book whose page count nobody knew (an import without one): the field may
        stay empty, and the book keeps "unknown" rather than a made-up number. A known count
        cannot be erased."""
        if book.pages_num is None:
            rule = BOOK_RULES["pages_num"]
            self.pages_num.validators = [
                Optional(),
                NumberRange(min=rule.minimum, max=rule.maximum),
            ]
            self.pages_num.flags.required = False
        return self

    def apply_to(self, book: Book) -> None:
        book.update({name: self[name].data for name in BOOK_RULES})
        processed = getattr(self.cover, "processed", None)
        if processed is not None:
            # The files are written before the row that names them is committed.
            book.cover = CoverStore.for_app().save(processed)
        elif self.remove_cover.data:
            book.cover = None
