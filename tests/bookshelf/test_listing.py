"""The books index: keyset pagination, sort orders, bounds, and the catalogue size."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete

from bookshelf.books import queries
from bookshelf.extensions import db
from bookshelf.models import Book
from bookshelf_helpers import add_books, flashes, make_rows

TITLE = re.compile(r'class="book-title" href="/books/(\d+)">([^<]+)</a>')


def titles(html: str) -> list[str]:
    return [title for _id, title in TITLE.findall(html)]


def link(html: str, rel: str) -> str:
    match = re.search(rf'<a rel="{rel}" href="([^"]+)"', html)
    assert match, f"no {rel} link"
    return match.group(1).replace("&amp;", "&")


def test_empty_catalogue_shows_an_empty_state(client: FlaskClient) -> None:
    html = client.get("/books").get_data(as_text=True)
    assert "No books yet." in html and "Add the first one" in html


def test_walk_forward_and_back_through_every_page(app: Flask, client: FlaskClient) -> None:
    add_books(app, make_rows(45))
    seen: list[str] = []
    html = client.get("/books?sort=title&per_page=20").get_data(as_text=True)
    assert "Page 1" in html and 'rel="prev"' not in html
    seen += titles(html)
    html = client.get(link(html, "next")).get_data(as_text=True)
    assert "Page 2" in html
    seen += titles(html)
    html = client.get(link(html, "next")).get_data(as_text=True)
    assert "Page 3" in html and 'rel="next"' not in html
    seen += titles(html)
    assert seen == [f"Book {n:03d}" for n in range(1, 46)]
    back = client.get(link(html, "prev")).get_data(as_text=True)
    assert titles(back) == [f"Book {n:03d}" for n in range(21, 41)] and "Page 2" in back
    first = client.get(link(back, "prev")).get_data(as_text=True)
    assert titles(first) == [f"Book {n:03d}" for n in range(1, 21)] and "Page 1" in first


@pytest.mark.parametrize(
    ("sort", "expected_first"),
    [("newest", "Book 045"), ("oldest", "Book 001"), ("title", "Book 001"), ("pages", "Book 001")],
)
def test_sort_orders(app: Flask, client: FlaskClient, sort: str, expected_first: str) -> None:
    add_books(app, make_rows(45))
    assert titles(client.get(f"/books?sort={sort}").get_data(as_text=True))[0] == expected_first


def test_sort_by_author_breaks_ties_by_id_across_pages(app: Flask, client: FlaskClient) -> None:
    add_books(app, make_rows(30))  # authors repeat: "Author 0" .. "Author 6"
    html = client.get("/books?sort=author&per_page=7").get_data(as_text=True)
    collected = titles(html)
    while 'rel="next"' in html:
        html = client.get(link(html, "next")).get_data(as_text=True)
        collected += titles(html)
    assert sorted(collected) == sorted(f"Book {n:03d}" for n in range(1, 31))
    assert len(set(collected)) == 30


def test_last_page(app: Flask, client: FlaskClient) -> None:
    add_books(app, make_rows(45))
    html = client.get("/books?sort=oldest&per_page=20&last=1").get_data(as_text=True)
    # Numbered like the others: page 3 of 3 holds the five left over.
    assert titles(html) == [f"Book {n:03d}" for n in range(41, 46)]
    assert "Page 3 of 3" in html
    assert 'rel="next"' not in html and 'rel="prev"' in html
    previous = re.search(r'rel="prev" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    back = client.get(previous).get_data(as_text=True)
    assert titles(back) == [f"Book {n:03d}" for n in range(21, 41)] and "Page 2 of 3" in back


@pytest.mark.parametrize(
    ("query", "count", "first"),
    [
        ("per_page=1000", 100, "Book 120"),
        ("per_page=0", 1, "Book 120"),
        ("per_page=abc", 20, "Book 120"),
        ("page=-3", 20, "Book 120"),
        ("sort=drop", 20, "Book 120"),
    ],
)
def test_bounds_are_clamped_and_unknown_sort_falls_back(
    app: Flask, client: FlaskClient, query: str, count: int, first: str
) -> None:
    add_books(app, make_rows(120))
    html = client.get(f"/books?{query}").get_data(as_text=True)
    assert len(titles(html)) == count and titles(html)[0] == first and "Page 1" in html


def test_sort_and_page_size_are_remembered_in_a_cookie(app: Flask, client: FlaskClient) -> None:
    add_books(app, make_rows(30))
    response = client.get("/books?sort=title&per_page=10")
    assert "book_list_prefs=" in response.headers["Set-Cookie"]
    html = client.get("/books").get_data(as_text=True)
    assert titles(html) == [f"Book {n:03d}" for n in range(1, 11)]
    assert '<option value="title" selected>' in html


@pytest.mark.filterwarnings("ignore:The 'book_list_prefs' cookie is too large")
@pytest.mark.parametrize("cookie", ["garbage", "x" * 5000, "eyJzb3J0IjoidGl0bGUifQ.forged"])
def test_a_bad_preferences_cookie_is_ignored(app: Flask, client: FlaskClient, cookie: str) -> None:
    add_books(app, make_rows(30))
    client.set_cookie("book_list_prefs", cookie)
    response = client.get("/books")
    assert response.status_code == 200
    assert titles(response.get_data(as_text=True))[0] == "Book 030"  # defaults: newest, 20


def test_page_jumps_and_pages_past_the_end(app: Flask, client: FlaskClient) -> None:
    add_books(app, make_rows(45))
    html = client.get("/books?sort=oldest&page=3").get_data(as_text=True)
    assert titles(html) == [f"Book {n:03d}" for n in range(41, 46)]
    assert client.get("/books?page=4").status_code == 404
    far = client.get(f"/books?page={queries.MAX_JUMP_PAGE + 1}")
    assert far.status_code == 404 and "Next and Last" in far.get_data(as_text=True)


def test_cursor_to_a_deleted_book_restarts_with_a_warning(app: Flask, client: FlaskClient) -> None:
    add_books(app, make_rows(5))
    response = client.get("/books?after=99999&page=2")
    assert response.status_code == 302
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert flashes(html)[0][0] == "warning"


def test_catalogue_size_follows_inserts_and_deletes(app: Flask, client: FlaskClient) -> None:
    ids = add_books(app, make_rows(12))
    assert "12 books in the catalogue" in client.get("/books").get_data(as_text=True)
    with app.app_context():
        db.session.execute(delete(Book).where(Book.id.in_(ids[:11])))
        db.session.commit()
        assert queries.catalogue_size() == queries.CatalogueSize(1, exact=True)
    assert "1 book in the catalogue" in client.get("/books").get_data(as_text=True)


def test_home_shows_latest_books_and_the_search_form(app: Flask, client: FlaskClient) -> None:
    add_books(app, make_rows(7))
    html = client.get("/").get_data(as_text=True)
    assert titles(html) == [f"Book {n:03d}" for n in range(7, 2, -1)]
    assert '<input id="home-term" type="search" required name="term"' in html
    assert 'action="/search" method="get"' in html
