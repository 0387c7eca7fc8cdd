"""ISBNs as readers type them and as the catalogue keeps them.

A reader may type an ISBN-10 or an ISBN-13, with or without hyphens or spaces; the catalogue
keeps the 13 digits of the ISBN-13 (an ISBN-10 is converted), so one book has one spelling
and a search compares plain strings. python-stdnum checks the check digit and the prefix and
knows the registration ranges that place the hyphens.

Neutral ground, like bookshelf.text: books, the API and search all read ISBNs.
"""

from __future__ import annotations

import re

# What an ISBN may look like as typed: 10 or 13 characters (the last of an ISBN-10 may be X),
# single hyphens or spaces between them. One expression for Python and JSON Schema alike.
ISBN_PATTERN = r"^(?:[0-9][ -]?){9}[0-9Xx]$|^(?:[0-9][ -]?){12}[0-9]$"
# The longest typed form: 13 digits and 12 separators.
ISBN_INPUT_MAX = 25
_SHAPE = re.compile(ISBN_PATTERN)


class InvalidIsbn(ValueError):
    """Not an ISBN; `reason` is "shape", "length" or "check digit" (for the messages)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def to_isbn13(typed: str) -> str:
    """The 13 digits of the ISBN typed (ISBN-10 or ISBN-13); InvalidIsbn when it is none."""
    typed = typed.strip()
    if not _SHAPE.fullmatch(typed):
        compact = re.sub(r"[ -]", "", typed)
        raise InvalidIsbn("length" if compact.isdigit() else "shape")
    # python-stdnum is imported where it is used, and only for text shaped like an ISBN: it
    # adds about 10 MB to a process, and every search asks whether its words are an ISBN.
    from stdnum import isbn as stdnum_isbn
    from stdnum.exceptions import InvalidChecksum, InvalidLength, ValidationError

    try:
        return str(stdnum_isbn.to_isbn13(stdnum_isbn.validate(typed)))
    except InvalidChecksum:
        raise InvalidIsbn("check digit") from None
    except InvalidLength:
        raise InvalidIsbn("length") from None
    except ValidationError:
        # A 13-digit number that is no book number (not 978/979), or the like.
        raise InvalidIsbn("prefix") from None


def isbn_or_none(typed: str) -> str | None:
    """to_isbn13, or None for text that is not an ISBN (a search box's words, say)."""
    try:
        return to_isbn13(typed)
    except InvalidIsbn:
        return None


def hyphenated(isbn13: str) -> str:
    """The stored 13 digits as printed on books, e.g. 978-5-17-118366-6."""
    from stdnum import isbn as stdnum_isbn
    from stdnum.exceptions import ValidationError

    try:
        return str(stdnum_isbn.format(isbn13))
    except ValidationError:
        return isbn13
