"""ISBN and publication year: one set of rules for the form and the API, stored normalised,
shown hyphenated, found by search; on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import html

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from bookshelf.extensions import db
from bookshelf.models import Book, User
from bookshelf.users.tokens import issue_token
from bookshelf_helpers import add_books, create_account, csrf_token, sign_in

# Real books: the ISBN-10 and ISBN-13 printed in them.
MASTER_10 = "0-14-118014-5"  # The Master and Margarita, Penguin Classics
MASTER_13 = "9780141180144"
MASTER_HYPHENATED = "978-0-14-118014-4"
PUSHKIN_13 = "978-5-17-118366-0"
NEXT_YEAR = dt.datetime.now(dt.UTC).year + 1
BOOK = {"title": "The Master and Margarita", "author": "Mikhail Bulgakov", "pages_num": "480"}


@pytest.fixture
def owner(app: Flask) -> int:
    return create_account(app, "alice")


@pytest.fixture
def signed_in(app: Flask, owner: int) -> FlaskClient:
    client = app.test_client()
    sign_in(client, "alice")
    return client


@pytest.fixture
def token(app: Flask, owner: int) -> str:
    with app.app_context():
        _record, token = issue_token(db.session.get(User, owner), "tests")
        return token


def stored(app: Flask, book_id: int) -> tuple[str | None, int | None]:
    with app.app_context():
        book = db.session.get(Book, book_id)
        assert book is not None
        return book.isbn, book.year


def post_book(client: FlaskClient, headers: dict[str, str] | None = None, **fields: str):
    data = {**BOOK, **fields, "csrf_token": csrf_token(client, "/books/new")}
    return client.post("/books", data=data, headers=headers or {})


def test_form_stores_an_isbn10_as_isbn13_and_shows_it_hyphenated(
    app: Flask, signed_in: FlaskClient
) -> None:
    response = post_book(signed_in, isbn=MASTER_10, year="2016")
    assert response.status_code == 302, response.get_data(as_text=True)
    book_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert stored(app, book_id) == (MASTER_13, 2016)
    page = signed_in.get(f"/books/{book_id}").get_data(as_text=True)
    assert MASTER_HYPHENATED in page and "2016" in page
    # The edit form offers it as printed, and saving it unchanged keeps it.
    edit = signed_in.get(f"/books/{book_id}/edit").get_data(as_text=True)
    assert f'value="{MASTER_HYPHENATED}"' in edit
    # The list shows the year.
    assert "2016 ·" in signed_in.get("/books").get_data(as_text=True)


def test_both_are_optional_and_an_empty_box_clears_them(app: Flask, signed_in: FlaskClient) -> None:
    response = post_book(signed_in, isbn="", year="")
    book_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert stored(app, book_id) == (None, None)
    page = signed_in.get(f"/books/{book_id}").get_data(as_text=True)
    assert "ISBN" not in page
    response = signed_in.post(
        f"/books/{book_id}",
        data={
            "_method": "PATCH",
            "isbn": PUSHKIN_13,
            "year": "1833",
            "csrf_token": csrf_token(signed_in, "/books/new"),
        },
    )
    assert response.status_code == 303
    assert stored(app, book_id) == ("9785171183660", 1833)
    response = signed_in.post(
        f"/books/{book_id}",
        data={
            "_method": "PATCH",
            "isbn": "",
            "year": "",
            "csrf_token": csrf_token(signed_in, "/books/new"),
        },
    )
    assert response.status_code == 303
    assert stored(app, book_id) == (None, None)


@pytest.mark.parametrize(
    ("fields", "english", "russian"),
    [
        (
            {"isbn": "0-14-118014-6"},
            "This ISBN has a typo: its last digit does not match the others.",
            "В ISBN опечатка: последняя цифра не сходится с остальными.",
        ),
        (
            {"isbn": "12345"},
            "Type the ISBN’s 10 or 13 digits (an ISBN-10 may end in X); hyphens are fine.",
            "Введите 10 или 13 цифр ISBN (ISBN-10 может кончаться на X); дефисы можно оставить.",
        ),
        (
            {"isbn": "ISBN nine"},
            "Type the ISBN’s 10 or 13 digits (an ISBN-10 may end in X); hyphens are fine.",
            "Введите 10 или 13 цифр ISBN (ISBN-10 может кончаться на X); дефисы можно оставить.",
        ),
        (
            {"isbn": "9771234567003"},
            "This is not a book’s ISBN: an ISBN-13 starts with 978 or 979.",
            "Это не ISBN книги: ISBN-13 начинается с 978 или 979.",
        ),
        (
            {"year": "0"},
            f"Enter a year from 1 to {NEXT_YEAR}, in digits.",
            f"Введите год цифрами, от 1 до {NEXT_YEAR}.",
        ),
        (
            {"year": str(NEXT_YEAR + 1)},
            f"Enter a year from 1 to {NEXT_YEAR}, in digits.",
            f"Введите год цифрами, от 1 до {NEXT_YEAR}.",
        ),
        (
            {"year": "nineteen"},
            "Enter a whole number, in digits.",
            "Введите целое число цифрами.",
        ),
    ],
)
@pytest.mark.parametrize("language", ["en", "ru"])
def test_bad_isbn_or_year_is_refused_in_the_readers_language_with_the_input_kept(
    app: Flask,
    signed_in: FlaskClient,
    fields: dict[str, str],
    english: str,
    russian: str,
    language: str,
) -> None:
    response = post_book(signed_in, headers={"Accept-Language": language}, **fields)
    assert response.status_code == 422
    page = html.unescape(response.get_data(as_text=True))
    assert (english if language == "en" else russian) in page
    [(name, typed)] = fields.items()
    assert f'value="{typed}"' in page  # what was typed stays in the box
    assert f'id="{name}" name="{name}"' in page and 'aria-invalid="true"' in page
    with app.app_context():
        assert db.session.scalar(select(Book.id)) is None  # nothing stored


def test_api_takes_and_returns_isbn_and_year(app: Flask, client: FlaskClient, token: str) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    body = {**BOOK, "pages_num": 480, "isbn": MASTER_10, "year": 2016}
    response = client.post("/api/v1/books", json=body, headers=auth)
    assert response.status_code == 201, response.get_data(as_text=True)
    created = response.get_json()
    assert (created["isbn"], created["year"]) == (MASTER_13, 2016)
    # PUT replaces every field: what it leaves out becomes unknown.
    url = response.headers["Location"]
    replaced = client.put(url, json={**BOOK, "pages_num": 480}, headers=auth).get_json()
    assert (replaced["isbn"], replaced["year"]) == (None, None)
    patched = client.patch(url, json={"isbn": PUSHKIN_13, "year": 1}, headers=auth).get_json()
    assert (patched["isbn"], patched["year"]) == ("9785171183660", 1)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"isbn": "0-14-118014-6"}, "isbn", "Not a valid ISBN: its check digit does not match."),
        ({"isbn": "12345"}, "isbn", "Not an ISBN"),
        ({"isbn": 9780141180144}, "isbn", "Not a valid string."),
        ({"year": 0}, "year", "Must be greater than or equal to 1"),
        ({"year": NEXT_YEAR + 1}, "year", f"less than or equal to {NEXT_YEAR}"),
        ({"year": "2016"}, "year", "Not a valid integer."),
    ],
)
def test_api_refuses_bad_isbn_or_year_with_the_fields_error(
    app: Flask, client: FlaskClient, token: str, fields: dict, field: str, message: str
) -> None:
    body = {**BOOK, "pages_num": 480, **fields}
    response = client.post("/api/v1/books", json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert any(message in text for text in errors[field]), errors
    with app.app_context():
        assert db.session.scalar(select(Book.id)) is None


def test_openapi_documents_both_fields_nullable(client: FlaskClient) -> None:
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    isbn, year = (
        schemas["BookInput"]["properties"]["isbn"],
        schemas["BookInput"]["properties"]["year"],
    )
    assert isbn["nullable"] and isbn["pattern"] and isbn["format"] == "isbn"
    assert year["nullable"] and (year["minimum"], year["maximum"]) == (1, NEXT_YEAR)
    book = schemas["Book"]
    assert {"isbn", "year"} <= set(book["required"])


@pytest.mark.parametrize("typed", [MASTER_10, "0141180145", MASTER_13, "978 0 14 118014 4"])
def test_an_isbn_in_the_search_box_finds_the_book(
    app: Flask, client: FlaskClient, typed: str
) -> None:
    add_books(
        app,
        [
            {
                "title": "The Master and Margarita",
                "author": "Mikhail Bulgakov",
                "pages_num": 480,
                "isbn": MASTER_13,
            },
            {
                "title": "Eugene Onegin",
                "author": "Alexander Pushkin",
                "pages_num": 224,
                "isbn": "9785171183660",
            },
        ],
    )
    page = client.get("/search", query_string={"term": typed}).get_data(as_text=True)
    assert "The Master and Margarita" in page and "Eugene Onegin" not in page
    found = client.get("/api/v1/books", query_string={"q": typed}).get_json()
    assert [b["title"] for b in found["items"]] == ["The Master and Margarita"]
    assert found["meta"]["total"] == 1


def test_an_isbn_nobody_has_still_searches_the_text(app: Flask, client: FlaskClient) -> None:
    """A number that is a valid ISBN but no book's may be in a title."""
    add_books(app, [{"title": "Catalogue 9780306406157", "author": "A. Printer", "pages_num": 9}])
    found = client.get("/api/v1/books", query_string={"q": "9780306406157"}).get_json()
    assert [b["title"] for b in found["items"]] == ["Catalogue 9780306406157"]
