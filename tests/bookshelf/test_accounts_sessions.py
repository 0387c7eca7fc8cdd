"""Sign-out that signs out, server-side session records, devices and expiry."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select, update

from bookshelf.extensions import db
from bookshelf.models import UserSession
from bookshelf_helpers import PASSWORD, create_account, csrf_token, flashes, sign_in

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


def remember_sign_in(client: FlaskClient, username: str) -> None:
    response = client.post(
        "/login",
        data={
            "username": username,
            "password": PASSWORD,
            "remember": "y",
            "csrf_token": csrf_token(client, "/login"),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert client.get_cookie("remember_token") is not None


def signed_in(client: FlaskClient) -> bool:
    return "Sign out" in client.get("/").get_data(as_text=True)


def copy_cookies(source: FlaskClient, target: FlaskClient) -> None:
    for name in ("session", "remember_token"):
        cookie = source.get_cookie(name)
        if cookie is not None:
            target.set_cookie(name, cookie.value)


def sign_out(client: FlaskClient) -> None:
    response = client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 302


def test_sign_out_with_keep_me_signed_in_signs_out(app: Flask, client: FlaskClient) -> None:
    create_account(app, "anna")
    remember_sign_in(client, "anna")
    assert signed_in(client)
    sign_out(client)
    assert client.get_cookie("remember_token") is None
    assert not signed_in(client)


def test_cookies_copied_before_sign_out_die_with_it(app: Flask, client: FlaskClient) -> None:
    create_account(app, "anna")
    remember_sign_in(client, "anna")
    thief = app.test_client()
    copy_cookies(client, thief)
    assert signed_in(thief)
    remember_only = app.test_client()
    remember_only.set_cookie("remember_token", client.get_cookie("remember_token").value)
    sign_out(client)
    assert not signed_in(thief)
    assert not signed_in(remember_only)


def session_rows(app: Flask) -> list[UserSession]:
    with app.app_context():
        return list(db.session.scalars(select(UserSession).order_by(UserSession.id)))


def test_each_sign_in_is_a_session_row_and_the_cookie_names_only_it(
    app: Flask, client: FlaskClient
) -> None:
    anna = create_account(app, "anna")
    client.environ_base["HTTP_USER_AGENT"] = FIREFOX
    remember_sign_in(client, "anna")
    [row] = session_rows(app)
    assert row.user_id == anna and row.user_agent == "Firefox · Linux" and row.ip == "127.0.0.1"
    with client.session_transaction() as session:
        key = session["_user_id"]
    assert key != str(anna) and len(key) > 30
    assert hashlib.sha256(key.encode()).hexdigest() == row.key_hash  # only the hash is kept
    assert key in client.get_cookie("remember_token").value  # the remember cookie names it too
    sign_out(client)
    assert session_rows(app) == []


def test_devices_list_and_signing_out_one_device(app: Flask, client: FlaskClient) -> None:
    anna = create_account(app, "anna")
    laptop = app.test_client()
    laptop.environ_base["HTTP_USER_AGENT"] = FIREFOX
    remember_sign_in(laptop, "anna")
    sign_in(client, "anna")
    profile = client.get(f"/users/{anna}").get_data(as_text=True)
    assert "Signed-in devices" in profile and "Firefox · Linux" in profile
    assert "This device" in profile
    laptop_row = session_rows(app)[0]
    response = client.post(
        f"/account/sessions/{laptop_row.id}",
        data={"_method": "DELETE", "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 303
    assert ("success", "That device was signed out.") in flashes(
        client.get(response.headers["Location"]).get_data(as_text=True)
    )
    assert not signed_in(laptop) and signed_in(client)


def test_nobody_ends_another_users_session(app: Flask, client: FlaskClient) -> None:
    create_account(app, "anna")
    create_account(app, "boris")
    victim = app.test_client()
    sign_in(victim, "anna")
    sign_in(client, "boris")
    anna_row = session_rows(app)[0]
    client.post(
        f"/account/sessions/{anna_row.id}",
        data={"_method": "DELETE", "csrf_token": csrf_token(client)},
    )
    assert signed_in(victim)


def test_sign_out_everywhere_else_kills_copied_cookies(app: Flask, client: FlaskClient) -> None:
    create_account(app, "anna")
    stolen = app.test_client()
    remember_sign_in(stolen, "anna")
    copy = app.test_client()
    copy_cookies(stolen, copy)
    sign_in(client, "anna")
    response = client.post("/account/sessions/others", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 303
    assert not signed_in(stolen) and not signed_in(copy)
    assert signed_in(client)
    assert len(session_rows(app)) == 1


@pytest.mark.parametrize(
    ("created_days_ago", "seen_days_ago", "alive"),
    [(20, 13, True), (20, 15, False), (91, 0, False), (89, 1, True)],
)
def test_sessions_expire_when_idle_or_old(
    app: Flask, client: FlaskClient, created_days_ago: int, seen_days_ago: int, alive: bool
) -> None:
    create_account(app, "anna")
    remember_sign_in(client, "anna")
    copy = app.test_client()
    copy_cookies(client, copy)
    now = dt.datetime.now(dt.UTC)
    with app.app_context():
        db.session.execute(
            update(UserSession).values(
                created_at=now - dt.timedelta(days=created_days_ago),
                last_seen_at=now - dt.timedelta(days=seen_days_ago),
            )
        )
        db.session.commit()
    assert signed_in(copy) is alive
    assert signed_in(client) is alive
    assert len(session_rows(app)) == (1 if alive else 0)


def test_lifetimes_are_configurable(app: Flask, client: FlaskClient) -> None:
    app.config["SESSION_IDLE_DAYS"] = 1
    create_account(app, "anna")
    sign_in(client, "anna")
    with app.app_context():
        db.session.execute(
            update(UserSession).values(
                last_seen_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=25)
            )
        )
        db.session.commit()
    assert not signed_in(client)


def test_last_seen_is_written_at_most_every_few_minutes(app: Flask, client: FlaskClient) -> None:
    create_account(app, "anna")
    sign_in(client, "anna")
    old = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    with app.app_context():
        db.session.execute(update(UserSession).values(last_seen_at=old))
        db.session.commit()
    client.get("/")
    first = session_rows(app)[0].last_seen_at.replace(tzinfo=None)
    assert first > old.replace(tzinfo=None)
    client.get("/")
    assert session_rows(app)[0].last_seen_at.replace(tzinfo=None) == first


def test_anonymous_visitors_cost_no_session_query(app: Flask, client: FlaskClient) -> None:
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            client.get("/users")
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
    assert statements and not any("user_sessions" in s for s in statements)
