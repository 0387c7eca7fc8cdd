"""The words of each line of a book list, worked out once per list in Python.

A list page pays for every book on it. In the template, each line's page count, date and
rating went through Jinja's context call and Markup, and each looked up the request's
language and catalogue again: per book, several look-ups through Flask's context proxies.
Here the catalogue and the language are looked up once per list, and each line's words are
plain strings that the template escapes like any other value; none of these translations
holds a character HTML would escape, so the page is the same to the byte.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from bookshelf.i18n import current_locale_name, current_translations, format_date_in, one_decimal
from bookshelf.text import name_key


@dataclass(frozen=True, slots=True)
class BookLine:
    author_path: str  # the author's key, quoted for the end of an authors.show address
    pages: str  # "312 pages", "1 page", "pages unknown"
    date: str  # when it was added, in the page's language
    rating: str | None  # "4.5 out of 5", None when nobody rated it
    ratings: str | None  # "12 ratings"


def book_lines(books: Iterable[Any]) -> list[BookLine]:
    """One BookLine per book (a Book, or a row with the same attributes), in order."""
    translations = current_translations()
    locale = current_locale_name()
    gettext, ngettext = translations.ugettext, translations.ungettext
    unknown = gettext("pages unknown")
    out_of_five = gettext("%(avg)s out of 5")
    lines = []
    for book in books:
        pages = book.pages_num
        count = book.rating_count
        lines.append(
            BookLine(
                author_path=quote(book.author_key or name_key(book.author), safe="/"),
                pages=unknown
                if pages is None
                else ngettext("%(num)d page", "%(num)d pages", pages) % {"num": pages},
                date=format_date_in(book.date_added, locale),
                rating=out_of_five % {"avg": one_decimal(book.rating_avg, locale)}
                if count
                else None,
                ratings=ngettext("%(num)d rating", "%(num)d ratings", count) % {"num": count}
                if count
                else None,
            )
        )
    return lines


def with_lines(books: Iterable[Any]) -> list[tuple[Any, BookLine]]:
    """The `with_lines` filter: each book beside its line, for book_list's loop."""
    books = list(books)
    return list(zip(books, book_lines(books), strict=True))
