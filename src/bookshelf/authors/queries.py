"""Authors as the catalogue knows them: books grouped by books.author_key (bookshelf.text.name_key),
so "Лев Толстой" and "ЛЕВ ТОЛСТОЙ" are one author. Every query is a range of the
(author_key, id) index."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from bookshelf.extensions import db
from bookshelf.models import Book

BOOKS_PER_PAGE = 20
AUTHORS_PER_PAGE = 100
# `?page=N` uses OFFSET: cheap for one author's books or one letter's authors near the start.
MAX_PAGE = 50
# The index's letters, in each alphabet's order (Ё is filed under Е, as in Russian dictionaries).
LATIN = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
CYRILLIC = "АБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЭЮЯ"
LETTERS = LATIN + CYRILLIC
BOOK_SORTS: dict[str, tuple[Any, list[Any]]] = {
    "title": (_l("Title"), [Book.title, Book.id]),
    "newest": (_l("Newest first"), [Book.id.desc()]),
    "year": (_l("Year published"), [Book.year.desc().nulls_last(), Book.id.desc()]),
}
DEFAULT_BOOK_SORT = "title"


@dataclass(frozen=True)
class AuthorSummary:
    key: str
    name: str  # a spelling the catalogue uses for this author
    books: int


def author_name(key: str) -> str | None:
    """How the newest book by this author spells the name; None when there is none."""
    query = select(Book.author).where(Book.author_key == key).order_by(Book.id.desc()).limit(1)
    return db.session.scalar(query)


def count_books(key: str) -> int:
    return db.session.scalar(select(func.count()).where(Book.author_key == key)) or 0


def books_by(key: str, sort: str, page: int, per_page: int = BOOKS_PER_PAGE) -> list[Book]:
    order = BOOK_SORTS[sort][1]
    query = (
        select(Book)
        .where(Book.author_key == key)
        .order_by(*order)
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return list(db.session.scalars(query))


def letter_range(letter: str) -> tuple[str, str]:
    """The author keys that start with LETTER: from its folded form up to the next character
    (keys are compared by code point on both databases). Е takes Ё too."""
    low = letter.casefold()
    return low, chr(ord(low) + 1)


def authors_starting_with(letter: str, page: int) -> tuple[list[AuthorSummary], bool]:
    """One page of the authors whose name starts with LETTER, alphabetically, with how many
    books each has; and whether there are more."""
    low, high = letter_range(letter)
    condition = (Book.author_key >= low) & (Book.author_key < high)
    if letter == "Е":
        condition = condition | (Book.author_key.like("ё%"))
    query = (
        select(Book.author_key, func.max(Book.author), func.count())
        .where(condition)
        .group_by(Book.author_key)
        .order_by(Book.author_key)
        .offset((page - 1) * AUTHORS_PER_PAGE)
        .limit(AUTHORS_PER_PAGE + 1)
    )
    rows = db.session.execute(query).all()
    authors = [AuthorSummary(key, name, count) for key, name, count in rows[:AUTHORS_PER_PAGE]]
    return authors, len(rows) > AUTHORS_PER_PAGE
