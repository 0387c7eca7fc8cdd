from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from bookshelf.models import AUTHOR_MAX, PAGES_MAX, REVIEW_MAX, TITLE_MAX, Book


def strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class BookForm(FlaskForm):
    """The one set of rules for a book, used by the HTML forms and the JSON API alike."""

    title = StringField(
        _l("Title"), filters=[strip], validators=[DataRequired(), Length(max=TITLE_MAX)]
    )
    author = StringField(
        _l("Author"), filters=[strip], validators=[DataRequired(), Length(max=AUTHOR_MAX)]
    )
    pages_num = IntegerField(
        _l("Pages"),
        validators=[
            InputRequired(),
            NumberRange(min=1, max=PAGES_MAX),
        ],
    )
    review = TextAreaField(
        _l("Review"), filters=[strip], validators=[Optional(), Length(max=REVIEW_MAX)]
    )

    def apply_to(self, book: Book) -> None:
        book.title = self.title.data
        book.author = self.author.data
        book.pages_num = self.pages_num.data
        book.review = self.review.data or None
