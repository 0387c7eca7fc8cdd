"""Password change, password rules and look-alike usernames."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from test_accounts_sessions import copy_cookies, remember_sign_in, signed_in

from bookshelf.extensions import db
from bookshelf.models import User
from bookshelf_helpers import PASSWORD, create_account, csrf_token, flashes, sign_in

NEW_PASSWORD = "a much newer passphrase"


def change_password(client: FlaskClient, current: str, new: str, confirm: str | None = None):
    return client.post(
        "/account/password",
        data={
            "current": current,
            "password": new,
            "confirm": new if confirm is None else confirm,
            "csrf_token": csrf_token(client, "/account/password"),
        },
    )


def test_password_change_ends_every_other_session(app: Flask, client: FlaskClient) -> None:
    create_account(app, "anna")
    stolen = app.test_client()
    remember_sign_in(stolen, "anna")
    copy = app.test_client()
    copy_cookies(stolen, copy)
    sign_in(client, "anna")
    assert client.get("/account/password").status_code == 200
    response = change_password(client, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 303, response.get_data(as_text=True)
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert ("success", "Your password was changed. Every other device was signed out.") in (
        flashes(html)
    )
    assert signed_in(client)
    assert not signed_in(stolen) and not signed_in(copy)
    fresh = app.test_client()
    sign_in(fresh, "anna", NEW_PASSWORD)


def test_password_change_needs_the_current_password(app: Flask, client: FlaskClient) -> None:
    create_account(app, "anna")
    sign_in(client, "anna")
    response = change_password(client, "not my password", NEW_PASSWORD)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "That is not your current password." in html
    assert NEW_PASSWORD not in html
    fresh = app.test_client()
    sign_in(fresh, "anna")  # unchanged


def test_password_change_page_needs_sign_in(client: FlaskClient) -> None:
    response = client.get("/account/password")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("nine char", "Use at least 10 characters."),
        ("password1234", "This password is on a list of common passwords"),
        ("Qwertyuiop", "This password is on a list of common passwords"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(
    app: Flask, client: FlaskClient, password: str, message: str
) -> None:
    create_account(app, "anna")
    sign_in(client, "anna")
    response = change_password(client, PASSWORD, password)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    newcomer = app.test_client()
    signup = newcomer.post(
        "/users",
        data={
            "username": "newbie",
            "password": password,
            "confirm": password,
            "csrf_token": csrf_token(newcomer, "/users/new"),
        },
    )
    assert signup.status_code == 422 and message in signup.get_data(as_text=True)


@pytest.mark.parametrize("lookalike", ["аlice", "ＡＬＩＣＥ", "ALİCE", "a1ice", "ALICE"])
def test_look_alike_usernames_are_refused(app: Flask, client: FlaskClient, lookalike: str) -> None:
    create_account(app, "alice")
    response = client.post(
        "/users",
        data={
            "username": lookalike,
            "password": PASSWORD,
            "confirm": PASSWORD,
            "csrf_token": csrf_token(client, "/users/new"),
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "That username is taken" in html or "looks too much like" in html
    with app.app_context():
        assert db.session.scalars(select(User.username)).all() == ["alice"]


def test_fullwidth_name_signs_in_as_the_plain_one(app: Flask, client: FlaskClient) -> None:
    create_account(app, "alice")
    sign_in(client, "ＡＬＩＣＥ")
    assert signed_in(client)
