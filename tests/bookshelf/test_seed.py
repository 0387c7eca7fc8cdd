"""`flask seed` on PostgreSQL: an empty catalogue is loaded and indexed from two sessions at
once; whatever happens, it ends with the same books as one COPY would give and every index."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import text

from bookshelf import cli, seeding
from bookshelf.extensions import db
from bookshelf_fixtures import ON_POSTGRES
from bookshelf_helpers import add_books, make_rows

pytestmark = ON_POSTGRES

INDEXES = "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'books' ORDER BY 1"
# More rows than one batch per session: both sessions load, and take batches in turn.
COUNT = seeding.BATCH_ROWS * 5 + 17


def fetch(app: Flask, statement: str) -> list[tuple]:
    with app.app_context():
        return [tuple(row) for row in db.session.execute(text(statement))]


def seed(app: Flask, *args: str) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["seed", *args])
    return result.exit_code, result.output + repr(result.exception or "")


def test_an_empty_catalogue_gets_the_books_of_one_copy_and_every_index(app: Flask) -> None:
    indexes = fetch(app, INDEXES)
    code, output = seed(app, "--count", str(COUNT), "--seed", "3")
    assert code == 0, output
    columns = "id, title, author, pages_num, review, search_keys, author_key"
    stored = fetch(app, f"SELECT {columns} FROM books ORDER BY id")  # noqa: S608
    expected = [(n, *row) for n, row in enumerate(cli.synthetic_books(COUNT, 3), 1)]
    assert stored == expected
    assert fetch(app, INDEXES) == indexes
    assert fetch(app, "SELECT * FROM pending_index_builds") == []
    assert fetch(app, "SELECT books FROM catalogue_count") == [(COUNT,)]
    # The typo dictionary has the seed's words, and its trigger works for the next book.
    words = {w for (w,) in fetch(app, "SELECT word FROM search_words")}
    assert set(cli.seed_vocabulary()) <= words
    [book_id] = add_books(app, [{"title": "Quixotic Zephyr", "author": "A B", "pages_num": 3}])
    assert book_id == COUNT + 1  # the reserved ids are taken; the sequence goes on after them
    assert {"quixotic", "zephyr"} <= {w for (w,) in fetch(app, "SELECT word FROM search_words")}


def test_a_catalogue_with_books_keeps_them_and_every_index(app: Flask) -> None:
    indexes = fetch(app, INDEXES)
    add_books(app, make_rows(3))
    code, output = seed(app, "--count", "40", "--batch-size", "7")  # one transaction
    assert code == 0, output
    code, output = seed(app, "--count", "5", "--batch-size", "2")  # batches through the indexes
    assert code == 0, output
    assert fetch(app, "SELECT count(*) FROM books") == [(48,)]
    assert fetch(app, INDEXES) == indexes
    assert fetch(app, "SELECT * FROM pending_index_builds") == []


SYNTHETIC_BOOKS = cli.synthetic_books


def failing_after(rows: int) -> Iterator[tuple]:
    yield from SYNTHETIC_BOOKS(rows, 1)
    yield ("Bad", "Row", 0, "", None, "row")  # pages_num must be positive


def test_a_failed_load_leaves_no_book_and_every_index(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    indexes = fetch(app, INDEXES)
    monkeypatch.setattr(cli, "synthetic_books", lambda count, seed: failing_after(count - 1))
    code, output = seed(app, "--count", str(COUNT))
    assert code != 0
    assert "ck_books_pages_num_positive" in output  # the database's own reason, not "stopped"
    assert fetch(app, "SELECT count(*) FROM books") == [(0,)]
    assert fetch(app, "SELECT books FROM catalogue_count") == [(0,)]
    assert fetch(app, INDEXES) == indexes
    assert fetch(app, "SELECT * FROM pending_index_builds") == []


def test_the_next_seed_rebuilds_what_an_interrupted_one_dropped(app: Flask) -> None:
    indexes = fetch(app, INDEXES)
    # What a seed killed between its load and its index builds leaves behind.
    with app.app_context(), db.engine.connect() as connection:
        seeding.drop_secondary_indexes(connection)
        connection.commit()
    assert len(fetch(app, INDEXES)) == 1  # the primary key's
    code, output = seed(app, "--count", "10")
    assert code == 0, output
    assert "Rebuilt 10 indexes that an interrupted seed had dropped." in output
    assert fetch(app, INDEXES) == indexes
    assert fetch(app, "SELECT * FROM pending_index_builds") == []


def test_only_one_seed_runs_at_a_time(app: Flask) -> None:
    with app.app_context(), db.engine.connect() as other:
        other.execute(text("SELECT pg_advisory_lock(:key)"), {"key": seeding.INDEXES_LOCK})
        code, output = seed(app, "--count", "10")
        other.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": seeding.INDEXES_LOCK})
    assert code == 1
    assert "Another `flask seed` or `flask search-index` is running on this database" in output
    assert fetch(app, "SELECT count(*) FROM books") == [(0,)]


def test_a_bulk_load_may_leave_the_typo_dictionary_to_itself(app: Flask) -> None:
    insert = "INSERT INTO books (title, author, pages_num) VALUES (:title, 'Some One', 1)"
    with app.app_context(), db.engine.connect() as connection:
        seeding.skip_word_trigger(connection)
        connection.execute(text(insert), {"title": "Skipped"})
        connection.commit()
        connection.execute(text(insert), {"title": "Counted"})  # the setting ended with commit
        connection.commit()
    words = {w for (w,) in fetch(app, "SELECT word FROM search_words")}
    assert "counted" in words
    assert "skipped" not in words
