"""The books index remembers the chosen sort order and page size in a signed cookie."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from werkzeug.wrappers import Response

from bookshelf.books.queries import DEFAULT_PER_PAGE, DEFAULT_SORT, MAX_PER_PAGE, SORT_ORDERS
from bookshelf.signed_cookies import UnreadableCookie, read_signed_cookie, write_signed_cookie

COOKIE_NAME = "book_list_prefs"
SALT = "book-list-preferences"


@dataclass(frozen=True)
class ListPreferences:
    sort: str = DEFAULT_SORT
    per_page: int = DEFAULT_PER_PAGE

    @classmethod
    def valid(cls, sort: object, per_page: object) -> ListPreferences:
        """Anything out of range falls back to the default, field by field."""
        return cls(
            sort=sort if isinstance(sort, str) and sort in SORT_ORDERS else DEFAULT_SORT,
            per_page=max(1, min(MAX_PER_PAGE, per_page))
            if type(per_page) is int
            else DEFAULT_PER_PAGE,
        )


def load_preferences() -> ListPreferences:
    try:
        value = read_signed_cookie(COOKIE_NAME, SALT)
    except UnreadableCookie:
        return ListPreferences()  # a preference is not worth a warning: just use the defaults
    if not isinstance(value, dict):
        return ListPreferences()
    return ListPreferences.valid(value.get("sort"), value.get("per_page"))


def save_preferences(response: Response, preferences: ListPreferences) -> Response:
    write_signed_cookie(response, COOKIE_NAME, SALT, asdict(preferences))
    return response
