"""Migration 0010 on both databases: existing books start unrated, rating triggers keep search
working, and the migration goes down and up again cleanly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select, text

from bookshelf import create_app
from bookshelf.extensions import db
from bookshelf.models import Book, Rating
from bookshelf_helpers import app_config, create_account
from support import require_postgres, sqlalchemy_url, temporary_postgres_database

BEFORE = "0008_isbn_year_cover"
NEW_TABLES = {"shelf_entries", "tags", "shelf_entry_tags", "ratings"}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrate.sqlite3'}"
        return
    require_postgres()
    with temporary_postgres_database("bookshelf_shelves_migrate") as url:
        yield sqlalchemy_url(url)


def test_existing_books_start_unrated_and_search_survives(empty_database: str) -> None:
    app = create_app(app_config(empty_database))
    with app.app_context():
        upgrade(revision=BEFORE)
        db.session.execute(
            text(
                "INSERT INTO books (title, author, pages_num) VALUES ('Oblomov', 'Goncharov', 500)"
            )
        )
        db.session.commit()
        upgrade()
        assert set(inspect(db.engine).get_table_names()) >= NEW_TABLES
        book = db.session.scalars(select(Book)).one()
        assert (book.rating_count, book.rating_sum, book.rating_avg) == (0, 0, 0.0)
        user_id = create_account(app, "anna")
        db.session.add(Rating(user_id=user_id, book_id=book.id, stars=4))
        db.session.commit()
        db.session.refresh(book)
        assert (book.rating_count, book.rating_avg) == (1, 4.0)
        # The trigger's UPDATE of books went through the search triggers: still found.
        search = app.test_client()
        assert [b["title"] for b in search.get("/api/v1/books?q=oblomov").json["items"]] == [
            "Oblomov"
        ]
        db.session.remove()
        downgrade(revision=BEFORE)
        assert not NEW_TABLES & set(inspect(db.engine).get_table_names())
        columns = {c["name"] for c in inspect(db.engine).get_columns("books")}
        assert not {"rating_count", "rating_sum", "rating_avg"} & columns
        upgrade()  # and up again: the book is back unrated, and found
        assert db.session.scalars(select(Book.rating_count)).one() == 0
        assert len(search.get("/api/v1/books?q=oblomov").json["items"]) == 1
        db.session.remove()
        db.engine.dispose()
