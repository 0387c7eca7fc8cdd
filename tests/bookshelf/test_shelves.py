"""A signed-in reader's shelves (exclusive shelf with dates, named shelves) through the pages."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeSerializer
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bookshelf.extensions import db
from bookshelf.models import Book, ShelfEntry, Tag, User
from bookshelf_helpers import (
    TEST_SECRET,
    add_books,
    create_account,
    csrf_token,
    flashes,
    make_rows,
    sign_in,
)

TITLE = re.compile(r'class="book-title" href="/books/\d+">([^<]+)</a>')
NAV_COUNT = re.compile(r'class="nav-count"[^>]*>(\d+)<')


def shelve(client: FlaskClient, book_id: int, **fields: str):
    data = {"shelf": "", "started_on": "", "finished_on": "", "tags": "", **fields}
    data["csrf_token"] = csrf_token(client, f"/books/{book_id}")
    return client.post(f"/books/{book_id}/shelf", data=data)


def my_books(client: FlaskClient, query: str = "") -> str:
    response = client.get(f"/my-books{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.fixture
def reader(app: Flask, client: FlaskClient) -> list[int]:
    """A signed-in reader "anna" and five books."""
    ids = add_books(app, make_rows(5))
    create_account(app, "anna")
    sign_in(client, "anna")
    return ids


def test_shelves_counts_and_filters(app: Flask, client: FlaskClient, reader: list[int]) -> None:
    ids = reader
    response = shelve(client, ids[0], shelf="want", tags="Classics, to buy")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/books/{ids[0]}#my-shelf"
    shelve(client, ids[1], shelf="reading", started_on="2026-01-02", tags="classics")
    shelve(client, ids[2], shelf="read", started_on="2026-01-02", finished_on="2026-02-03")
    shelve(client, ids[3], shelf="want")

    html = my_books(client)
    assert NAV_COUNT.findall(html) == ["4"]
    assert "All (4)" in html and "Want to read (2)" in html
    assert "Reading (1)" in html and "Read (1)" in html
    # Names compare ignoring case; the first spelling is the one kept.
    assert "Classics (2)" in html and "to buy (1)" in html
    assert TITLE.findall(my_books(client, "?shelf=want")) == ["Book 004", "Book 001"]
    assert TITLE.findall(my_books(client, "?shelf=read")) == ["Book 003"]
    assert TITLE.findall(my_books(client, "?tag=CLASSICS")) == ["Book 002", "Book 001"]
    assert TITLE.findall(my_books(client, "?shelf=want&tag=classics")) == ["Book 001"]
    assert client.get("/my-books?shelf=nonsense").status_code == 404

    # Moving a book to another shelf keeps it on one; "not on my shelves" takes it off.
    shelve(client, ids[0], shelf="read", finished_on="2026-03-01")
    shelve(client, ids[3])
    with app.app_context():
        rows = db.session.execute(select(ShelfEntry.book_id, ShelfEntry.shelf)).all()
        assert sorted(rows) == [(ids[0], "read"), (ids[1], "reading"), (ids[2], "read")]
        # "to buy" was only on the book that lost its names: it is gone.
        assert sorted(db.session.scalars(select(Tag.name))) == ["Classics"]
    page = client.get(f"/books/{ids[0]}").get_data(as_text=True)
    assert '<option value="read" selected>' in page
    assert 'value="2026-03-01"' in page


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"shelf": "read", "started_on": "2026-02-03", "finished_on": "2026-01-02"},
            "The finish date is before the start date.",
        ),
        ({"shelf": "read", "finished_on": "31.02.2026"}, "Enter a date as year-month-day"),
        ({"shelf": "want", "finished_on": "2026-01-02"}, "A finish date goes with the Read shelf."),
        ({"shelf": "want", "started_on": "2026-01-02"}, "A start date goes with Reading or Read."),
        ({"shelf": "read", "finished_on": "2999-01-01"}, "That date is in the future."),
        ({"shelf": "", "tags": "fun"}, "Put the book on a shelf before naming shelves."),
        ({"shelf": "want", "tags": "x" * 41}, "A shelf name is 40 characters at most."),
        (
            {"shelf": "want", "tags": ",".join(f"t{n}" for n in range(21))},
            "A book can be on 20 named shelves at most.",
        ),
        ({"shelf": "lent"}, "Choose one of the shelves."),
    ],
)
def test_bad_input_is_refused_and_kept(
    app: Flask, client: FlaskClient, reader: list[int], fields: dict[str, str], message: str
) -> None:
    response = shelve(client, reader[0], **fields)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html
    assert 'aria-invalid="true"' in html
    for value in fields.values():
        if value and value != "lent":
            assert f'value="{value}"' in html  # the input is kept
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ShelfEntry)) == 0


def test_messages_in_russian(app: Flask, client: FlaskClient, reader: list[int]) -> None:
    client.set_cookie("lang", "ru")
    bad = shelve(client, reader[0], shelf="read", started_on="2026-02-03", finished_on="2026-01-02")
    assert "Дата окончания раньше даты начала." in bad.get_data(as_text=True)
    done = shelve(client, reader[0], shelf="want")
    html = client.get(done.headers["Location"]).get_data(as_text=True)
    assert ("success", "«Book 001» теперь на полке «Хочу прочитать».") in flashes(html)
    assert "Мои книги" in my_books(client)


def test_shelving_needs_a_signed_in_reader_and_csrf(app: Flask, client: FlaskClient) -> None:
    [book_id] = add_books(app, make_rows(1))
    anonymous = client.post(
        f"/books/{book_id}/shelf", data={"shelf": "want", "csrf_token": csrf_token(client)}
    )
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    assert client.get("/my-books").status_code == 302
    create_account(app, "anna")
    sign_in(client, "anna")
    assert client.post(f"/books/{book_id}/shelf", data={"shelf": "want"}).status_code == 400
    assert shelve(client, 99999, shelf="want").status_code == 404


def test_a_book_is_on_one_exclusive_shelf_in_the_database(app: Flask, reader: list[int]) -> None:
    with app.app_context():
        user_id = db.session.scalar(select(User.id))
        db.session.add(ShelfEntry(user_id=user_id, book_id=reader[0], shelf="want"))
        db.session.commit()
        db.session.add(ShelfEntry(user_id=user_id, book_id=reader[0], shelf="read"))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        db.session.add(ShelfEntry(user_id=user_id, book_id=reader[1], shelf="lent"))
        with pytest.raises(IntegrityError):
            db.session.commit()


def test_shelves_go_with_the_account_or_the_book(
    app: Flask, client: FlaskClient, reader: list[int]
) -> None:
    shelve(client, reader[0], shelf="want", tags="a")
    shelve(client, reader[1], shelf="read", tags="b")
    with app.app_context():
        db.session.delete(db.session.get(Book, reader[0]))
        db.session.commit()
        assert db.session.scalars(select(ShelfEntry.book_id)).all() == [reader[1]]
        db.session.delete(db.session.get(User, db.session.scalar(select(User.id))))
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(ShelfEntry)) == 0
        assert db.session.scalar(select(func.count()).select_from(Tag)) == 0


def reading_list_cookie(ids: list[int]) -> str:
    return URLSafeSerializer(TEST_SECRET, salt="reading-list").dumps(ids)


def test_the_visitor_list_joins_want_to_read_at_sign_in(app: Flask, client: FlaskClient) -> None:
    ids = add_books(app, make_rows(4))
    create_account(app, "anna")
    # Already on Read from another device: it stays there.
    sign_in(client, "anna")
    shelve(client, ids[2], shelf="read")
    client.post("/logout", data={"csrf_token": csrf_token(client)})

    # As a visitor, through the real reading-list form; then a book is deleted meanwhile.
    for book_id in (ids[1], ids[0], ids[2], ids[3]):
        client.post(
            "/reading-list", data={"book_id": str(book_id), "csrf_token": csrf_token(client)}
        )
    with app.app_context():
        db.session.delete(db.session.get(Book, ids[3]))
        db.session.commit()

    response = client.post(
        "/login",
        data={
            "username": "anna",
            "password": "correct horse battery",
            "csrf_token": csrf_token(client, "/login"),
        },
    )
    assert response.status_code == 302
    [cookie] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("reading_list=")]
    assert "Max-Age=0" in cookie
    assert client.get_cookie("reading_list") is None
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert (
        "success",
        "2 books from this browser’s reading list are now on Want to read.",
    ) in flashes(html)
    assert TITLE.findall(my_books(client, "?shelf=want")) == ["Book 001", "Book 002"]
    assert TITLE.findall(my_books(client, "?shelf=read")) == ["Book 003"]


def test_a_tampered_visitor_list_is_dropped_at_sign_in(app: Flask, client: FlaskClient) -> None:
    add_books(app, make_rows(1))
    create_account(app, "anna")
    client.set_cookie("reading_list", "garbage")
    sign_in(client, "anna")
    assert client.get_cookie("reading_list") is None
    assert TITLE.findall(my_books(client)) == []


def test_sign_up_merges_the_visitor_list(app: Flask, client: FlaskClient) -> None:
    [book_id] = add_books(app, make_rows(1))
    client.set_cookie("reading_list", reading_list_cookie([book_id]))
    response = client.post(
        "/users",
        data={
            "username": "boris",
            "password": "correct horse battery",
            "confirm": "correct horse battery",
            "csrf_token": csrf_token(client, "/users/new"),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert client.get_cookie("reading_list") is None
    assert TITLE.findall(my_books(client, "?shelf=want")) == ["Book 001"]


def test_losing_a_race_to_create_the_entry_is_retried(
    app: Flask, reader: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same reader's other request created the entry between our read and our insert."""
    from bookshelf.shelves import service

    real_entry_for = service.entry_for
    calls = []

    def stale_once(user_id: int, book_id: int) -> ShelfEntry | None:
        calls.append(book_id)
        return None if len(calls) == 1 else real_entry_for(user_id, book_id)

    with app.app_context():
        user_id = db.session.scalar(select(User.id))
        db.session.add(ShelfEntry(user_id=user_id, book_id=reader[0], shelf="want"))
        db.session.commit()
        monkeypatch.setattr(service, "entry_for", stale_once)
        book = db.session.get(Book, reader[0])
        entry = service.place_book(user_id, book, service.Placement("read", tags=("Fun",)))
        assert entry is not None and entry.shelf == "read" and entry.tag_names == ["Fun"]
        assert len(calls) == 2
        assert db.session.scalar(select(func.count()).select_from(ShelfEntry)) == 1
