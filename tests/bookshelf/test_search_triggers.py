"""SQLite's search index is rebuilt for a book only when its words change: a new rating (kept
on the book by triggers) must not send the row through the Python stemmers again."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from flask import Flask

from bookshelf.search.sqlite import register_functions_on
from bookshelf.wordforms import stemmed
from bookshelf_helpers import add_books, make_rows


@pytest.fixture
def database_uri(tmp_path: Path) -> str:
    """SQLite only: PostgreSQL keeps its index by a generated column, not by triggers."""
    return f"sqlite:///{tmp_path / 'triggers.sqlite3'}"


def stem_calls(path: Path, statement: str, params: tuple[object, ...]) -> int:
    """How often the stemmer runs for STATEMENT, on a connection with the app's functions."""
    calls = 0
    connection = sqlite3.connect(path)
    register_functions_on(connection)

    def counting(text: str | None) -> str:
        nonlocal calls
        calls += 1
        return stemmed(text)

    connection.create_function("bookshelf_stems", 1, counting, deterministic=True)
    with connection:
        connection.execute(statement, params)
    connection.close()
    return calls


def test_a_rating_does_not_reindex_the_book(app: Flask, tmp_path: Path) -> None:
    [book_id] = add_books(app, make_rows(1))
    path = tmp_path / "triggers.sqlite3"
    rating = "UPDATE books SET rating_count = 1, rating_sum = 4, rating_avg = 4 WHERE id = ?"
    assert stem_calls(path, rating, (book_id,)) == 0
    # A change of words still reaches the index (title, author, review and keys).
    assert stem_calls(path, "UPDATE books SET title = 'Other' WHERE id = ?", (book_id,)) == 4
