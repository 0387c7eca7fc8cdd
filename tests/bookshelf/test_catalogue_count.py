"""The catalogue's size is exact at any size, and a deleted book's id is never given again;
on SQLite and PostgreSQL."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, func, select

from bookshelf.extensions import db
from bookshelf.models import Book
from bookshelf_helpers import add_books, make_rows

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
