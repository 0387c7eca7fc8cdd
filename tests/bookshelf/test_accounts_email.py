"""Password reset and address checks by email, through a real SMTP server on loopback."""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from test_accounts_sessions import remember_sign_in, signed_in

from bookshelf.extensions import db
from bookshelf.models import AccountToken, User
from bookshelf_helpers import PASSWORD, create_account, csrf_token, flashes, sign_in
from support import smtp_server

RESET_SENT = "If an account has that verified address, a link to reset its password is on its way."
NEW_PASSWORD = "a reset passphrase here"


@pytest.fixture
def mailbox() -> Iterator[tuple[int, list[Any]]]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def app_settings(mailbox: tuple[int, list[Any]]) -> dict[str, Any]:
    return {"MAIL_URL": f"smtp://127.0.0.1:{mailbox[0]}"}


def wait_for_mail(messages: list[Any], count: int = 1) -> Any:
    deadline = time.monotonic() + 5
    while len(messages) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(messages) >= count, "no mail arrived"
    return messages[count - 1]


def link_in(message: Any) -> str:
    match = re.search(r"http://localhost(/account/\S+)", message.get_content())
    assert match, message.get_content()
    return match.group(1)


def give_verified_email(app: Flask, user_id: int, email: str) -> None:
    with app.app_context():
        db.session.get(User, user_id).email = email
        db.session.commit()


def request_reset(client: FlaskClient, email: str):
    return client.post(
        "/account/reset", data={"email": email, "csrf_token": csrf_token(client, "/account/reset")}
    )


def choose_password(client: FlaskClient, path: str, password: str = NEW_PASSWORD):
    page = client.get(path)
    assert page.status_code == 303, page.get_data(as_text=True)
    form = client.get(page.headers["Location"])
    return form, client.post(
        page.headers["Location"],
        data={
            "password": password,
            "confirm": password,
            "csrf_token": csrf_token(client, page.headers["Location"]),
        },
    )


def test_reset_by_email_end_to_end(app: Flask, client: FlaskClient, mailbox) -> None:
    anna = create_account(app, "anna")
    give_verified_email(app, anna, "anna@example.org")
    laptop = app.test_client()
    remember_sign_in(laptop, "anna")
    response = request_reset(client, "Anna@Example.org")
    assert response.status_code == 303
    assert ("success", RESET_SENT) in flashes(
        client.get(response.headers["Location"]).get_data(as_text=True)
    )
    message = wait_for_mail(mailbox[1])
    assert message["To"] == "anna@example.org"
    assert "anna" in message.get_content()
    path = link_in(message)
    form, done = choose_password(client, path)
    assert form.status_code == 200 and form.headers["Cache-Control"] == "no-store"
    assert done.status_code == 303, done.get_data(as_text=True)
    assert not signed_in(laptop)  # every session ended
    sign_in(app.test_client(), "anna", NEW_PASSWORD)
    # Single use: the same link is dead now.
    again = client.get(path)
    assert again.status_code == 400
    assert "invalid or has expired" in again.get_data(as_text=True)
    with app.app_context():
        stored = db.session.scalars(select(AccountToken.token_hash)).all()
    assert stored and path.rsplit("/", 1)[1] not in stored  # only hashes are kept


def test_same_answer_whether_or_not_the_account_exists(
    app: Flask, client: FlaskClient, mailbox
) -> None:
    anna = create_account(app, "anna")
    give_verified_email(app, anna, "anna@example.org")
    known = request_reset(client, "anna@example.org")
    unknown = request_reset(app.test_client(), "nobody@example.org")
    assert known.status_code == unknown.status_code == 303
    assert known.headers["Location"] == unknown.headers["Location"]
    wait_for_mail(mailbox[1])
    time.sleep(0.3)
    assert len(mailbox[1]) == 1


def test_reset_links_expire_after_30_minutes(app: Flask, client: FlaskClient, mailbox) -> None:
    anna = create_account(app, "anna")
    give_verified_email(app, anna, "anna@example.org")
    request_reset(client, "anna@example.org")
    path = link_in(wait_for_mail(mailbox[1]))
    with app.app_context():
        db.session.execute(
            update(AccountToken).values(
                expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
            )
        )
        db.session.commit()
    assert client.get(path).status_code == 400


def test_reset_requests_are_rate_limited(app: Flask, client: FlaskClient) -> None:
    app.config["RESET_RATE_LIMIT"] = "2 per hour"
    statuses = [request_reset(client, "x@example.org").status_code for _ in range(3)]
    assert statuses == [303, 303, 429]


def test_adding_an_email_address_needs_the_link(app: Flask, client: FlaskClient, mailbox) -> None:
    anna = create_account(app, "anna")
    sign_in(client, "anna")
    response = client.post(
        "/account/email",
        data={
            "email": "anna@example.org",
            "current": PASSWORD,
            "csrf_token": csrf_token(client, "/account/email"),
        },
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, anna).email is None  # not before the link is followed
    path = link_in(wait_for_mail(mailbox[1]))
    assert client.get(path).status_code == 303
    with app.app_context():
        assert db.session.get(User, anna).email == "anna@example.org"


def test_without_mail_url_development_logs_the_message(
    app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    app.config.update(MAIL_URL="", BOOKSHELF_DEVELOPMENT=True)
    anna = create_account(app, "anna")
    give_verified_email(app, anna, "anna@example.org")
    with caplog.at_level(logging.INFO, logger="bookshelf.mail"):
        request_reset(client, "anna@example.org")
        deadline = time.monotonic() + 5
        while "/account/reset/" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.02)
    assert "To: anna@example.org" in caplog.text and "/account/reset/" in caplog.text
