"""The home page: a welcome for visitors; for a signed-in reader, their Reading shelf, the
newest books and what readers rated last."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from bookshelf_helpers import add_books, create_account, csrf_token, make_rows, sign_in

READING = re.compile(r'<section class="home-reading".*?</section>', re.S)
RATED = re.compile(r'<section class="home-rated".*?</section>', re.S)
TITLES = re.compile(r'class="book-title" href="/books/\d+">([^<]+)</a>')


def post(client: FlaskClient, path: str, book_id: int, **fields: str) -> None:
    data = {**fields, "csrf_token": csrf_token(client, f"/books/{book_id}")}
    assert client.post(path, data=data).status_code == 303


def test_a_visitor_gets_the_welcome(app: Flask, client: FlaskClient) -> None:
    add_books(app, make_rows(3))
    html = client.get("/").get_data(as_text=True)
    assert "Welcome to Bookshelf" in html
    assert not READING.search(html)
    assert TITLES.findall(html)[:3] == ["Book 003", "Book 002", "Book 001"]


def test_a_reader_sees_their_reading_shelf_and_recent_ratings(
    app: Flask, client: FlaskClient
) -> None:
    ids = add_books(app, make_rows(8))
    create_account(app, "anna")
    create_account(app, "boris")

    sign_in(client, "anna")
    html = client.get("/").get_data(as_text=True)
    assert "Welcome back, anna" in html
    reading = READING.search(html)
    assert reading, "no Reading shelf on a signed-in home page"
    assert "Nothing on your Reading shelf yet." in reading.group(0)
    assert 'href="/my-books?shelf=want"' in reading.group(0)

    post(client, f"/books/{ids[1]}/shelf", ids[1], shelf="reading", started_on="2026-01-02")
    post(client, f"/books/{ids[4]}/shelf", ids[4], shelf="want")
    post(client, f"/books/{ids[2]}/rating", ids[2], stars="4", review="")
    html = client.get("/").get_data(as_text=True)
    assert TITLES.findall(READING.search(html).group(0)) == ["Book 002"]

    client.post("/logout", data={"csrf_token": csrf_token(client)})
    sign_in(client, "boris")
    for book_id, stars in [(ids[5], "2"), (ids[6], "5"), (ids[7], "3")]:
        post(client, f"/books/{book_id}/rating", book_id, stars=stars, review="")
    html = client.get("/").get_data(as_text=True)
    # Boris reads nothing yet; Anna's shelf is hers alone.
    assert TITLES.findall(READING.search(html).group(0)) == []
    rated = RATED.search(html)
    assert rated, "no recently rated books"
    # The newest ratings first, each with its stars in words and who gave them.
    assert TITLES.findall(rated.group(0)) == ["Book 008", "Book 007", "Book 006", "Book 003"]
    assert "3 out of 5 stars" in rated.group(0) and "by boris" in rated.group(0)
    assert "4 out of 5 stars" in rated.group(0) and "by anna" in rated.group(0)
    # And the newest books, as for a visitor.
    assert "Book 008" in html.split('class="home-latest"')[1]


def test_the_signed_in_home_page_in_russian(app: Flask, client: FlaskClient) -> None:
    add_books(app, make_rows(1))
    create_account(app, "anna")
    sign_in(client, "anna")
    html = client.get("/", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    assert "С возвращением, anna" in html
    assert "На полке «Читаю» пока пусто." in html
