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


# What counts as blank: JavaScript's \s, so that the OpenAPI `pattern` below means the same to
# clients as to us (Python's own set differs, e.g. for \x1c and \ufeff).
BLANK_CHARACTERS = (
    " \t\n\r\f\v\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_BLANK_CLASS = "".join(f"\\u{ord(c):04x}" for c in BLANK_CHARACTERS)
_NO_NUL = "[^\\u0000]*"  # PostgreSQL text cannot hold NUL


def text_pattern(rule: FieldRule) -> str:
    """One regular expression (Python re and JSON Schema alike) for a text field's content."""
    if rule.required:  # something not blank, and no NUL anywhere
        return f"^{_NO_NUL}[^{_BLANK_CLASS}\\u0000]{_NO_NUL}$"
    return f"^{_NO_NUL}$"


def strip(value: object) -> object:
    return value.strip(BLANK_CHARACTERS) if isinstance(value, str) else value
