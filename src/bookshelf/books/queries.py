"""Listing books with keyset (seek) pagination: a page costs the same at any depth."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    bindparam,
    func,
    literal_column,
    select,
    text,
    tuple_,
)

from bookshelf.database import read_rows
from bookshelf.extensions import db
from bookshelf.http_cache import note_version
from bookshelf.i18n import N_
from bookshelf.models import Book

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100
# `?page=N` jumps use OFFSET, which is only cheap near the start; further on, follow the links.
MAX_JUMP_PAGE = 50


@dataclass(frozen=True)
class SortOrder:
    label: str  # a message id: the page translates it where it shows it
    key: Any  # the column sorted on; ties are broken by id
    descending: bool = False

    @property
    def columns(self) -> list[Any]:
        return [self.key] if self.key is Book.id else [self.key, Book.id]


# Books whose page count is unknown (NULL) sort as 0, first in ascending order: a NULL in the
# keyset comparison would drop them from every page after the first. Indexed with the id.
PAGES_SORT = func.coalesce(Book.pages_num, 0)

SORT_ORDERS: dict[str, SortOrder] = {
    "newest": SortOrder(N_("Newest first"), Book.id, descending=True),
    "oldest": SortOrder(N_("Oldest first"), Book.id),
    "title": SortOrder(N_("Title"), Book.title),
    "author": SortOrder(N_("Author"), Book.author),
    "pages": SortOrder(N_("Pages"), PAGES_SORT),
    # Best average first; books nobody rated (average 0) come last.
    "rating": SortOrder(N_("Rating"), Book.rating_avg, descending=True),
}
DEFAULT_SORT = "newest"


@dataclass(frozen=True)
class CatalogueSize:
    count: int
    exact: bool  # always true now; kept for the API's `total_exact`

    def pages(self, per_page: int) -> int:
        """How many pages of per_page books the list has (one, when it is empty)."""
        return max(math.ceil(self.count / per_page), 1)

    def last_page_size(self, per_page: int) -> int:
        """How many books the last page holds, so that it is numbered like the others."""
        return self.count - (self.pages(per_page) - 1) * per_page or per_page


# What a list of books shows (the book_list macro): read as plain rows, without the ORM's
# identity map or the joined load of who added each book that a whole Book brings.
SUMMARY_COLUMNS = (
    Book.id,
    Book.title,
    Book.author,
    Book.author_key,
    Book.pages_num,
    Book.year,
    Book.date_added,
    Book.rating_avg,
    Book.rating_count,
    Book.cover,
)
# The catalogue's size and version ride along with a page's rows: the database reads the
# one-row counter once for the statement, and the page saves a round trip of its own (the
# version is what a visitor's ETag is made of: bookshelf.http_cache).
CATALOGUE_TOTAL = literal_column("(SELECT books FROM catalogue_count WHERE id = 1)").label(
    "catalogue_total"
)
CATALOGUE_VERSION = literal_column("(SELECT version FROM catalogue_count WHERE id = 1)").label(
    "catalogue_version"
)


SUMMARY_SELECT = select(*SUMMARY_COLUMNS, CATALOGUE_TOTAL, CATALOGUE_VERSION)
BOOK_SELECT = select(Book)
CATALOGUE_SIZE = text("SELECT books, version FROM catalogue_count WHERE id = 1")


@dataclass(frozen=True)
class BookPage:
    books: Sequence[Any]  # Book objects, or rows of SUMMARY_COLUMNS for list_books(summary=True)
    number: int | None  # None when reached through "last" and the total is not exact
    has_prev: bool
    has_next: bool

    def last_rows(self, count: int) -> BookPage:
        """The last page cut to its own size, from a full page read from the end of the list."""
        if count >= len(self.books):
            return self
        return BookPage(self.books[-count:], None, has_prev=True, has_next=False)

    @property
    def catalogue_size(self) -> CatalogueSize | None:
        """The size read with a summary page's rows; None for Book objects or no rows."""
        total = getattr(self.books[0], "catalogue_total", None) if self.books else None
        return CatalogueSize(int(total), exact=True) if total is not None else None

    @property
    def first_id(self) -> int | None:
        return self.books[0].id if self.books else None

    @property
    def last_id(self) -> int | None:
        return self.books[-1].id if self.books else None


class AnchorNotFound(LookupError):
    """The book a cursor points at was deleted meanwhile."""


def _ordered(query: Select[Any], sort: SortOrder, reverse: bool) -> Select[Any]:
    descending = sort.descending != reverse
    return query.order_by(*(col.desc() if descending else col.asc() for col in sort.columns))


def sort_key(sort_name: str, book: Any) -> list[Any]:
    """The values a keyset cursor needs to continue after (or before) this book (a Book, or a
    row with its sort columns)."""
    return [
        (book.pages_num or 0) if col is PAGES_SORT else getattr(book, col.key)
        for col in SORT_ORDERS[sort_name].columns
    ]


def _seek_values(sort: SortOrder, values: list[Any], forward: bool) -> ColumnElement[bool]:
    greater = sort.descending != forward
    left = sort.columns[0] if len(values) == 1 else tuple_(*sort.columns)
    right = values[0] if len(values) == 1 else tuple_(*values)
    return left > right if greater else left < right


# A page's statement has a few shapes (sort order, direction, whether it seeks from a key),
# and each is built once: SQLAlchemy works out a statement's cache key the first time it is
# executed and keeps it on the object, and that work was more than half of a list's
# statement cost when the statement was built anew for every request (measured). The values
# travel as parameters.
PAGE_LIMIT = bindparam("page_limit", type_=Integer)
PAGE_OFFSET = bindparam("page_offset", type_=Integer)


@lru_cache(maxsize=256)
def page_statement(
    sort_name: str, base: Select[Any], seek_forward: bool | None, reverse: bool
) -> Select[Any]:
    """`base` in the sort's order (or reversed), from the key in the parameters `seek_0`,
    `seek_1` (after it when seek_forward, before it when not; no key when None), with
    LIMIT page_limit OFFSET page_offset. Callers pass module-level selects as `base`."""
    sort = SORT_ORDERS[sort_name]
    query = base
    if seek_forward is not None:
        key = [bindparam(f"seek_{i}", type_=col.type) for i, col in enumerate(sort.columns)]
        query = query.where(_seek_values(sort, key, seek_forward))
    return _ordered(query, sort, reverse).offset(PAGE_OFFSET).limit(PAGE_LIMIT)


def page_parameters(rows: int, offset: int = 0, key: Sequence[Any] = ()) -> dict[str, Any]:
    """The values of a page_statement: how many rows, from where, after which key."""
    return {"page_limit": rows, "page_offset": offset} | {
        f"seek_{i}": value for i, value in enumerate(key)
    }


@lru_cache(maxsize=16)
def anchor_statement(sort_name: str) -> Select[Any]:
    """The sort values of the book `anchor_id` (a cursor's book), and the catalogue version."""
    columns = SORT_ORDERS[sort_name].columns
    return select(*columns, CATALOGUE_VERSION).where(Book.id == bindparam("anchor_id"))


def list_books(
    sort_name: str,
    per_page: int,
    *,
    page: int = 1,
    after: int | None = None,
    before: int | None = None,
    last: bool = False,
    summary: bool = False,
    columns: Select[Any] | None = None,
) -> BookPage:
    """One page of books. `after`/`before` are the ids of the rows the page continues from.

    With `summary`, the books are read-only rows of SUMMARY_COLUMNS, enough for a list page;
    with `columns` (a select from books), rows of that select.
    """
    base = SUMMARY_SELECT if summary else BOOK_SELECT if columns is None else columns

    # Rows (a summary, or the caller's columns) are read outside the session, each statement
    # on its own (bookshelf.database.read_rows); Book objects need the session.
    def fetch(query: Select[Any], parameters: dict[str, Any]) -> list[Any]:
        if summary:
            rows = read_rows(query, parameters)
            note_version(rows[0].catalogue_version if rows else None)
            return rows
        if columns is not None:
            return read_rows(query, parameters)
        return list(db.session.scalars(query, parameters))

    anchor_id = after if after is not None else before
    if anchor_id is not None:
        found = next(iter(read_rows(anchor_statement(sort_name), {"anchor_id": anchor_id})), None)
        if found is None:
            raise AnchorNotFound(anchor_id)
        note_version(found[-1])
        forward = after is not None
        query = page_statement(sort_name, base, forward, not forward)
        rows = fetch(query, page_parameters(per_page + 1, key=found[:-1]))
        more = len(rows) > per_page
        rows = rows[:per_page]
        if forward:
            return BookPage(rows, page, has_prev=True, has_next=more)
        rows.reverse()
        return BookPage(rows, page if more else 1, has_prev=more, has_next=True)
    if last:
        rows = fetch(page_statement(sort_name, base, None, True), page_parameters(per_page + 1))
        more = len(rows) > per_page
        rows = rows[:per_page]
        rows.reverse()
        return BookPage(rows, None if more else 1, has_prev=more, has_next=False)
    offset = (page - 1) * per_page
    query = page_statement(sort_name, base, None, False)
    rows = fetch(query, page_parameters(per_page + 1, offset))
    return BookPage(rows[:per_page], page, has_prev=page > 1, has_next=len(rows) > per_page)


def seek_books(
    sort_name: str,
    per_page: int,
    key: list[Any] | None,
    forward: bool = True,
    columns: Select[Any] | None = None,
) -> tuple[list[Any], bool]:
    """Up to per_page books after (forward) or before `key`, in list order, and whether more
    lie beyond them in that direction. key=None starts at that end of the list. Book objects,
    or with `columns` (a select from books) rows of that select.

    Unlike list_books' `after`/`before`, the key holds the sort values themselves, so a page
    can continue from a book that was deleted meanwhile.
    """
    base = BOOK_SELECT if columns is None else columns
    query = page_statement(sort_name, base, None if key is None else forward, not forward)
    parameters = page_parameters(per_page + 1, key=key or ())
    if columns is None:
        rows: list[Any] = list(db.session.scalars(query, parameters))
    else:
        rows = read_rows(query, parameters)
    more = len(rows) > per_page
    rows = rows[:per_page]
    if not forward:
        rows.reverse()
    return rows, more


def catalogue_size() -> CatalogueSize:
    """How many books there are, exact at any size: one row kept by database triggers in the
    same transaction as every insert, delete and truncate (migration 0009), so no request
    counts the table."""
    row = next(iter(read_rows(CATALOGUE_SIZE)), None)
    note_version(row.version if row is not None else None)
    return CatalogueSize(int(row.books if row is not None else 0), exact=True)


def latest_books(limit: int = 5) -> list[Book]:
    return list(db.session.scalars(select(Book).order_by(Book.id.desc()).limit(limit)))
