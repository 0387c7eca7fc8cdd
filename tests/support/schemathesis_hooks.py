"""Schemathesis hooks (loaded through SCHEMATHESIS_HOOKS by the live API test).

The API documents a book's ISBN with `format: isbn`: its pattern gives the shape, but the
check digit is arithmetic no JSON Schema can state. Without this strategy schemathesis would
send pattern-valid strings with a wrong check digit as "valid" data; with it, valid data are
real ISBNs (ISBN-10 or ISBN-13, plain or hyphenated), made and checked by python-stdnum.
"""

from __future__ import annotations

import schemathesis
from hypothesis import strategies as st
from stdnum import isbn


def _isbn10(digits: str) -> str:
    total = sum((10 - i) * int(d) for i, d in enumerate(digits))
    check = (11 - total % 11) % 11
    return digits + ("X" if check == 10 else str(check))


def _typed(body: str, prefix: str, hyphenate: bool) -> str:
    number = isbn.to_isbn13(_isbn10(body)) if prefix == "978" else _isbn10(body)
    return isbn.format(number) if hyphenate else number


ISBNS = st.builds(
    _typed,
    st.text("0123456789", min_size=9, max_size=9),
    st.sampled_from(["978", ""]),
    st.booleans(),
).filter(isbn.is_valid)

schemathesis.openapi.format("isbn", ISBNS)
