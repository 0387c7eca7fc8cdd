"""Books whose page count is unknown (imported without one): stored as NULL, shown as
unknown, never dropped from lists sorted by pages, null in the API."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from bookshelf_helpers import add_books

TITLE = re.compile(r'class="book-title" href="/books/\d+">([^<]+)</a>')


def test_unknown_page_counts_listed_sorted_and_shown(app: Flask, client: FlaskClient) -> None:
    rows = [
        {"title": f"Book {n:02d}", "author": "A", "pages_num": None if n % 2 else 10 * n}
        for n in range(1, 8)
    ]
    ids = add_books(app, rows)
    seen: list[str] = []
    url = "/books?sort=pages&per_page=2"
    while url:
        page = client.get(url).get_data(as_text=True)
        seen += TITLE.findall(page)
        found = re.search(r'<a[^>]*rel="next"[^>]*href="([^"]+)"', page) or re.search(
            r'<a[^>]*href="([^"]+)"[^>]*rel="next"', page
        )
        url = found.group(1).replace("&amp;", "&") if found else None
    # Unknown counts first (as 0, by id), then known counts ascending; none is skipped.
    assert seen == ["Book 01", "Book 03", "Book 05", "Book 07", "Book 02", "Book 04", "Book 06"]
    assert "pages unknown" in client.get("/books").get_data(as_text=True)
    show = client.get(f"/books/{ids[0]}").get_data(as_text=True)
    assert "<dd>unknown</dd>" in show
    api = client.get(f"/api/v1/books/{ids[0]}").get_json()
    assert api["pages_num"] is None
    listing = client.get("/api/v1/books?sort=pages&per_page=3").get_json()
    assert [book["pages_num"] for book in listing["items"]] == [None, None, None]


def test_a_book_with_unknown_pages_can_be_edited_without_inventing_them(
    app: Flask, client: FlaskClient
) -> None:
    from bookshelf.extensions import db
    from bookshelf.models import Book
    from bookshelf_helpers import create_account, csrf_token, sign_in

    owner = create_account(app, "anna")
    [book_id] = add_books(
        app, [{"title": "Imported", "author": "Someone", "pages_num": None, "added_by_id": owner}]
    )
    sign_in(client, "anna")
    form = client.get(f"/books/{book_id}/edit").get_data(as_text=True)
    pages_input = re.search(r'<input[^>]*id="pages_num"[^>]*>', form)
    assert pages_input and "required" not in pages_input.group(0)
    data = {
        "_method": "PATCH",
        "title": "Renamed",
        "pages_num": "",
        "csrf_token": csrf_token(client),
    }
    response = client.post(f"/books/{book_id}", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    with app.app_context():
        book = db.session.get(Book, book_id)
        assert (book.title, book.pages_num) == ("Renamed", None)
    # A known page count is still required: it cannot be erased into "unknown".
    [known] = add_books(
        app, [{"title": "Known", "author": "Someone", "pages_num": 120, "added_by_id": owner}]
    )
    data = {"_method": "PATCH", "pages_num": "", "csrf_token": csrf_token(client)}
    assert client.post(f"/books/{known}", data=data).status_code == 422
