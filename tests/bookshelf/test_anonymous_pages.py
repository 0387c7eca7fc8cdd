"""A visitor reading the catalogue gets no cookie and no session: nothing on those pages posts
a form that needs a CSRF token, so the page is the same for everyone (and cacheable)."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bookshelf_helpers import add_books, make_rows


@pytest.mark.parametrize(
    "path",
    ["/", "/books", "/books/{book_id}", "/search?term=book", "/authors", "/authors?letter=A"],
)
def test_reading_the_catalogue_sets_no_cookie(app: Flask, client: FlaskClient, path: str) -> None:
    [book_id, *_rest] = add_books(app, make_rows(3))
    response = client.get(path.format(book_id=book_id))
    assert response.status_code == 200
    assert response.headers.getlist("Set-Cookie") == []
    assert client.get_cookie("session") is None
    assert 'name="csrf_token"' not in response.get_data(as_text=True)


def test_the_language_links_need_no_session(client: FlaskClient) -> None:
    html = client.get("/books?sort=title").get_data(as_text=True)
    # Plain links, the current language marked, each name in its own language.
    assert (
        '<a href="/language?language=en&amp;next=/books?sort%3Dtitle" hreflang="en" lang="en" '
        'aria-current="true">English</a>'
    ) in html
    assert (
        '<a href="/language?language=ru&amp;next=/books?sort%3Dtitle" hreflang="ru" lang="ru">'
        "Русский</a>"
    ) in html
    response = client.get("/language?language=ru&next=/books?sort%3Dtitle")
    assert response.status_code == 303 and response.headers["Location"] == "/books?sort=title"
    [cookie] = response.headers.getlist("Set-Cookie")
    assert cookie.startswith("lang=ru;")
    assert response.headers["Cache-Control"] == "no-store"
    html = client.get("/books?sort=title").get_data(as_text=True)
    assert '<html lang="ru">' in html
    assert 'hreflang="ru" lang="ru" aria-current="true">Русский</a>' in html


def test_the_language_switch_is_not_a_form(client: FlaskClient) -> None:
    assert client.post("/language", data={"language": "ru"}).status_code == 405


def test_the_book_pages_reading_list_button_works_from_this_site_only(
    app: Flask, client: FlaskClient
) -> None:
    [book_id] = add_books(app, make_rows(1))
    html = client.get(f"/books/{book_id}").get_data(as_text=True)
    assert 'action="/reading-list" method="post"' in html
    form = {"book_id": str(book_id), "next": f"/books/{book_id}"}
    # Another site's form: refused, whichever header the browser sends to say where it is from.
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        refused = client.post("/reading-list", data=form, headers=headers)
        assert refused.status_code == 400 and refused.headers.getlist("Set-Cookie") == []
    # No header at all (an old browser, a script): the token is needed, as before.
    assert client.post("/reading-list", data=form).status_code == 400
    # This site's page, as a browser sends it.
    for headers in ({"Origin": "http://localhost"}, {"Sec-Fetch-Site": "same-origin"}):
        added = client.post("/reading-list", data=form, headers=headers)
        assert added.status_code == 303 and added.headers["Location"] == f"/books/{book_id}"
    assert "Book 001" in client.get("/reading-list").get_data(as_text=True)
