"""What counts as blank in submitted text, for every form and the API alike.

Neutral ground: books, users and the API all strip fields the same way, and none of them
should import another's package just for that.
"""

from __future__ import annotations

import unicodedata

# JavaScript's \s, so that an OpenAPI `pattern` built from it means the same to clients as to
# us (Python's own set differs, e.g. for \x1c and \ufeff).
BLANK_CHARACTERS = (
    " \t\n\r\f\v\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_BLANK_CLASS = "".join(f"\\u{ord(c):04x}" for c in BLANK_CHARACTERS)
_NO_NUL = "[^\\u0000]*"  # PostgreSQL text cannot hold NUL


def text_pattern(required: bool) -> str:
    """One regular expression (Python re and JSON Schema alike) for a text field's content:
    no NUL anywhere and, when required, something that is not blank."""
    if required:
        return f"^{_NO_NUL}[^{_BLANK_CLASS}\\u0000]{_NO_NUL}$"
    return f"^{_NO_NUL}$"


def strip(value: object) -> object:
    """A form or API filter: surrounding blanks go; anything not a string passes unchanged."""
    return value.strip(BLANK_CHARACTERS) if isinstance(value, str) else value


def name_key(name: str) -> str:
    """A name as compared: NFKC-normalised and case-folded, surrounding blanks removed, so
    "Лев Толстой", "ЛЕВ ТОЛСТОЙ" and a full-width or ligature spelling are one name."""
    return unicodedata.normalize("NFKC", name.strip(BLANK_CHARACTERS)).casefold()
