"""Deleting an account: the books stay, everything personal goes; HTML and API agree."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from test_accounts_sessions import remember_sign_in, signed_in

from bookshelf.auth.links import RESET, issue_link
from bookshelf.extensions import db
from bookshelf.models import AccountToken, ApiToken, User, UserSession
from bookshelf.users.tokens import issue_token
from bookshelf_helpers import PASSWORD, add_books, create_account, csrf_token, flashes, sign_in


def delete_account(client: FlaskClient, password: str = PASSWORD):
    return client.post(
        "/account/delete",
        data={"current": password, "csrf_token": csrf_token(client, "/account/delete")},
    )


def count(app: Flask, model: type) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_deleting_an_account(app: Flask, client: FlaskClient) -> None:
    anna = create_account(app, "anna")
    create_account(app, "boris")
    [book_id] = add_books(
        app, [{"title": "Kept", "author": "A", "pages_num": 3, "added_by_id": anna}]
    )
    [seeded] = add_books(app, [{"title": "Seeded", "author": "B", "pages_num": 4}])
    with app.app_context():
        user = db.session.get(User, anna)
        _, api_token = issue_token(user, "script")
        issue_link(user, RESET)
    laptop = app.test_client()
    remember_sign_in(laptop, "anna")
    sign_in(client, "anna")
    client.post("/reading-list", data={"book_id": str(book_id), "csrf_token": csrf_token(client)})
    assert client.get_cookie("reading_list") is not None
    assert client.get("/account/delete").status_code == 200
    response = delete_account(client)
    assert response.status_code == 303
    home = client.get(response.headers["Location"]).get_data(as_text=True)
    assert ("success", "Your account was deleted.") in flashes(home)
    assert client.get_cookie("reading_list") is None  # the reading shelf goes too
    assert not signed_in(client) and not signed_in(laptop)
    with app.app_context():
        assert db.session.scalars(select(User.username)).all() == ["boris"]
    assert count(app, UserSession) == count(app, ApiToken) == count(app, AccountToken) == 0
    # The book stays, "added by a deleted account", in the HTML and in the API alike.
    page = client.get(f"/books/{book_id}").get_data(as_text=True)
    assert "a deleted account" in page
    assert "a deleted account" not in client.get(f"/books/{seeded}").get_data(as_text=True)
    book = client.get(f"/api/v1/books/{book_id}").get_json()
    assert book["added_by"] is None and book["added_by_deleted"] is True
    assert client.get(f"/api/v1/books/{seeded}").get_json()["added_by_deleted"] is False
    assert client.get(f"/api/v1/users/{anna}").status_code == 404
    assert client.get(f"/users/{anna}").status_code == 404
    api = app.test_client().get("/api/v1/books", headers={"Authorization": f"Bearer {api_token}"})
    assert api.status_code == 401


def test_deletion_needs_the_password(app: Flask, client: FlaskClient) -> None:
    create_account(app, "anna")
    sign_in(client, "anna")
    response = delete_account(client, "not my password")
    assert response.status_code == 422
    assert "That is not your current password." in response.get_data(as_text=True)
    assert count(app, User) == 1 and signed_in(client)
