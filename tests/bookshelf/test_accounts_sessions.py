"""Sign-out that signs out, server-side session records, devices and expiry."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from bookshelf_helpers import PASSWORD, create_account, csrf_token


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
