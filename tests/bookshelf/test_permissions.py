"""Who may change what: every mutating books route, tried by everyone."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bookshelf.extensions import db
from bookshelf.models import Book
from bookshelf_helpers import add_books, create_account, csrf_token, sign_in

BOOK = {"title": "Fathers and Sons", "author": "Ivan Turgenev", "pages_num": 226}
UPDATE = {"title": "Changed", "author": "Someone", "pages_num": "1"}


@pytest.fixture
def book_id(app: Flask) -> int:
    owner = create_account(app, "owner")
    create_account(app, "stranger")
    create_account(app, "admin", is_admin=True)
    [book_id] = add_books(app, [{**BOOK, "added_by_id": owner}])
    return book_id


Request = Callable[[FlaskClient, int, str], object]

MUTATIONS: dict[str, Callable] = {
    "edit form": lambda c, b, t: c.get(f"/books/{b}/edit"),
    "patch (form)": lambda c, b, t: c.post(
        f"/books/{b}", data={**UPDATE, "_method": "PATCH", "csrf_token": t}
    ),
    "put": lambda c, b, t: c.put(f"/books/{b}", data={**UPDATE, "csrf_token": t}),
    "patch": lambda c, b, t: c.patch(f"/books/{b}", data={**UPDATE, "csrf_token": t}),
    "delete (form)": lambda c, b, t: c.post(
        f"/books/{b}", data={"_method": "DELETE", "csrf_token": t}
    ),
    "delete": lambda c, b, t: c.delete(f"/books/{b}", headers={"X-CSRFToken": t}),
}


def unchanged(app: Flask, book_id: int) -> bool:
    with app.app_context():
        book = db.session.get(Book, book_id)
        return book is not None and book.title == BOOK["title"]


@pytest.mark.parametrize("mutation", MUTATIONS)
def test_anonymous_is_sent_to_login(app: Flask, book_id: int, mutation: str) -> None:
    client = app.test_client()
    response = MUTATIONS[mutation](client, book_id, csrf_token(client))
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    assert unchanged(app, book_id)


@pytest.mark.parametrize("mutation", MUTATIONS)
def test_another_user_gets_403(app: Flask, book_id: int, mutation: str) -> None:
    client = app.test_client()
    sign_in(client, "stranger")
    response = MUTATIONS[mutation](client, book_id, csrf_token(client))
    assert response.status_code == 403
    assert "Only the person who added this book" in response.get_data(as_text=True)
    assert unchanged(app, book_id)


@pytest.mark.parametrize("who", ["owner", "admin"])
@pytest.mark.parametrize("mutation", MUTATIONS)
def test_owner_and_admin_may(app: Flask, book_id: int, mutation: str, who: str) -> None:
    client = app.test_client()
    sign_in(client, who)
    response = MUTATIONS[mutation](client, book_id, csrf_token(client))
    assert response.status_code in {200, 303}
    assert unchanged(app, book_id) == (mutation == "edit form")


@pytest.mark.parametrize("mutation", [m for m in MUTATIONS if m != "edit form"])
def test_owner_without_csrf_token_is_rejected(app: Flask, book_id: int, mutation: str) -> None:
    client = app.test_client()
    sign_in(client, "owner")
    response = MUTATIONS[mutation](client, book_id, "not-the-token")
    assert response.status_code == 400
    assert unchanged(app, book_id)


@pytest.mark.parametrize(
    ("who", "sees_buttons"), [(None, False), ("stranger", False), ("owner", True), ("admin", True)]
)
def test_edit_and_delete_buttons_only_for_those_allowed(
    app: Flask, book_id: int, who: str | None, sees_buttons: bool
) -> None:
    client = app.test_client()
    if who:
        sign_in(client, who)
    html = client.get(f"/books/{book_id}").get_data(as_text=True)
    assert (f'href="/books/{book_id}/edit"' in html) == sees_buttons
    assert ('name="_method" value="DELETE"' in html) == sees_buttons
    assert "Added by" in html and ">owner</a>" in html


def test_seeded_books_have_no_owner_and_only_admins_may_change_them(app: Flask) -> None:
    app.test_cli_runner().invoke(args=["seed-classics"])
    create_account(app, "anna")
    create_account(app, "admin", is_admin=True)
    client = app.test_client()
    sign_in(client, "anna")
    assert client.get("/books/1/edit").status_code == 403
    admin = app.test_client()
    sign_in(admin, "admin")
    assert admin.get("/books/1/edit").status_code == 200
