"""The per-account sign-in throttle: guesses spread over many addresses still count."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from bookshelf.extensions import db
from bookshelf.models import LoginFailures
from bookshelf_helpers import PASSWORD, create_account, csrf_token

THROTTLED = "Too many failed sign-ins for this username."


@pytest.fixture
def app_settings() -> dict[str, Any]:
    # The per-address limit out of the way: this is about the per-account one.
    return {"LOGIN_RATE_LIMIT": "1000 per minute", "ACCOUNT_LOGIN_FAILURES": 5}


def attempt(client: FlaskClient, username: str, password: str, address: str) -> int:
    token = csrf_token(client, "/login")
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        environ_base={"REMOTE_ADDR": address},
    )
    return response.status_code


@pytest.mark.parametrize("username", ["anna", "nobody"])
def test_failures_per_username_are_throttled_across_addresses(
    app: Flask, client: FlaskClient, username: str
) -> None:
    create_account(app, "anna")
    statuses = [attempt(client, username, "wrong guess", f"10.0.0.{n}") for n in range(6)]
    # Known and unknown names alike, so the throttle does not tell which names exist.
    assert statuses == [401] * 5 + [429]
    blocked = client.post(
        "/login",
        data={"username": username.upper(), "password": PASSWORD, "csrf_token": csrf_token(client)},
        environ_base={"REMOTE_ADDR": "10.0.1.1"},
    )
    assert blocked.status_code == 429 and THROTTLED in blocked.get_data(as_text=True)
    assert "Retry-After" in blocked.headers
    assert attempt(client, "boris", "wrong guess", "10.0.0.9") == 401  # other names unaffected


def test_the_window_passes_and_success_clears_it(app: Flask, client: FlaskClient) -> None:
    create_account(app, "anna")
    for n in range(5):
        attempt(client, "anna", "wrong guess", f"10.0.0.{n}")
    with app.app_context():
        old = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16)
        db.session.execute(update(LoginFailures).values(window_start=old))
        db.session.commit()
    assert attempt(client, "anna", PASSWORD, "10.0.0.1") == 302
    stranger = app.test_client()
    for n in range(5):
        assert attempt(stranger, "anna", "wrong guess", f"10.0.0.{n}") == 401
    assert attempt(stranger, "anna", "wrong guess", "10.0.0.7") == 429
