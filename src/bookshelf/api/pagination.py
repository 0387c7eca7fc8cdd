"""Opaque keyset cursors for the API's book list, and the page links built from them.

A cursor carries the sort values of the book a page continues from (not just its id), so it
keeps working when that book is deleted, costs the same at any depth, and never needs a page
number past the OFFSET cap. It is signed with the app's SECRET_KEY: clients cannot forge
one, and the server never has to trust a decoded value it did not make.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from flask import current_app, url_for
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Row, select

from bookshelf.books.queries import SORT_ORDERS, catalogue_size, list_books, seek_books, sort_key
from bookshelf.models import Book, User, last_modified
from bookshelf.search.highlight import Matcher, book_highlight
from bookshelf.search.queries import MAX_RESULT_PAGES, NO_FILTERS, Filters, search_books

CURSOR_SALT = "bookshelf.api.cursor"
DIRECTIONS = ("next", "prev", "last")
LINK_RELATIONS = ("self", "first", "prev", "next", "last")


# What BookSchema writes of a listed book, plus the sort columns a cursor needs, read as plain
# rows: a Book per item (identity map, instrumented attributes, the joined User object) cost
# more than writing the item out. The output is the same, byte for byte
# (tests/bookshelf/test_api_list_output.py).
LIST_ITEMS = (
    select(
        Book.id,
        Book.title,
        Book.author,
        Book.pages_num,
        Book.review,
        Book.isbn,
        Book.year,
        Book.date_added,
        Book.updated_at,
        Book.added_by_id,
        User.username.label("added_by_username"),
        Book.added_by_deleted,
        Book.cover,
        Book.rating_avg,
    )
    .select_from(Book)
    .outerjoin(User, Book.added_by_id == User.id)
)


def list_item(row: Row[Any]) -> dict[str, Any]:
    """A row of LIST_ITEMS as BookSchema reads a Book: `last_modified` and `added_by`."""
    item = row._asdict()
    item["last_modified"] = last_modified(row.updated_at, row.date_added)
    username = item.pop("added_by_username")
    item["added_by"] = None if username is None else {"id": row.added_by_id, "username": username}
    return item


class BadCursor(ValueError):
    """A cursor this server did not issue (forged, truncated, or signed with another key)."""


@dataclass(frozen=True)
class Cursor:
    sort: str
    direction: str  # "next" continues after `key`, "prev" before it, "last" from the end
    key: list[Any] | None
    page: int | None  # the page number the cursor leads to, when it is known


@dataclass(frozen=True)
class ListPage:
    books: list[Any]  # Book objects (search), or list_item() dicts (the catalogue)
    meta: dict[str, Any]
    links: dict[str, str | None]


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=CURSOR_SALT)


def encode_cursor(cursor: Cursor) -> str:
    return _serializer().dumps([cursor.sort, cursor.direction, cursor.key, cursor.page])


def decode_cursor(text: str) -> Cursor:
    try:
        sort, direction, key, page = _serializer().loads(text)
    except (BadSignature, ValueError, TypeError) as error:
        raise BadCursor(text) from error
    # Signed by us, so well formed; checked anyway, in case the code changed since.
    if sort not in SORT_ORDERS or direction not in DIRECTIONS:
        raise BadCursor(text)
    if key is not None and (
        not isinstance(key, list) or len(key) != len(SORT_ORDERS[sort].columns)
    ):
        raise BadCursor(text)
    if page is not None and (not isinstance(page, int) or page < 1):
        raise BadCursor(text)
    return Cursor(sort, direction, key, page)


def _link(base: dict[str, Any], **changes: Any) -> str:
    query = {k: v for k, v in {**base, **changes}.items() if v is not None}
    return url_for("api.books", **query)


def keyset_page(sort: str, per_page: int, page: int, cursor: Cursor | None) -> ListPage:
    """A page of the whole catalogue, with first/prev/next/last links that all work."""
    if cursor is not None:
        sort = cursor.sort
    size = catalogue_size()
    pages_total = size.pages(per_page)
    if cursor is None and page > 1:  # a numbered jump (capped, OFFSET): fine near the start
        found = list_books(sort, per_page, page=page, columns=LIST_ITEMS)
        books, number, has_prev, has_next = list(found.books), page, True, found.has_next
    elif cursor is None:
        books, has_next = seek_books(sort, per_page, None, columns=LIST_ITEMS)
        number, has_prev = 1, False
    elif cursor.direction == "next":
        books, has_next = seek_books(sort, per_page, cursor.key, columns=LIST_ITEMS)
        number, has_prev = cursor.page, True
    elif cursor.direction == "prev":
        books, has_prev = seek_books(sort, per_page, cursor.key, forward=False, columns=LIST_ITEMS)
        number, has_next = (cursor.page if has_prev else 1), True
    else:  # last: what is left over, so that its number is the number of pages
        last_size = size.last_page_size(per_page)
        books, has_prev = seek_books(sort, last_size, None, forward=False, columns=LIST_ITEMS)
        number, has_next = (pages_total if has_prev else 1), False

    def cursor_link(direction: str, key: list[Any] | None, to: int | None) -> str:
        token = encode_cursor(Cursor(sort, direction, key, to))
        return _link(base, cursor=token)

    base = {"per_page": per_page}
    links: dict[str, str | None] = {
        "self": _link(base, sort=sort, page=page if cursor is None and page > 1 else None)
        if cursor is None
        else cursor_link(cursor.direction, cursor.key, cursor.page),
        "first": _link(base, sort=sort),
        "prev": None,
        "next": None,
        "last": cursor_link("last", None, pages_total),
    }
    if has_prev and books:
        links["prev"] = cursor_link("prev", sort_key(sort, books[0]), _step(number, -1))
    if has_next and books:
        links["next"] = cursor_link("next", sort_key(sort, books[-1]), _step(number, 1))
    meta = {"total": size.count, "total_exact": size.exact, "page": number, "per_page": per_page}
    return ListPage([list_item(row) for row in books], meta, links)


def _step(number: int | None, by: int) -> int | None:
    if number is None:
        return None
    return max(number + by, 1)


def search_page(
    term: str,
    per_page: int,
    page: int,
    highlight: bool = False,
    filters: Filters = NO_FILTERS,
) -> ListPage:
    """Ranked search results: numbered pages, up to the search's own page cap; with
    `highlight`, each book carries its matched words marked."""
    results = search_books(term, page, per_page, filters=filters)
    if highlight:
        matches = Matcher(results.terms)
        for book in results.books:
            book.highlight = book_highlight(book, matches)  # type: ignore[attr-defined]
    base: dict[str, object] = {"q": term, "per_page": per_page, **filters.params()}
    if highlight:
        base["highlight"] = "true"
    last = None
    if results.total_exact:
        last = min(max(math.ceil(results.total / per_page), 1), MAX_RESULT_PAGES)
    links: dict[str, str | None] = {
        "self": _link(base, page=page),
        "first": _link(base),
        "prev": _link(base, page=page - 1) if page > 1 else None,
        "next": _link(base, page=page + 1)
        if results.has_next and page < MAX_RESULT_PAGES
        else None,
        "last": _link(base, page=last) if last is not None else None,
    }
    meta = {
        "total": results.total,
        "total_exact": results.total_exact,
        "page": page,
        "per_page": per_page,
    }
    return ListPage(results.books, meta, links)


def link_header(links: dict[str, str | None]) -> str:
    """The same links as an RFC 8288 `Link` header (relative references, as in the body)."""
    return ", ".join(
        f'<{links[rel]}>; rel="{rel}"' for rel in LINK_RELATIONS if links.get(rel) is not None
    )
