"""The catalogue's size is exact at any size, and a deleted book's id is never given again;
on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import threading
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import downgrade, upgrade
from sqlalchemy import delete, func, insert, select, text

from bookshelf import create_app
from bookshelf.extensions import db
from bookshelf.models import Book
from bookshelf_fixtures import ON_POSTGRES
from bookshelf_helpers import add_books, app_config, make_rows
from support import temporary_sqlite_database

# More than the thousand books the list used to count before it guessed.
CATALOGUE = 3_002


def test_the_list_gives_the_exact_size_and_the_number_of_pages(
    app: Flask, client: FlaskClient
) -> None:
    add_books(app, make_rows(CATALOGUE))
    html = client.get("/books?page=3&per_page=20").get_data(as_text=True)
    assert "3,002 books in the catalogue" in html
    assert "About" not in html
    assert re.search(r"Page 3 of 151\b", html), html
    # The last page knows its number too.
    last = client.get("/books?last=1&per_page=20").get_data(as_text=True)
    assert "Page 151 of 151" in last
    assert last.count('class="book-title"') == 2  # what is left over: 3,002 - 150 x 20


def test_the_api_total_is_exact_and_last_leads_to_the_last_page(
    app: Flask, client: FlaskClient
) -> None:
    add_books(app, make_rows(CATALOGUE))
    body = client.get("/api/v1/books?per_page=20").get_json()
    assert (body["meta"]["total"], body["meta"]["total_exact"]) == (CATALOGUE, True)
    last = client.get(body["links"]["last"]).get_json()
    assert last["meta"]["page"] == 151
    assert len(last["items"]) == 2


def test_a_deleted_books_id_is_never_given_to_a_new_book(app: Flask) -> None:
    """An old link to /books/<id> must never open a different book."""
    ids = add_books(app, make_rows(3))
    newest = max(ids)
    with app.app_context():
        db.session.execute(delete(Book).where(Book.id == newest))
        db.session.commit()
    [new_id] = add_books(app, make_rows(1))
    assert new_id > newest
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Book)) == 3


def counts(app: Flask) -> tuple[int, int]:
    """(the counter, COUNT(*)), read together."""
    with app.app_context():
        counter = db.session.scalar(text("SELECT books FROM catalogue_count WHERE id = 1"))
        actual = db.session.scalar(select(func.count()).select_from(Book))
        db.session.rollback()
        return counter, actual


WRITERS = 4
ROUNDS = 15


def test_the_counter_matches_count_after_concurrent_inserts_and_deletes(app: Flask) -> None:
    """Writers on their own connections insert batches and delete some of what they and the
    others inserted, at the same time; the counter must end equal to COUNT(*)."""
    add_books(app, make_rows(50))
    with app.app_context():
        engine = db.engine
    start = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def writer(number: int) -> None:
        try:
            start.wait()
            for round_ in range(ROUNDS):
                with engine.begin() as connection:
                    rows = make_rows(5, author=f"Writer {number}")
                    connection.execute(insert(Book), rows)
                with engine.begin() as connection:
                    # Deletes rows the others may be deleting too: each row counts once.
                    connection.execute(
                        delete(Book).where(
                            Book.id.in_(select(Book.id).order_by(Book.id).limit(2 + round_ % 3))
                        )
                    )
        except BaseException as error:  # reported below, with the thread's traceback
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    counter, actual = counts(app)
    assert counter == actual
    assert 0 < actual < 50 + WRITERS * ROUNDS * 5  # both inserts and deletes happened


# TRUNCATE is PostgreSQL's; on SQLite a DELETE without WHERE runs the row triggers.
@ON_POSTGRES
def test_truncate_resets_the_counter(app: Flask) -> None:
    add_books(app, make_rows(7))
    with app.app_context():
        db.session.execute(text("TRUNCATE books CASCADE"))
        db.session.commit()
    assert counts(app) == (0, 0)
    add_books(app, make_rows(3))
    assert counts(app) == (3, 3)


def test_flask_seed_keeps_the_counter_exact(app: Flask) -> None:
    add_books(app, make_rows(4))
    runner = app.test_cli_runner()
    # 300 on top of 4: on PostgreSQL the single-COPY path that drops and rebuilds indexes.
    result = runner.invoke(args=["seed", "--count", "300", "--batch-size", "120"])
    assert result.exit_code == 0, result.output
    assert counts(app) == (304, 304)
    # Fewer than there are: the batched path.
    result = runner.invoke(args=["seed", "--count", "50", "--batch-size", "20", "--seed", "2"])
    assert result.exit_code == 0, result.output
    assert counts(app) == (354, 354)


def test_author_keys_are_set_on_insert_and_change(app: Flask) -> None:
    [book_id] = add_books(app, [{"title": "Anna", "author": "ЛЕВ Толстой", "pages_num": 9}])
    with app.app_context():
        book = db.session.get(Book, book_id)
        assert book.author_key == "лев толстой"
        book.update({"author": "Straße Ｗｒｉｔｅｒ"})
        db.session.commit()
        assert db.session.get(Book, book_id).author_key == "strasse writer"


def test_the_sqlite_rebuild_keeps_every_row_id_and_search(tmp_path: Path) -> None:
    """From 0008 to 0009 on SQLite: same rows and ids, search and its triggers still work,
    the counter starts right, and ids are not reused from then on."""
    with temporary_sqlite_database(tmp_path) as url:
        app = create_app(app_config(url))
        with app.app_context():
            upgrade(revision="0008_isbn_year_cover")
            rows = [
                {"title": "Old Road", "author": "Лев Толстой", "pages_num": 10, "year": 1869},
                {"title": "Warm Snow", "author": "Anna Akhmatova", "pages_num": 20},
                {"title": "Gone Soon", "author": "Anna Akhmatova", "pages_num": 30},
            ]
            for row in rows:
                db.session.execute(
                    text(
                        "INSERT INTO books (title, author, pages_num, year) "
                        "VALUES (:title, :author, :pages_num, :year)"
                    ),
                    {"year": None, **row},
                )
            db.session.execute(text("DELETE FROM books WHERE title = 'Gone Soon'"))
            db.session.commit()
            before = db.session.execute(text("SELECT * FROM books ORDER BY id")).all()
            upgrade()
            after = db.session.execute(
                text(f"SELECT {', '.join(before[0]._fields)} FROM books ORDER BY id")  # noqa: S608
            ).all()
            assert after == before
            keys = db.session.scalars(text("SELECT author_key FROM books ORDER BY id")).all()
            assert keys == ["лев толстой", "anna akhmatova"]
            assert db.session.scalar(text("SELECT books FROM catalogue_count")) == 2
            client = app.test_client()
            found = client.get("/api/v1/books", query_string={"q": "snow"}).get_json()
            assert [b["title"] for b in found["items"]] == ["Warm Snow"]
            [new_id] = db.session.scalars(
                insert(Book).returning(Book.id),
                [{"title": "Fresh Snow", "author": "Someone", "pages_num": 5}],
            ).all()
            db.session.commit()
            assert new_id > before[-1].id
            found = client.get("/api/v1/books", query_string={"q": "snow"}).get_json()
            assert [b["title"] for b in found["items"]] == ["Fresh Snow", "Warm Snow"]
            assert db.session.scalar(text("SELECT books FROM catalogue_count")) == 3
            db.session.remove()
            downgrade(revision="0008_isbn_year_cover")
            assert db.session.scalar(select(func.count()).select_from(text("books"))) == 3
            db.session.remove()
            db.engine.dispose()


def test_a_transaction_of_many_writes_bumps_the_catalogue_version_once(app: Flask) -> None:
    """The version only has to change when a write commits. Bumped per statement, it updated
    one row again and again within a long transaction (an import runs thousands of
    statements), and each update had to walk the row's earlier versions."""
    read = text("SELECT version FROM catalogue_count WHERE id = 1")
    with app.app_context():
        before = db.session.scalar(read)
        for row in make_rows(3):
            db.session.execute(insert(Book).values(**row))
        db.session.execute(text("UPDATE books SET review = 'x'"))
        db.session.commit()
        once = db.session.scalar(read)
        db.session.execute(text("UPDATE books SET review = 'y'"))
        db.session.commit()
        again = db.session.scalar(read)
    assert once > before  # the transaction's writes are seen
    assert again > once  # and so are the next transaction's
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        assert (once - before, again - once) == (1, 1)
