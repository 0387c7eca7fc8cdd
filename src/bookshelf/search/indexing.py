"""Keeps Book.search_keys in step with title and author on every ORM update."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from bookshelf.models import Book
from bookshelf.wordforms import keys_for


@event.listens_for(Book, "before_update")
def refresh_search_keys(_mapper: Any, _connection: Any, book: Book) -> None:
    book.search_keys = keys_for(book.title, book.author)
