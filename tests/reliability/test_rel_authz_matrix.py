"""The authentication and authorisation matrix.

Every mutating HTML route and API operation (taken from the app's URL map, so a new route
without a row here fails the coverage test) is tried anonymously, as another user, with a bad
or missing CSRF token, and for the API with no token, another user's token, a revoked token,
a malformed header and a session cookie without CSRF. None of these may change anything; the
owner, doing the same with the right credentials, must succeed (so the matrix can fail).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from rel_helpers import bearer, snapshot, token_for
from werkzeug.test import TestResponse

from bookshelf.extensions import db
from bookshelf.models import User
from bookshelf.users.tokens import revoke_token
from bookshelf_helpers import add_books, create_account, csrf_token, sign_in

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
BOOK = {"title": "New", "author": "Someone", "pages_num": "5"}


@dataclass(frozen=True)
class World:
    owner: int
    stranger: int
    book_id: int
    token_id: int
    owner_token: str
    stranger_token: str
    revoked_token: str


def build_world(app: Flask) -> World:
    owner = create_account(app, "owner")
    stranger = create_account(app, "stranger")
    [book_id] = add_books(
        app, [{"title": "Owned", "author": "Owner", "pages_num": 9, "added_by_id": owner}]
    )
    token_id, owner_token = token_for(app, owner, "laptop")
    _, stranger_token = token_for(app, stranger)
    revoked_id, revoked_token = token_for(app, owner, "old")
    with app.app_context():
        assert revoke_token(db.session.get(User, owner), revoked_id)
    return World(owner, stranger, book_id, token_id, owner_token, stranger_token, revoked_token)


def with_csrf(data: dict[str, str], token: str | None) -> dict[str, str]:
    return data if token is None else {**data, "csrf_token": token}


def csrf_header(token: str | None) -> dict[str, str]:
    return {} if token is None else {"X-CSRFToken": token}


Send = Callable[[FlaskClient, World, str | None], TestResponse]


@dataclass(frozen=True)
class Case:
    endpoint: str
    method: str
    # owned: owner or admin only; login: any signed-in user; public: anyone (CSRF still applies)
    kind: str
    send: Send
    label: str = ""

    @property
    def id(self) -> str:
        return f"{self.method} {self.endpoint}{self.label}"


HTML_CASES = [
    Case(
        "books.create", "POST", "login", lambda c, w, t: c.post("/books", data=with_csrf(BOOK, t))
    ),
    Case(
        "books.update",
        "PATCH",
        "owned",
        lambda c, w, t: c.patch(f"/books/{w.book_id}", data=with_csrf(BOOK, t)),
    ),
    Case(
        "books.update",
        "PATCH",
        "owned",
        lambda c, w, t: c.post(
            f"/books/{w.book_id}", data=with_csrf({**BOOK, "_method": "PATCH"}, t)
        ),
        " (form override)",
    ),
    Case(
        "books.update",
        "PUT",
        "owned",
        lambda c, w, t: c.put(f"/books/{w.book_id}", data=with_csrf(BOOK, t)),
    ),
    Case(
        "books.delete",
        "DELETE",
        "owned",
        lambda c, w, t: c.delete(f"/books/{w.book_id}", headers=csrf_header(t)),
    ),
    Case(
        "books.delete",
        "DELETE",
        "owned",
        lambda c, w, t: c.post(f"/books/{w.book_id}", data=with_csrf({"_method": "DELETE"}, t)),
        " (form override)",
    ),
    Case(
        "users.create_token",
        "POST",
        "owned",
        lambda c, w, t: c.post(f"/users/{w.owner}/tokens", data=with_csrf({"name": "x"}, t)),
    ),
    Case(
        "users.delete_token",
        "DELETE",
        "owned",
        lambda c, w, t: c.post(
            f"/users/{w.owner}/tokens/{w.token_id}", data=with_csrf({"_method": "DELETE"}, t)
        ),
    ),
    Case("auth.logout", "POST", "login", lambda c, w, t: c.post("/logout", data=with_csrf({}, t))),
    Case(
        "auth.login",
        "POST",
        "public",
        lambda c, w, t: c.post(
            "/login",
            data=with_csrf({"username": "owner", "password": "correct horse battery"}, t),
        ),
    ),
    Case(
        "users.create",
        "POST",
        "public",
        lambda c, w, t: c.post(
            "/users",
            data=with_csrf(
                {"username": "newbie", "password": "pw-1234567", "confirm": "pw-1234567"}, t
            ),
        ),
    ),
    Case(
        "reading_list.add",
        "POST",
        "public",
        lambda c, w, t: c.post("/reading-list", data=with_csrf({"book_id": str(w.book_id)}, t)),
    ),
    Case(
        "reading_list.clear",
        "DELETE",
        "public",
        lambda c, w, t: c.post("/reading-list", data=with_csrf({"_method": "DELETE"}, t)),
    ),
    Case(
        "reading_list.remove",
        "DELETE",
        "public",
        lambda c, w, t: c.delete(f"/reading-list/{w.book_id}", headers=csrf_header(t)),
    ),
]

# The account pages act on the signed-in user's own account: "login" is the whole rule.
NEW_PASSWORD = {"current": "correct horse battery", "password": "a new long passphrase"}
HTML_CASES += [
    Case(
        "auth.change_password",
        "POST",
        "login",
        lambda c, w, t: c.post(
            "/account/password",
            data=with_csrf({**NEW_PASSWORD, "confirm": NEW_PASSWORD["password"]}, t),
        ),
    ),
    Case(
        "auth.end_other_devices",
        "POST",
        "login",
        lambda c, w, t: c.post("/account/sessions/others", data=with_csrf({}, t)),
    ),
    Case(
        "auth.end_device_session",
        "DELETE",
        "login",
        lambda c, w, t: c.post("/account/sessions/1", data=with_csrf({"_method": "DELETE"}, t)),
    ),
]


def follow_reset_link(client: FlaskClient, world: World) -> None:
    """Put a live reset link for the owner into this browser's session, as the mail would."""
    from bookshelf.auth.links import RESET, issue_link

    with client.application.app_context():
        token = issue_link(db.session.get(User, world.owner), RESET)
    client.get(f"/account/reset/{token}")


def reset_password(client: FlaskClient, world: World, token: str | None) -> TestResponse:
    follow_reset_link(client, world)
    password = NEW_PASSWORD["password"]
    return client.post(
        "/account/reset/new", data=with_csrf({"password": password, "confirm": password}, token)
    )


HTML_CASES += [
    Case(
        "auth.request_reset",
        "POST",
        "public",
        lambda c, w, t: c.post("/account/reset", data=with_csrf({"email": "a@example.org"}, t)),
    ),
    Case("auth.reset_password", "POST", "public", reset_password),
    Case(
        "auth.change_email",
        "POST",
        "login",
        lambda c, w, t: c.post(
            "/account/email",
            data=with_csrf({"email": "a@example.org", "current": NEW_PASSWORD["current"]}, t),
        ),
    ),
]

HTML_CASES += [
    Case(
        "auth.delete_account",
        "POST",
        "login",
        lambda c, w, t: c.post(
            "/account/delete", data=with_csrf({"current": NEW_PASSWORD["current"]}, t)
        ),
    ),
]

# A reader's own shelves and ratings: any signed-in reader, for themselves only.
SHELF = {"shelf": "read", "started_on": "2026-01-02", "finished_on": "", "tags": "Fun"}
HTML_CASES += [
    Case(
        "shelves.shelve",
        "POST",
        "login",
        lambda c, w, t: c.post(f"/books/{w.book_id}/shelf", data=with_csrf(SHELF, t)),
    ),
    Case(
        "shelves.rate",
        "POST",
        "login",
        lambda c, w, t: c.post(
            f"/books/{w.book_id}/rating", data=with_csrf({"stars": "4", "review": "Good"}, t)
        ),
    ),
    Case(
        "shelves.unrate",
        "DELETE",
        "login",
        lambda c, w, t: c.post(
            f"/books/{w.book_id}/rating", data=with_csrf({"_method": "DELETE"}, t)
        ),
    ),
]

# Importing a Goodreads export into one's own shelves: preview, run (which changes rows), cancel.
GOODREADS_SAMPLE = Path(__file__).parents[1] / "bookshelf/data/goodreads_library_export.csv"


def kept_upload(client: FlaskClient, world: World) -> str:
    """A previewed file kept for the owner, as the preview page leaves it."""
    from bookshelf.goodreads import uploads

    with client.application.app_context():
        return uploads.keep(world.owner, GOODREADS_SAMPLE.read_bytes())


def run_goodreads_import(client: FlaskClient, world: World, token: str | None) -> TestResponse:
    data = with_csrf({"upload": kept_upload(client, world)}, token)
    response = client.post("/my-books/import/run", data=data)
    response.get_data()  # the import runs while the page is sent
    return response


HTML_CASES += [
    Case(
        "goodreads.preview",
        "POST",
        "login",
        lambda c, w, t: c.post(
            "/my-books/import",
            data=with_csrf({"file": (GOODREADS_SAMPLE.open("rb"), "library.csv")}, t),
            content_type="multipart/form-data",
        ),
    ),
    Case("goodreads.run", "POST", "login", run_goodreads_import),
    Case(
        "goodreads.cancel",
        "POST",
        "login",
        lambda c, w, t: c.post(
            "/my-books/import/cancel", data=with_csrf({"upload": kept_upload(c, w)}, t)
        ),
    ),
]

# API cases: `send(client, world, headers)`.
ApiSend = Callable[[FlaskClient, World, dict[str, str]], TestResponse]
API_BOOK = {"title": "New", "author": "Someone", "pages_num": 5}


def png_cover() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (60, 90), "teal").save(out, "PNG")
    return out.getvalue()


def put_cover(c: FlaskClient, w: World, h: dict[str, str]) -> TestResponse:
    headers = {**h, "Content-Type": "image/png"}
    return c.put(f"/api/v1/books/{w.book_id}/cover", data=png_cover(), headers=headers)


API_CASES: dict[str, tuple[str, str, ApiSend]] = {
    "POST /api/v1/books": (
        "api.books",
        "POST",
        lambda c, w, h: c.post("/api/v1/books", json=API_BOOK, headers=h),
    ),
    "PUT /api/v1/books/<id>": (
        "api.book",
        "PUT",
        lambda c, w, h: c.put(f"/api/v1/books/{w.book_id}", json=API_BOOK, headers=h),
    ),
    "PATCH /api/v1/books/<id>": (
        "api.book",
        "PATCH",
        lambda c, w, h: c.patch(f"/api/v1/books/{w.book_id}", json={"title": "X"}, headers=h),
    ),
    "DELETE /api/v1/books/<id>": (
        "api.book",
        "DELETE",
        lambda c, w, h: c.delete(f"/api/v1/books/{w.book_id}", headers=h),
    ),
    "PUT /api/v1/books/<id>/cover": ("api.book_cover", "PUT", put_cover),
    "DELETE /api/v1/books/<id>/cover": (
        "api.book_cover",
        "DELETE",
        lambda c, w, h: c.delete(f"/api/v1/books/{w.book_id}/cover", headers=h),
    ),
    "PUT /api/v1/me/shelves/books/<id>": (
        "api.my_shelf_entry",
        "PUT",
        lambda c, w, h: c.put(
            f"/api/v1/me/shelves/books/{w.book_id}", json={"shelf": "want"}, headers=h
        ),
    ),
    "DELETE /api/v1/me/shelves/books/<id>": (
        "api.my_shelf_entry",
        "DELETE",
        lambda c, w, h: c.delete(f"/api/v1/me/shelves/books/{w.book_id}", headers=h),
    ),
}
# Acting on the caller's own shelves: another reader's token changes only that reader's.
OWN_DATA = {"PUT /api/v1/me/shelves/books/<id>", "DELETE /api/v1/me/shelves/books/<id>"}


@pytest.fixture
def database_uri(tmp_path: Path) -> str:
    """SQLite only: who may do what does not depend on the database (and it is 2x faster)."""
    return f"sqlite:///{tmp_path / 'matrix.sqlite3'}"


@pytest.fixture
def world(app: Flask) -> World:
    return build_world(app)


def signed_in(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    sign_in(client, username)
    return client


def sets_cookie(response: TestResponse, *names: str) -> bool:
    return any(h.split("=", 1)[0] in names for h in response.headers.getlist("Set-Cookie"))


def assert_nothing_changed(app: Flask, before: dict[str, object], response: TestResponse) -> None:
    assert snapshot(app) == before
    assert not sets_cookie(response, "reading_list", "lang", "remember_token")


def test_every_mutating_route_is_in_the_matrix(app: Flask) -> None:
    routes = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        for method in (rule.methods or set()) & MUTATING
    }
    covered = {(c.endpoint, c.method) for c in HTML_CASES}
    covered |= {(endpoint, method) for endpoint, method, _ in API_CASES.values()}
    assert routes == covered


@pytest.mark.parametrize("case", [c for c in HTML_CASES if c.kind != "public"], ids=lambda c: c.id)
def test_anonymous_is_sent_to_sign_in(app: Flask, world: World, case: Case) -> None:
    client = app.test_client()
    token = csrf_token(client, "/login")
    before = snapshot(app)
    response = case.send(client, world, token)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    assert_nothing_changed(app, before, response)


@pytest.mark.parametrize("case", [c for c in HTML_CASES if c.kind == "owned"], ids=lambda c: c.id)
def test_another_user_is_forbidden(app: Flask, world: World, case: Case) -> None:
    client = signed_in(app, "stranger")
    token = csrf_token(client)
    before = snapshot(app)
    response = case.send(client, world, token)
    assert response.status_code == 403
    assert_nothing_changed(app, before, response)


@pytest.mark.parametrize("bad_token", ["missing", "forged", "another session's"])
@pytest.mark.parametrize("case", HTML_CASES, ids=lambda c: c.id)
def test_bad_csrf_token_is_refused(app: Flask, world: World, case: Case, bad_token: str) -> None:
    client = signed_in(app, "owner") if case.kind != "public" else app.test_client()
    client.get("/")  # a session exists, with its own CSRF secret
    token = {
        "missing": None,
        "forged": "IjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAi.Zx.forged",
        "another session's": csrf_token(app.test_client()),
    }[bad_token]
    before = snapshot(app)
    response = case.send(client, world, token)
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert "did not come from this site" in response.get_data(as_text=True)
    assert_nothing_changed(app, before, response)
    if case.kind == "public":  # a refused sign-in or sign-up signs nobody in
        assert client.get("/books/new").status_code == 302


@pytest.mark.parametrize("case", HTML_CASES, ids=lambda c: c.id)
def test_the_owner_with_a_valid_token_succeeds(app: Flask, case: Case) -> None:
    world = build_world(app)
    client = signed_in(app, "owner") if case.kind != "public" else app.test_client()
    if case.endpoint == "reading_list.remove":
        client.post(
            "/reading-list", data={"book_id": world.book_id, "csrf_token": csrf_token(client)}
        )
    if case.endpoint == "shelves.unrate":
        client.post(
            f"/books/{world.book_id}/rating",
            data={"stars": "5", "csrf_token": csrf_token(client)},
        )
    before = snapshot(app)
    response = case.send(client, world, csrf_token(client))
    assert response.status_code in {200, 201, 302, 303}, response.get_data(as_text=True)[:300]
    changes_rows = case.endpoint.startswith(("books.", "users.", "shelves.")) or (
        case.endpoint in {"auth.delete_account", "goodreads.run"}
    )
    assert (snapshot(app) != before) == changes_rows
    if case.endpoint.startswith(("reading_list.", "i18n.")):
        assert sets_cookie(response, "reading_list", "lang")


CREDENTIALS = ["none", "other user's token", "revoked token", "malformed header", "session"]


@pytest.mark.parametrize(
    ("operation", "credential"),
    [
        (operation, credential)
        for operation in API_CASES
        for credential in CREDENTIALS
        # Anyone may add a book: there is no "other user's" collection to protect.
        if not (
            (operation.startswith("POST") or operation in OWN_DATA)
            and credential == "other user's token"
        )
    ],
)
def test_api_refuses_bad_credentials(
    app: Flask, world: World, operation: str, credential: str
) -> None:
    _endpoint, _method, send = API_CASES[operation]
    client = app.test_client()
    headers = {
        "none": {},
        "other user's token": bearer(world.stranger_token),
        "revoked token": bearer(world.revoked_token),
        "malformed header": {"Authorization": f"Token {world.owner_token}"},
        "session": {},  # the owner's browser session, without X-CSRFToken
    }[credential]
    if credential == "session":
        sign_in(client, "owner")
    before = snapshot(app)
    response = send(client, world, headers)
    expected = {
        "none": 401,
        "other user's token": 403,
        "revoked token": 401,
        "malformed header": 401,
        "session": 400,
    }[credential]
    assert response.status_code == expected, response.get_json()
    assert response.mimetype == "application/problem+json"
    if expected == 401:
        assert response.headers["WWW-Authenticate"].lower().startswith("bearer")
    assert snapshot(app) == before


@pytest.mark.parametrize("operation", API_CASES)
def test_api_owner_token_succeeds(app: Flask, world: World, operation: str) -> None:
    _endpoint, _method, send = API_CASES[operation]
    if operation == "DELETE /api/v1/books/<id>/cover":
        put_cover(app.test_client(), world, bearer(world.owner_token))
    if operation == "DELETE /api/v1/me/shelves/books/<id>":
        app.test_client().put(
            f"/api/v1/me/shelves/books/{world.book_id}",
            json={"shelf": "want"},
            headers=bearer(world.owner_token),
        )
    before = snapshot(app)
    response = send(app.test_client(), world, bearer(world.owner_token))
    assert response.status_code in {200, 201, 204}, response.get_json()
    assert snapshot(app) != before
