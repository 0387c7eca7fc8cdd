"""Database ids from URLs, forms and cookies: whole numbers the database columns can hold."""

from __future__ import annotations

from typing import Any

from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1  # PostgreSQL `integer`; a larger number would be a database error, not a 404


def parse_id(value: Any) -> int:
    """For `request.args.get(..., type=parse_id)`: ValueError makes Flask use the default."""
    number = int(value)
    if not 1 <= number <= MAX_ID:
        raise ValueError(f"{value!r} is not a valid id")
    return number


class IdConverter(IntegerConverter):
    """`<id:book_id>`: like `<int:...>`, but only ids the database can hold (else 404)."""

    def __init__(self, url_map: Any) -> None:
        super().__init__(url_map, min=1, max=MAX_ID)
