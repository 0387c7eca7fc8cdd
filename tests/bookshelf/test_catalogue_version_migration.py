"""Migration 0012 on both databases: the catalogue version follows books, ratings and users'
names and deletions from the first write, and the way down removes it and every trigger."""

from __future__ import annotations

from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text
from test_shelves_migration import empty_database

from bookshelf import create_app
from bookshelf.extensions import db
from bookshelf_helpers import app_config

__all__ = ["empty_database"]  # a fresh, unmigrated database on SQLite and PostgreSQL

BEFORE = "0011_unknown_pages"
VERSION = "SELECT version FROM catalogue_count WHERE id = 1"


def write(statement: str) -> int:
    """Run one write; the catalogue version afterwards."""
    db.session.execute(text(statement))
    db.session.commit()
    return db.session.scalar(text(VERSION))


def test_catalogue_version_up_and_down(empty_database: str) -> None:
    app = create_app(app_config(empty_database))
    with app.app_context():
        upgrade(revision=BEFORE)
        db.session.execute(text("INSERT INTO books (title, author) VALUES ('Oblomov', 'G')"))
        db.session.commit()
        upgrade()
        assert db.session.scalar(text(VERSION)) == 0
        versions = [
            write(
                "INSERT INTO users (username, username_key, password_hash) VALUES ('a', 'a', 'x')"
            ),
            write("INSERT INTO books (title, author) VALUES ('Pallada', 'G')"),
            write("UPDATE books SET cover = 'c' WHERE title = 'Pallada'"),
            write(
                "INSERT INTO ratings (user_id, book_id, stars, review, updated_at) "
                "SELECT u.id, b.id, 4, 'Fine', CURRENT_TIMESTAMP FROM users u, books b "
                "WHERE b.title = 'Oblomov'"
            ),
            write("UPDATE ratings SET review = 'Better'"),
            write("UPDATE users SET password_hash = 'y'"),  # not shown anywhere: no change
            write("UPDATE users SET username = 'b'"),
            write("DELETE FROM users"),
            write("DELETE FROM books WHERE title = 'Pallada'"),
        ]
        assert versions[0] == 0  # a new account shows on no catalogue page
        assert versions[0] < versions[1] < versions[2] < versions[3] < versions[4]
        assert versions[5] == versions[4]
        assert versions[5] < versions[6] < versions[7] < versions[8]

        db.session.remove()
        downgrade(revision=BEFORE)
        columns = {c["name"] for c in inspect(db.engine).get_columns("catalogue_count")}
        assert "version" not in columns
        db.session.execute(text("INSERT INTO books (title, author) VALUES ('After', 'G')"))
        db.session.commit()  # no trigger is left behind to write the dropped column
        db.session.remove()
        upgrade()
        # At least once: on PostgreSQL the delete's cascade to ratings is a statement too.
        assert write("DELETE FROM books WHERE title = 'After'") >= 1
        db.engine.dispose()
