"""Reading and writing the reading-list cookie: an ordered list of book ids."""

from __future__ import annotations

from flask import flash
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from bookshelf.ids import MAX_ID
from bookshelf.signed_cookies import (
    UnreadableCookie,
    delete_cookie,
    read_signed_cookie,
    write_signed_cookie,
)

COOKIE_NAME = "reading_list"
SALT = "reading-list"
MAX_BOOKS = 100


def parse_book_ids(value: object) -> list[int]:
    """A trusted-shape list of unique positive ids, in order; anything else is unreadable."""
    if not isinstance(value, list) or len(value) > MAX_BOOKS:
        raise UnreadableCookie(COOKIE_NAME)
    if not all(type(item) is int and 0 < item <= MAX_ID for item in value):
        raise UnreadableCookie(COOKIE_NAME)
    return list(dict.fromkeys(value))


def load_reading_list() -> tuple[list[int], bool]:
    """The ids, and whether the cookie must be written again: it was unreadable (then the list
    is empty, and the reader is told) or it named a book twice (kept once, silently)."""
    try:
        value = read_signed_cookie(COOKIE_NAME, SALT)
        book_ids = [] if value is None else parse_book_ids(value)
    except UnreadableCookie:
        flash(_("Your reading list could not be read and has been emptied."), "warning")
        return [], True
    return book_ids, value is not None and book_ids != value


def save_reading_list(response: Response, book_ids: list[int]) -> Response:
    if book_ids:
        write_signed_cookie(response, COOKIE_NAME, SALT, book_ids)
    else:
        delete_cookie(response, COOKIE_NAME)
    return response
