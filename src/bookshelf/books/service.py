"""Finding the book a request is about, and whether the current user may change it.

No HTTP here: the outcomes are exceptions that each interface turns into its own answer
(books.routes: the site's translated 404/403 pages; api.routes: English problem documents).
"""

from __future__ import annotations

from flask_login import current_user
from sqlalchemy import select

from bookshelf.books.queries import CATALOGUE_VERSION
from bookshelf.extensions import db
from bookshelf.http_cache import note_version
from bookshelf.models import Book


class BookNotFound(LookupError):
    def __init__(self, book_id: int) -> None:
        super().__init__(book_id)
        self.book_id = book_id


class NotAllowed(PermissionError):
    """The current user may read this book but not change it (not its adder, not an admin)."""

    def __init__(self, book_id: int) -> None:
        super().__init__(book_id)
        self.book_id = book_id


def get_book(book_id: int, *, check_owner: bool = True) -> Book:
    """The book, checked for change rights unless the caller only reads it.

    Safe by default: a caller that forgets the argument refuses strangers rather than letting
    them change the book; pages and endpoints that only show it pass check_owner=False.
    """
    # The catalogue's version comes with the book, for a visitor's ETag (bookshelf.http_cache).
    found = db.session.execute(select(Book, CATALOGUE_VERSION).where(Book.id == book_id)).first()
    if found is None:
        raise BookNotFound(book_id)
    book, version = found
    note_version(version)
    if check_owner and not current_user.can_change(book):
        raise NotAllowed(book_id)
    return book
