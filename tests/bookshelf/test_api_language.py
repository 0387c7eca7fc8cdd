"""The API's one rule for language: problem documents are English, whatever the client asks.

Every error the API can answer with is requested twice, once in English and once asking for
Russian in every way a browser can (Accept-Language and the site's `lang` cookie); both
answers must be the same English problem+json document, with `type` about:blank and the
HTTP status phrase as `title`. The HTML pages keep following the reader's language.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.exc import OperationalError
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.test import TestResponse

from bookshelf.extensions import db
from bookshelf.models import User
from bookshelf.users.tokens import issue_token
from bookshelf_helpers import add_books, create_account, csrf_token, sign_in

PROBLEM = "application/problem+json"
MISSING = 999_999
RUSSIAN = {"Accept-Language": "ru-RU,ru;q=0.9"}
ENGLISH = {"Accept-Language": "en"}
CYRILLIC = re.compile("[\u0400-\u04ff]")
BOOK = {"title": "Dead Souls", "author": "Nikolai Gogol", "pages_num": 352}


@dataclass
class World:
    """What the requests refer to: a user's token, a book they added and one they did not."""

    token: str
    own_book: int
    others_book: int

    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass(frozen=True)
class Case:
    name: str
    status: int
    method: str
    path: Callable[[World], str]
    headers: Callable[[World], dict[str, str]] = lambda _w: {}
    body: dict[str, Any] = field(default_factory=dict)  # keyword arguments of client.open


def signed(world: World) -> dict[str, str]:
    return {**world.bearer(), "Content-Type": "application/json"}


CASES = [
    Case("book not found", 404, "GET", lambda w: f"/api/v1/books/{MISSING}"),
    Case("user not found", 404, "GET", lambda w: f"/api/v1/users/{MISSING}"),
    Case("unknown API path", 404, "GET", lambda w: "/api/v1/no-such-thing"),
    Case("forged cursor", 404, "GET", lambda w: "/api/v1/books?cursor=forged"),
    Case("id out of range", 404, "GET", lambda w: "/api/v1/books/99999999999999999999"),
    Case(
        "replace someone else's book",
        403,
        "PUT",
        lambda w: f"/api/v1/books/{w.others_book}",
        signed,
        {"json": BOOK},
    ),
    Case(
        "change someone else's book",
        403,
        "PATCH",
        lambda w: f"/api/v1/books/{w.others_book}",
        signed,
        {"json": {"pages_num": 1}},
    ),
    Case(
        "delete someone else's book",
        403,
        "DELETE",
        lambda w: f"/api/v1/books/{w.others_book}",
        World.bearer,
    ),
    Case("write without a token", 401, "POST", lambda w: "/api/v1/books", body={"json": BOOK}),
    Case(
        "unknown token",
        401,
        "GET",
        lambda w: "/api/v1/books",
        lambda w: {"Authorization": "Bearer bks_not-a-real-token"},
    ),
    Case(
        "not a bearer token",
        401,
        "GET",
        lambda w: f"/api/v1/users/{MISSING}",
        lambda w: {"Authorization": "Basic eDp5"},
    ),
    Case(
        "malformed JSON",
        400,
        "POST",
        lambda w: "/api/v1/books",
        signed,
        {"data": "{not json"},
    ),
    Case("wrong method", 405, "DELETE", lambda w: "/api/v1/books"),
    Case(
        "JSON not acceptable",
        406,
        "GET",
        lambda w: "/api/v1/books",
        lambda w: {"Accept": "text/html"},
    ),
    Case(
        "stale If-Match",
        412,
        "DELETE",
        lambda w: f"/api/v1/books/{w.own_book}",
        lambda w: {"If-Match": '"stale"', **w.bearer()},
    ),
    Case(
        "body too large",
        413,
        "POST",
        lambda w: "/api/v1/books",
        signed,
        {"data": json.dumps({**BOOK, "review": "x" * 2_000_000})},
    ),
    Case("URL too long", 414, "GET", lambda w: "/api/v1/books?q=" + "x" * 5000),
    Case(
        "not JSON",
        415,
        "POST",
        lambda w: "/api/v1/books",
        lambda w: {**w.bearer(), "Content-Type": "text/plain"},
        {"data": "Dead Souls"},
    ),
    Case(
        "invalid fields",
        422,
        "POST",
        lambda w: "/api/v1/books",
        signed,
        {"json": {"title": "", "pages_num": "many"}},
    ),
    Case("invalid query", 422, "GET", lambda w: "/api/v1/books?per_page=many"),
]


@pytest.fixture
def world(app: Flask) -> World:
    someone = create_account(app, "someone")
    stranger = create_account(app, "stranger")
    own_book, others_book = add_books(
        app, [{**BOOK, "added_by_id": stranger}, {**BOOK, "added_by_id": someone}]
    )
    with app.app_context():
        _record, token = issue_token(db.session.get(User, stranger), "tests")
    return World(token, own_book, others_book)


def ask(client: FlaskClient, case: Case, world: World, language: dict[str, str]) -> TestResponse:
    client.set_cookie("lang", "ru" if language is RUSSIAN else "en")
    headers = {**language, **case.headers(world)}
    return client.open(case.path(world), method=case.method, headers=headers, **case.body)


def broken_rule(response: TestResponse, english: TestResponse, status: int) -> str | None:
    """Why this answer breaks the rule, or None."""
    if response.status_code != status or response.mimetype != PROBLEM:
        return f"answered {response.status_code} {response.mimetype}"
    body = response.get_json()
    if body != english.get_json():
        return f"differs from the English answer: {body} != {english.get_json()}"
    if CYRILLIC.search(response.get_data(as_text=True)):
        return f"is not English: {body}"
    if body["type"] != "about:blank" or body["title"] != HTTP_STATUS_CODES[status]:
        return f"type/title are not the stable ones: {body}"
    if response.headers.get("Content-Language", "en") != "en":
        return f"says Content-Language: {response.headers['Content-Language']}"
    return None


def test_every_api_error_is_english_whatever_the_client_asks(
    client: FlaskClient, world: World
) -> None:
    broken = []
    for case in CASES:
        english = ask(client, case, world, ENGLISH)
        russian = ask(client, case, world, RUSSIAN)
        reason = broken_rule(russian, english, case.status)
        if reason:
            broken.append(
                f"{case.status} {case.name} ({case.method} {case.path(world)[:60]}): {reason}"
            )
    assert not broken, "\n".join(broken)


def test_a_browser_session_without_csrf_token_gets_an_english_400(
    app: Flask, client: FlaskClient
) -> None:
    create_account(app, "reader")
    sign_in(client, "reader")
    csrf_token(client)
    english = client.post("/api/v1/books", json=BOOK, headers=ENGLISH)
    client.set_cookie("lang", "ru")
    russian = client.post("/api/v1/books", json=BOOK, headers=RUSSIAN)
    assert broken_rule(russian, english, 400) is None


@pytest.mark.parametrize("app_settings", [{"API_RATE_LIMIT": "2 per minute"}])
def test_the_rate_limit_answers_in_english(client: FlaskClient) -> None:
    allowed = [client.get("/api/v1/books", headers=ENGLISH) for _ in range(2)]
    english = client.get("/api/v1/books", headers=ENGLISH)
    client.set_cookie("lang", "ru")
    russian = client.get("/api/v1/books", headers=RUSSIAN)
    assert [r.status_code for r in allowed] == [200, 200]
    assert broken_rule(russian, english, 429) is None


def test_a_database_outage_answers_in_english(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(*_args: object, **_kwargs: object) -> None:
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("refused"))

    # Outside any app context of the test's own: each request must choose its language anew.
    monkeypatch.setattr(db.session, "get", unreachable)
    english = client.get(f"/api/v1/users/{MISSING}", headers=ENGLISH)
    client.set_cookie("lang", "ru")
    russian = client.get(f"/api/v1/users/{MISSING}", headers=RUSSIAN)
    assert broken_rule(russian, english, 503) is None


def test_html_pages_still_follow_the_readers_language(client: FlaskClient) -> None:
    """The rule is the API's: the same missing book is a Russian page for a Russian reader."""
    html = client.get(f"/books/{MISSING}", headers=RUSSIAN).get_data(as_text=True)
    assert CYRILLIC.search(html)
    assert client.get(f"/books/{MISSING}", headers=RUSSIAN).status_code == 404
