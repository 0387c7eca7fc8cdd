"""Cookies, caching and wording around accounts: the small things a shared computer exposes."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bookshelf import create_app
from bookshelf_helpers import app_config, create_account, csrf_token, sign_in


def test_language_cookie_is_secure_in_production(
    database_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Production refuses an instance folder inside a virtualenv, where an installed package's
    # default lies (as in a deploy's test gate); this test is about the cookie, not that rule.
    monkeypatch.setenv("BOOKSHELF_INSTANCE_PATH", str(tmp_path))
    app = create_app(app_config(database_uri, TESTING=False))
    client = app.test_client()
    # Over HTTPS, as production serves it, following the footer's link.
    page = client.get("/", base_url="https://localhost").get_data(as_text=True)
    link = re.search(r'<a href="(/language\?language=ru[^"]*)"', page)
    assert link, "no language link on the home page"
    response = client.get(html.unescape(link.group(1)), base_url="https://localhost")
    assert response.status_code in (302, 303), response.status_code
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("lang="))
    assert "Secure" in cookie and "HttpOnly" in cookie


def test_profile_and_new_token_pages_are_not_stored(app: Flask, client: FlaskClient) -> None:
    anna = create_account(app, "anna")
    sign_in(client, "anna")
    assert client.get(f"/users/{anna}").headers["Cache-Control"] == "no-store"
    created = client.post(
        f"/users/{anna}/tokens", data={"name": "script", "csrf_token": csrf_token(client)}
    )
    assert created.status_code == 303
    shown = client.get(created.headers["Location"])
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    assert "bks_" in shown.get_data(as_text=True)
    # Reloading shows no token and creates none: the profile lists exactly one.
    again = client.get(created.headers["Location"])
    assert again.status_code == 303 and "bks_" not in again.get_data(as_text=True)
    profile = client.get(f"/users/{anna}").get_data(as_text=True)
    assert profile.count(">script</td>") == 1
    with client.session_transaction() as session:
        assert not any("bks_" in str(value) for value in session.values())


def test_user_api_shows_admin_status_only_to_admins(app: Flask, client: FlaskClient) -> None:
    root = create_account(app, "root", is_admin=True)
    anna = create_account(app, "anna")
    assert "is_admin" not in client.get(f"/api/v1/users/{root}").get_json()
    sign_in(client, "anna")
    assert "is_admin" not in client.get(f"/api/v1/users/{root}").get_json()
    admin = app.test_client()
    sign_in(admin, "root")
    assert admin.get(f"/api/v1/users/{root}").get_json()["is_admin"] is True
    assert admin.get(f"/api/v1/users/{anna}").get_json()["is_admin"] is False


def test_profile_greets_only_its_owner(app: Flask, client: FlaskClient) -> None:
    anna = create_account(app, "anna")
    create_account(app, "boris")
    sign_in(client, "boris")
    page = client.get(f"/users/{anna}").get_data(as_text=True)
    assert "Hello, anna!" not in page and "<h1>anna</h1>" in page
    assert "Signed-in devices" not in page and "Cache-Control" not in str(page)
    owner = app.test_client()
    sign_in(owner, "anna")
    assert "Hello, anna!" in owner.get(f"/users/{anna}").get_data(as_text=True)
