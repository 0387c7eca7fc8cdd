"""Sign-up, sign-in, sign-out, the login rate limit, safe `next` redirects and the session."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from bookshelf.extensions import db
from bookshelf.models import User
from bookshelf_helpers import (
    PASSWORD,
    add_books,
    create_account,
    csrf_token,
    flashes,
    make_rows,
    sign_in,
)

LOGIN_FAILED = "Unknown username or wrong password."


def sign_up(
    client: FlaskClient, username: str, password: str = PASSWORD, confirm: str | None = None
):
    return client.post(
        "/users",
        data={
            "username": username,
            "password": password,
            "confirm": password if confirm is None else confirm,
            "csrf_token": csrf_token(client),
        },
    )


def test_sign_up_creates_the_account_signs_in_and_redirects(
    app: Flask, client: FlaskClient
) -> None:
    response = sign_up(client, "Anna")
    assert response.status_code == 302
    with app.app_context():
        user = db.session.scalar(select(User))
        assert user is not None and user.username == "Anna"
        assert user.password_hash.startswith("scrypt:")
        assert PASSWORD not in user.password_hash
    assert response.headers["Location"] == f"/users/{user.id}"
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert ("success", "Welcome, Anna! Your account is ready.") in flashes(html)
    assert "Hello, Anna!" in html
    assert "Sign out" in html  # signed in


@pytest.mark.parametrize(
    ("username", "password", "confirm", "message"),
    [
        ("ab", PASSWORD, None, "Use at least 3 characters."),
        ("bad name!", PASSWORD, None, "Use letters, digits, dots, dashes and underscores only."),
        ("anna", "short", None, "Use at least 10 characters."),
        ("anna", PASSWORD, "different password", "The passwords differ."),
    ],
)
def test_invalid_sign_up_is_422_and_keeps_the_username(
    app: Flask, client: FlaskClient, username: str, password: str, confirm: str | None, message: str
) -> None:
    response = sign_up(client, username, password, confirm)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html
    assert f'value="{username}"' in html.replace("&#34;", '"')
    assert password not in html  # passwords are never echoed back
    with app.app_context():
        assert db.session.scalars(select(User)).all() == []


def test_usernames_are_unique_ignoring_case(app: Flask, client: FlaskClient) -> None:
    create_account(app, "Anna")
    response = sign_up(client, "aNNA")
    assert response.status_code == 422
    assert "That username is taken." in response.get_data(as_text=True)


def test_sign_in_and_sign_out(app: Flask, client: FlaskClient) -> None:
    create_account(app, "anna")
    sign_in(client, "ANNA")  # case-insensitive
    assert "Sign out" in client.get("/").get_data(as_text=True)
    with client.session_transaction() as session:
        assert session["_user_id"]
    response = client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    html = client.get("/").get_data(as_text=True)
    assert ("success", "You have been signed out.") in flashes(html)
    assert "Sign in" in html and "Sign out" not in html
    with client.session_transaction() as session:
        assert "_user_id" not in session


def test_logout_over_get_is_405_and_without_csrf_400(app: Flask, client: FlaskClient) -> None:
    create_account(app, "anna")
    sign_in(client, "anna")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert "Sign out" in client.get("/").get_data(as_text=True)  # still signed in


def test_unknown_user_and_wrong_password_get_the_same_answer(
    app: Flask, client: FlaskClient
) -> None:
    create_account(app, "anna")
    answers = []
    for username, password in [("anna", "wrong password"), ("nobody", "wrong password")]:
        response = client.post(
            "/login",
            data={"username": username, "password": password, "csrf_token": csrf_token(client)},
        )
        html = response.get_data(as_text=True)
        answers.append((response.status_code, flashes(html)))
        assert f'value="{username}"' in html  # the username is kept, the password is not
        assert "wrong password" not in html.replace(LOGIN_FAILED, "")
    assert answers[0] == answers[1] == (401, [("error", LOGIN_FAILED)])


def test_login_attempts_are_rate_limited(app: Flask, client: FlaskClient) -> None:
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    create_account(app, "anna")
    token = csrf_token(client)
    statuses = [
        client.post(
            "/login", data={"username": "anna", "password": "nope nope", "csrf_token": token}
        ).status_code
        for _ in range(4)
    ]
    assert statuses == [401, 401, 401, 429]
    # Even the right password waits now: guessing is what the limit is for.
    blocked = client.post(
        "/login", data={"username": "anna", "password": PASSWORD, "csrf_token": token}
    )
    assert blocked.status_code == 429
    assert "Retry-After" in blocked.headers
    assert "Too many requests" in blocked.get_data(as_text=True)
    assert client.get("/login").status_code == 200  # only attempts count


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/books?sort=title", "/books?sort=title"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("\\\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("http:/evil.example", "/"),
        ("", "/"),
    ],
)
def test_next_is_followed_only_to_local_paths(
    app: Flask, client: FlaskClient, next_url: str, expected: str
) -> None:
    create_account(app, "anna")
    response = client.post(
        "/login",
        data={
            "username": "anna",
            "password": PASSWORD,
            "next": next_url,
            "csrf_token": csrf_token(client),
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_anonymous_create_redirects_to_login_with_next(app: Flask, client: FlaskClient) -> None:
    response = client.get("/books/new")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    create_account(app, "anna")
    login_page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert ("warning", "Please sign in to do that.") in flashes(login_page)
    assert 'name="next" type="hidden" value="/books/new"' in login_page
    posted = client.post(
        "/login",
        data={
            "username": "anna",
            "password": PASSWORD,
            "next": "/books/new",
            "csrf_token": csrf_token(client),
        },
    )
    assert posted.headers["Location"] == "/books/new"


def test_session_holds_only_the_user_id_and_framework_tokens(
    app: Flask, client: FlaskClient
) -> None:
    create_account(app, "anna")
    sign_in(client, "anna")
    client.post("/reading-list", data={"book_id": "1", "csrf_token": csrf_token(client)})
    with client.session_transaction() as session:
        # Flask-Login's user id and freshness flag, Flask-WTF's CSRF secret, pending flashes.
        assert set(session.keys()) <= {"_user_id", "_fresh", "_id", "csrf_token", "_flashes"}
        assert "anna" not in str(dict(session))


def test_session_cookie_flags(app: Flask, client: FlaskClient) -> None:
    create_account(app, "anna")
    response = client.post(
        "/login",
        data={"username": "anna", "password": PASSWORD, "csrf_token": csrf_token(client)},
    )
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_users_list_and_profiles(app: Flask, client: FlaskClient) -> None:
    anna = create_account(app, "anna")
    create_account(app, "boris")
    add_books(app, make_rows(3, added_by_id=anna))
    html = client.get("/users").get_data(as_text=True)
    assert f'<a href="/users/{anna}">anna</a>' in html and ">boris</a>" in html
    assert "<td>3</td>" in html and "<td>0</td>" in html
    profile = client.get(f"/users/{anna}").get_data(as_text=True)
    assert "<h1>anna</h1>" in profile and "3 books added" in profile and "Book 003" in profile
    assert "Hello, anna!" not in profile  # a visitor is not anna
    assert "<title>anna · Bookshelf</title>" in profile
    assert client.get("/users/99999").status_code == 404


def test_create_admin_command(app: Flask) -> None:
    runner = app.test_cli_runner()
    created = runner.invoke(args=["create-admin", "root"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert created.exit_code == 0, created.output
    create_account(app, "anna")
    promoted = runner.invoke(args=["create-admin", "ANNA"])
    assert "anna is now an admin." in promoted.output
    with app.app_context():
        admins = db.session.scalars(select(User.username).where(User.is_admin)).all()
    assert sorted(admins) == ["anna", "root"]


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/login", {"username": "anna", "password": PASSWORD}),
        ("/users", {"username": "newbie", "password": PASSWORD, "confirm": PASSWORD}),
        ("/logout", {}),
        ("/reading-list", {"book_id": "1"}),
        ("/reading-list", {"_method": "DELETE"}),
        ("/users/{anna}/tokens", {"name": "script"}),
        ("/books", {"title": "T", "author": "A", "pages_num": "1"}),
    ],
)
def test_every_form_rejects_a_missing_csrf_token(
    app: Flask, client: FlaskClient, path: str, data: dict[str, str]
) -> None:
    anna = create_account(app, "anna")
    sign_in(client, "anna")
    response = client.post(path.format(anna=anna), data=data)
    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(User.username)).all() == ["anna"]
