"""Helpers for the bookshelf tests: real CSRF tokens, rows, flashed messages."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert

from bookshelf.extensions import db
from bookshelf.models import Book

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"
CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def app_config(database_uri: str, **extra: object) -> dict[str, object]:
    return {
        "TESTING": True,
        "SECRET_KEY": TEST_SECRET,
        "SQLALCHEMY_DATABASE_URI": database_uri,
        # Still scrypt, at a lower work factor: hashing dominates otherwise.
        "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
        **extra,
    }


def csrf_token(client: FlaskClient, path: str | None = None) -> str:
    """The real token, read from a rendered form, as a browser would get it.

    Without a path: the home page's (a signed-in reader's sign-out form), else the sign-in
    form's; a visitor's catalogue pages carry no form with a token.
    """
    for page in [path] if path else ["/", "/login"]:
        match = CSRF_INPUT.search(client.get(page).get_data(as_text=True))
        if match:
            return match.group(1)
    raise AssertionError(f"no CSRF token on {path or '/ or /login'}")


def add_books(app: Flask, rows: list[dict[str, object]]) -> list[int]:
    with app.app_context():
        ids = db.session.scalars(insert(Book).returning(Book.id), rows).all()
        db.session.commit()
        return list(ids)


def make_rows(count: int, **overrides: object) -> list[dict[str, object]]:
    return [
        {"title": f"Book {n:03d}", "author": f"Author {n % 7}", "pages_num": 100 + n, **overrides}
        for n in range(1, count + 1)
    ]


def needles(count: int, every: int, far_back: int = 0) -> list[dict[str, object]]:
    """COUNT books, every EVERY-th of the newest a "needle" (and the FAR_BACK oldest too)."""
    return [
        {**row, "review": "needle" if n % every == 0 or n <= far_back else "hay"}
        for n, row in enumerate(make_rows(count), 1)
    ]


def flashes(html: str) -> list[tuple[str, str]]:
    return re.findall(r'class="flash flash-(\w+)"[^>]*>\s*<span>([^<]*)</span>', html)


PASSWORD = "correct horse battery"


def create_account(app: Flask, username: str, is_admin: bool = False) -> int:
    from bookshelf.users.accounts import create_user

    with app.app_context():
        return create_user(username, PASSWORD, is_admin=is_admin).id


def sign_in(client: FlaskClient, username: str, password: str = PASSWORD) -> None:
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
