"""The books CRUD route table, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from bookshelf.extensions import db
from bookshelf.models import Book
from bookshelf_helpers import add_books, create_account, csrf_token, flashes, make_rows, sign_in

VALID = {"title": "Dead Souls", "author": "Nikolai Gogol", "pages_num": "352", "review": "Funny."}


@pytest.fixture
def owner(app: Flask) -> int:
    return create_account(app, "alice")


@pytest.fixture
def client(app: Flask, owner: int) -> FlaskClient:
    """Signed in as the owner of the books these tests change (others: see test_permissions)."""
    client = app.test_client()
    sign_in(client, "alice")
    return client


@pytest.fixture
def oblomov(app: Flask, owner: int) -> int:
    [book_id] = add_books(
        app,
        [{"title": "Oblomov", "author": "Ivan Goncharov", "pages_num": 544, "added_by_id": owner}],
    )
    return book_id


def stored(app: Flask, book_id: int) -> Book | None:
    with app.app_context():
        book = db.session.get(Book, book_id)
        if book is not None:
            db.session.expunge(book)
        return book


def test_create_redirects_to_the_book_with_a_success_flash(
    app: Flask, client: FlaskClient, owner: int
) -> None:
    response = client.post("/books", data={**VALID, "csrf_token": csrf_token(client)})
    assert response.status_code == 302
    book_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert response.headers["Location"] == f"/books/{book_id}"
    book = stored(app, book_id)
    assert book is not None
    assert (book.title, book.author, book.pages_num, book.review) == (
        "Dead Souls",
        "Nikolai Gogol",
        352,
        "Funny.",
    )
    assert book.date_added is not None
    assert book.added_by_id == owner
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert ("success", "“Dead Souls” was added.") in flashes(page)
    # Shown once: the next page has no flash.
    assert flashes(client.get("/books").get_data(as_text=True)) == []


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("title", "", "Fill in this field."),
        ("title", "   ", "Fill in this field."),
        ("title", "x" * 151, "Use at most 150 characters."),
        ("author", "", "Fill in this field."),
        ("author", "y" * 51, "Use at most 50 characters."),
        ("pages_num", "", "Fill in this field."),
        ("pages_num", "many", "Enter a whole number, in digits."),
        ("pages_num", "0", "Enter a number from 1 to 100000."),
        ("pages_num", "-5", "Enter a number from 1 to 100000."),
        ("pages_num", "10000000000000000000000", "Enter a number from 1 to 100000."),
    ],
)
def test_invalid_book_is_422_with_errors_and_the_input_kept(
    app: Flask, client: FlaskClient, field: str, value: str, message: str
) -> None:
    data = {**VALID, field: value, "csrf_token": csrf_token(client)}
    response = client.post("/books", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html
    assert 'value="Nikolai Gogol"' in html or field == "author"
    assert "Funny." in html
    assert ("error", "The book was not saved: please correct the fields marked below.") in flashes(
        html
    )
    with app.app_context():
        assert db.session.scalars(select(Book)).all() == []


def test_create_without_csrf_token_is_rejected(app: Flask, client: FlaskClient) -> None:
    response = client.post("/books", data=VALID)
    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(Book)).all() == []


def test_create_with_a_forged_csrf_token_is_rejected(app: Flask, client: FlaskClient) -> None:
    csrf_token(client)
    response = client.post("/books", data={**VALID, "csrf_token": "forged"})
    assert response.status_code == 400


def test_show_and_404(app: Flask, client: FlaskClient, oblomov: int) -> None:
    book_id = oblomov
    html = client.get(f"/books/{book_id}").get_data(as_text=True)
    assert "<h1>Oblomov</h1>" in html and "Ivan Goncharov" in html
    missing = client.get("/books/999999")
    assert missing.status_code == 404
    assert "There is no book with id 999999." in missing.get_data(as_text=True)
    assert 'class="site-header"' in missing.get_data(as_text=True)  # keeps the layout
    assert client.get("/books/not-a-number").status_code == 404


def test_new_and_edit_forms(app: Flask, client: FlaskClient, oblomov: int) -> None:
    book_id = oblomov
    new = client.get("/books/new").get_data(as_text=True)
    assert 'name="title"' in new and 'name="pages_num"' in new and 'name="csrf_token"' in new
    edit = client.get(f"/books/{book_id}/edit").get_data(as_text=True)
    assert 'value="Oblomov"' in edit
    assert '<input type="hidden" name="_method" value="PATCH">' in edit
    assert client.get("/books/999999/edit").status_code == 404


def test_update_through_method_override_form(app: Flask, client: FlaskClient, oblomov: int) -> None:
    book_id = oblomov
    token = csrf_token(client, f"/books/{book_id}/edit")
    response = client.post(
        f"/books/{book_id}",
        data={
            "_method": "PATCH",
            "csrf_token": token,
            "title": "Oblomov (new)",
            "pages_num": "600",
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"/books/{book_id}"
    book = stored(app, book_id)
    assert book is not None
    assert (book.title, book.author, book.pages_num) == ("Oblomov (new)", "Ivan Goncharov", 600)
    html = client.get(f"/books/{book_id}").get_data(as_text=True)
    assert ("success", "“Oblomov (new)” was updated.") in flashes(html)


def test_real_put_replaces_every_field_and_requires_them(
    app: Flask, client: FlaskClient, oblomov: int
) -> None:
    book_id = oblomov
    token = csrf_token(client)
    partial = client.put(f"/books/{book_id}", data={"title": "Only title", "csrf_token": token})
    assert partial.status_code == 422
    assert stored(app, book_id).title == "Oblomov"  # type: ignore[union-attr]
    full = client.put(f"/books/{book_id}", data={**VALID, "csrf_token": token})
    assert full.status_code == 303
    assert stored(app, book_id).author == "Nikolai Gogol"  # type: ignore[union-attr]


def test_real_patch_with_csrf_header(app: Flask, client: FlaskClient, oblomov: int) -> None:
    book_id = oblomov
    token = csrf_token(client)
    response = client.patch(
        f"/books/{book_id}", data={"review": "Sleepy."}, headers={"X-CSRFToken": token}
    )
    assert response.status_code == 303
    assert stored(app, book_id).review == "Sleepy."  # type: ignore[union-attr]


def test_invalid_update_keeps_input_and_the_stored_book(
    app: Flask, client: FlaskClient, oblomov: int
) -> None:
    book_id = oblomov
    token = csrf_token(client)
    response = client.post(
        f"/books/{book_id}",
        data={"_method": "PATCH", "csrf_token": token, "title": "New title", "pages_num": "zero"},
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'value="New title"' in html and "Enter a whole number, in digits." in html
    assert stored(app, book_id).title == "Oblomov"  # type: ignore[union-attr]


def test_update_without_csrf_is_rejected(app: Flask, client: FlaskClient, oblomov: int) -> None:
    book_id = oblomov
    response = client.post(f"/books/{book_id}", data={"_method": "PATCH", "title": "Hacked"})
    assert response.status_code == 400
    assert stored(app, book_id).title == "Oblomov"  # type: ignore[union-attr]


def test_delete_through_method_override(app: Flask, client: FlaskClient, oblomov: int) -> None:
    book_id = oblomov
    token = csrf_token(client, f"/books/{book_id}")
    response = client.post(f"/books/{book_id}", data={"_method": "DELETE", "csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"] == "/books"
    assert stored(app, book_id) is None
    html = client.get("/books").get_data(as_text=True)
    assert ("success", "“Oblomov” was deleted.") in flashes(html)
    assert (
        client.post(
            f"/books/{book_id}", data={"_method": "DELETE", "csrf_token": token}
        ).status_code
        == 404
    )


def test_real_delete_and_csrf(app: Flask, client: FlaskClient, oblomov: int) -> None:
    book_id = oblomov
    assert client.delete(f"/books/{book_id}").status_code == 400
    assert stored(app, book_id) is not None
    token = csrf_token(client)
    assert client.delete(f"/books/{book_id}", headers={"X-CSRFToken": token}).status_code == 303
    assert stored(app, book_id) is None


def test_show_page_has_edit_link_and_delete_with_confirm_step(
    app: Flask, client: FlaskClient, oblomov: int
) -> None:
    book_id = oblomov
    html = client.get(f"/books/{book_id}").get_data(as_text=True)
    assert f'href="/books/{book_id}/edit"' in html
    assert '<details class="confirm">' in html
    assert 'name="_method" value="DELETE"' in html and 'name="csrf_token"' in html


def test_unknown_method_override_is_ignored(app: Flask, client: FlaskClient, oblomov: int) -> None:
    book_id = oblomov
    token = csrf_token(client)
    response = client.post(f"/books/{book_id}", data={"_method": "TRACE", "csrf_token": token})
    assert response.status_code == 405
    assert "DELETE" in response.headers["Allow"]
    assert stored(app, book_id) is not None


def test_date_added_is_set_per_row_by_the_database(app: Flask) -> None:
    import datetime as dt

    ids = add_books(app, make_rows(2))
    first, second = stored(app, ids[0]), stored(app, ids[1])
    assert first is not None and second is not None
    # The database's CURRENT_DATE (UTC on SQLite); allow for a run across midnight.
    today = dt.datetime.now(dt.UTC).date()
    assert first.date_added in {today, today - dt.timedelta(days=1), dt.date.today()}


@pytest.mark.parametrize("field", ["title", "author", "review"])
def test_nul_characters_are_rejected_not_a_server_error(
    app: Flask, client: FlaskClient, field: str
) -> None:
    response = client.post(
        "/books", data={**VALID, field: "bad\x00value", "csrf_token": csrf_token(client)}
    )
    assert response.status_code == 400
    assert "NUL character" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(Book)).all() == []
