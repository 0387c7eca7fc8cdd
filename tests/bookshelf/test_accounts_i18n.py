"""The account pages use their Russian translations (that every string has one is checked for
the whole app by test_i18n_extract.py)."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from bookshelf_helpers import create_account, sign_in


def test_account_pages_in_russian(app: Flask, client: FlaskClient) -> None:
    create_account(app, "anna")
    client.set_cookie("lang", "ru")
    assert "Забыли пароль?" in client.get("/login").get_data(as_text=True)
    sign_in(client, "anna")
    assert "Сменить пароль" in client.get("/account/password").get_data(as_text=True)
    assert "Устройства, где выполнен вход" in client.get("/users/1").get_data(as_text=True)
