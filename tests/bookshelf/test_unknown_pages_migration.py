"""Migration 0011 on both databases: a page count may be NULL afterwards, the full-text search
still follows new books, the CHECK still refuses 0, and the way down refuses to invent counts."""

from __future__ import annotations

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError
from test_shelves_migration import empty_database

from bookshelf import create_app
from bookshelf.extensions import db
from bookshelf_helpers import app_config

__all__ = ["empty_database"]  # a fresh, unmigrated database on SQLite and PostgreSQL

BEFORE = "0010_shelves_ratings"
INSERT = "INSERT INTO books (title, author, pages_num) VALUES (:title, 'Goncharov', :pages)"


def pages_nullable() -> bool:
    columns = {c["name"]: c for c in inspect(db.engine).get_columns("books")}
    return bool(columns["pages_num"]["nullable"])


def test_unknown_pages_up_down_and_search(
    empty_database: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(app_config(empty_database))
    client = app.test_client()
    with app.app_context():
        upgrade(revision=BEFORE)
        db.session.execute(text(INSERT), {"title": "Oblomov", "pages": 500})
        db.session.commit()
        assert not pages_nullable()
        upgrade()
        assert pages_nullable()
        db.session.execute(text(INSERT), {"title": "Frigate Pallada", "pages": None})
        db.session.commit()
        found = client.get("/api/v1/books?q=pallada").json["items"]
        assert [(b["title"], b["pages_num"]) for b in found] == [("Frigate Pallada", None)]
        with pytest.raises(IntegrityError):
            db.session.execute(text(INSERT), {"title": "Zero", "pages": 0})
        db.session.rollback()

        db.session.remove()
        with pytest.raises(SystemExit):  # Flask-Migrate logs the migration's refusal, exits
            downgrade(revision=BEFORE)
        assert "1 books have no page count" in caplog.text
        db.session.remove()
        db.session.execute(text("DELETE FROM books WHERE pages_num IS NULL"))
        db.session.commit()
        db.session.remove()
        downgrade(revision=BEFORE)
        assert not pages_nullable()
        upgrade()
        assert pages_nullable()
        assert [b["title"] for b in client.get("/api/v1/books?q=oblomov").json["items"]] == [
            "Oblomov"
        ]
        db.session.remove()
        db.engine.dispose()


def book_indexes() -> set[str]:
    # From the catalogs: SQLAlchemy's inspector skips expression indexes on SQLite.
    if db.engine.dialect.name == "postgresql":
        sql = "SELECT indexname FROM pg_indexes WHERE tablename = 'books'"
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'books'"
    names = set(db.session.execute(text(sql)).scalars())
    db.session.rollback()
    return names


def test_pages_sort_has_one_index(empty_database: str) -> None:
    """Sorting by pages reads the coalesce(pages_num, 0) index; the plain one, which nothing
    read any more, is gone (and comes back on the way down)."""
    app = create_app(app_config(empty_database))
    with app.app_context():
        upgrade()
        assert "ix_books_pages_sort_id" in book_indexes()
        assert "ix_books_pages_num_id" not in book_indexes()
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("SET LOCAL enable_seqscan = off"))
            plan = db.session.execute(
                text("EXPLAIN SELECT id FROM books ORDER BY coalesce(pages_num, 0), id LIMIT 21")
            ).scalars()
            assert "ix_books_pages_sort_id" in "\n".join(plan)
            db.session.rollback()
        db.session.remove()
        downgrade(revision="0013_search_recent_brin")
        assert "ix_books_pages_num_id" in book_indexes()
        db.session.remove()
        db.engine.dispose()
