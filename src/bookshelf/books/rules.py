"""The rules a book must follow, written once and applied by the HTML form and the JSON API."""

from __future__ import annotations

from dataclasses import dataclass

from bookshelf.models import AUTHOR_MAX, PAGES_MAX, REVIEW_MAX, TITLE_MAX


@dataclass(frozen=True)
class FieldRule:
    required: bool
    max_length: int | None = None  # text fields, counted after surrounding spaces are removed
    minimum: int | None = None  # whole-number fields
    maximum: int | None = None


BOOK_RULES: dict[str, FieldRule] = {
    "title": FieldRule(required=True, max_length=TITLE_MAX),
    "author": FieldRule(required=True, max_length=AUTHOR_MAX),
    "pages_num": FieldRule(required=True, minimum=1, maximum=PAGES_MAX),
    "review": FieldRule(required=False, max_length=REVIEW_MAX),
}
