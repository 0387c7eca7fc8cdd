"""The rules a book must follow, written once and applied by the HTML form and the JSON API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from bookshelf.isbn import ISBN_INPUT_MAX
from bookshelf.models import AUTHOR_MAX, PAGES_MAX, REVIEW_MAX, TITLE_MAX

# The earliest publication year the catalogue takes: there is no year 0, and the few books
# from before the common era are rare enough to leave their year unknown.
YEAR_MIN = 1


def latest_year() -> int:
    """Next year: books announced for next year are catalogued already."""
    return dt.datetime.now(dt.UTC).year + 1


@dataclass(frozen=True)
class FieldRule:
    required: bool
    max_length: int | None = None  # text fields, counted after surrounding spaces are removed
    minimum: int | None = None  # whole-number fields
    # A bound that moves with the calendar is a function, asked at each check.
    maximum: int | Callable[[], int] | None = None
    isbn: bool = False  # text that must be an ISBN-10 or ISBN-13 (bookshelf.isbn)

    def upper(self) -> int | None:
        """The maximum as it is today."""
        return self.maximum() if callable(self.maximum) else self.maximum


BOOK_RULES: dict[str, FieldRule] = {
    "title": FieldRule(required=True, max_length=TITLE_MAX),
    "author": FieldRule(required=True, max_length=AUTHOR_MAX),
    "pages_num": FieldRule(required=True, minimum=1, maximum=PAGES_MAX),
    "review": FieldRule(required=False, max_length=REVIEW_MAX),
    "isbn": FieldRule(required=False, max_length=ISBN_INPUT_MAX, isbn=True),
    "year": FieldRule(required=False, minimum=YEAR_MIN, maximum=latest_year),
}
