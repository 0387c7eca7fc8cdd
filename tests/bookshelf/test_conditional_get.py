"""Conditional GET of a visitor's catalogue pages, keyed by the catalogue version: 304 without
running the view, a new tag after any write (on any app instance), and never a shared-cacheable
answer for a signed-in reader or a request that carries a cookie. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool
from test_api import bearer, token_for

from bookshelf import create_app, http_cache
from bookshelf.extensions import db
from bookshelf_helpers import add_books, app_config, create_account, csrf_token, make_rows, sign_in

PAGES = [
    "/",
    "/books",
    "/books?after={book_id}",
    "/books/{book_id}",
    "/search?term=book",
    "/authors",
    "/authors?letter=A",
    "/authors/author 1",
    "/api/v1/books",
    "/api/v1/books?q=book",
]
PUBLIC = "public, max-age=0, s-maxage=10"


@dataclass
class DatabaseUse:
    checkouts: int = 0  # connections taken from any pool (the app's, the version's)
    statements: list[str] = field(default_factory=list)  # sent through SQLAlchemy


@contextmanager
def database_use() -> Iterator[DatabaseUse]:
    """What the app asks of the database while the block runs, on any engine."""
    use = DatabaseUse()

    def checkout(*_args: object) -> None:
        use.checkouts += 1

    def statement(_conn, _cursor, sql, _params, _context, _many) -> None:
        use.statements.append(sql)

    event.listen(Pool, "checkout", checkout)
    event.listen(Engine, "before_cursor_execute", statement)
    try:
        yield use
    finally:
        event.remove(Pool, "checkout", checkout)
        event.remove(Engine, "before_cursor_execute", statement)


def version(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(text("SELECT version FROM catalogue_count WHERE id = 1"))


@pytest.mark.parametrize("path", PAGES)
def test_a_visitor_revalidates_with_304_and_no_catalogue_query(
    app: Flask, client: FlaskClient, path: str
) -> None:
    [book_id, *_rest] = add_books(app, make_rows(3))
    path = path.format(book_id=book_id)
    first = client.get(path)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert etag.startswith(f'W/"{version(app)}-')
    assert first.headers["Cache-Control"] == PUBLIC
    assert {"Cookie", "Accept-Language"} <= set(first.vary)
    with database_use() as use:
        again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    assert again.headers["ETag"] == etag and again.headers["Cache-Control"] == PUBLIC
    # One connection, for the version (read on the driver's cursor); the view would take a
    # second one and send its queries through SQLAlchemy.
    assert (use.checkouts, use.statements) == (1, [])


def test_the_same_listeners_see_a_views_work(app: Flask, client: FlaskClient) -> None:
    add_books(app, make_rows(3))
    with database_use() as use:
        assert client.get("/search?term=book").status_code == 200
    assert use.checkouts == 2  # the version first, on its own, then the view
    assert any("FROM books" in sql for sql in use.statements)


def test_the_list_and_the_book_page_read_the_version_with_their_rows(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    [book_id, *_rest] = add_books(app, make_rows(3))
    separate_reads: list[Engine] = []
    read_version = http_cache.catalogue_version

    def counted(engine: Engine) -> int | None:
        separate_reads.append(engine)
        return read_version(engine)

    monkeypatch.setattr(http_cache, "catalogue_version", counted)
    for path in ("/books", "/books?last=1", f"/books?after={book_id}", f"/books/{book_id}"):
        with database_use() as use:
            page = client.get(path)
        assert page.status_code == 200
        assert page.headers["ETag"].startswith(f'W/"{version(app)}-'), path
        # No read of the version before the view: the tag's version came with the page's rows.
        assert separate_reads == [], path
        assert any("FROM books" in sql and "catalogue_count" in sql for sql in use.statements)
    client.get("/search?term=book")  # a view that does not read it itself: the middleware does
    assert len(separate_reads) == 1


def test_the_tag_follows_the_language_the_address_and_the_release(
    app: Flask, client: FlaskClient, database_uri: str
) -> None:
    ids = add_books(app, make_rows(3))
    tags = {
        client.get("/books").headers["ETag"],
        client.get("/books", headers={"Accept-Language": "ru"}).headers["ETag"],
        client.get(f"/books?after={ids[0]}").headers["ETag"],
        client.get("/search?term=book").headers["ETag"],
        client.get("/search?term=other").headers["ETag"],
    }
    deployed = create_app(app_config(database_uri, BOOKSHELF_VERSION="9.9.9"))
    tags.add(deployed.test_client().get("/books").headers["ETag"])
    assert len(tags) == 6
    russian = client.get("/books", headers={"Accept-Language": "ru"})
    english_tag = client.get("/books").headers["ETag"]
    refetched = client.get(
        "/books", headers={"Accept-Language": "ru", "If-None-Match": english_tag}
    )
    assert refetched.status_code == 200 and refetched.headers["ETag"] == russian.headers["ETag"]


def add_through_the_form(app: Flask, client: FlaskClient) -> None:
    sign_in(client, "anna")
    data = {"title": "New arrival", "author": "A", "pages_num": "9"}
    response = client.post("/books", data={**data, "csrf_token": csrf_token(client)})
    assert response.status_code == 302


def rate_with_a_review(app: Flask, client: FlaskClient, book_id: int) -> None:
    sign_in(client, "anna")
    data = {"stars": "4", "review": "Fine.", "csrf_token": csrf_token(client)}
    assert client.post(f"/books/{book_id}/rating", data=data).status_code == 303


def test_every_write_changes_the_tag(app: Flask, client: FlaskClient) -> None:
    anna = create_account(app, "anna")
    [book_id] = add_books(app, make_rows(1, added_by_id=anna))
    writer = app.test_client()
    token = token_for(app, anna)

    def patch_through_the_api() -> None:
        changed = writer.patch(
            f"/api/v1/books/{book_id}", json={"title": "Renamed"}, headers=bearer(token)
        )
        assert changed.status_code == 200

    writes = [
        lambda: add_through_the_form(app, writer),
        lambda: rate_with_a_review(app, writer, book_id),
        patch_through_the_api,
    ]
    for write in writes:
        paths = ["/books", f"/books/{book_id}", "/api/v1/books"]
        tags = {path: client.get(path).headers["ETag"] for path in paths}
        write()
        for path, tag in tags.items():
            fresh = client.get(path, headers={"If-None-Match": tag})
            assert fresh.status_code == 200, (write, path)
            assert fresh.headers["ETag"] != tag
    book_page = client.get(f"/books/{book_id}").get_data(as_text=True)
    assert "Renamed" in book_page and "Fine." in book_page


def test_a_write_on_one_instance_is_seen_by_the_next_request_to_another(
    app: Flask, client: FlaskClient, database_uri: str
) -> None:
    add_books(app, make_rows(2))
    create_account(app, "anna")
    other = create_app(app_config(database_uri))
    seen = client.get("/books")
    add_through_the_form(other, other.test_client())
    fresh = client.get("/books", headers={"If-None-Match": seen.headers["ETag"]})
    assert fresh.status_code == 200 and "New arrival" in fresh.get_data(as_text=True)
    with other.app_context():
        for engine in db.engines.values():
            engine.dispose()


@pytest.mark.parametrize("path", ["/", "/books", "/books/{book_id}", "/search?term=book"])
def test_a_signed_in_reader_never_gets_a_shared_or_tagged_page(
    app: Flask, client: FlaskClient, path: str
) -> None:
    [book_id] = add_books(app, make_rows(1))
    create_account(app, "anna")
    sign_in(client, "anna")
    response = client.get(path.format(book_id=book_id))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-cache"
    assert "ETag" not in response.headers
    profile = client.get("/users/1")
    assert profile.headers["Cache-Control"] in {"private, no-cache", "no-store"}


@pytest.mark.parametrize(
    "cookie", [("lang", "ru"), ("reading_list", "x"), ("tracking", "1"), ("session", "x")]
)
def test_a_request_with_a_cookie_never_gets_a_public_answer(
    app: Flask, client: FlaskClient, cookie: tuple[str, str]
) -> None:
    add_books(app, make_rows(1))
    client.set_cookie(*cookie)
    for path in ["/books", "/books/1", "/api/v1/books"]:
        response = client.get(path)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "private, no-cache"
        if cookie[0] == "session":  # a session may hold a message for this visitor: no tag
            assert "ETag" not in response.headers
        else:
            tag = response.headers["ETag"]
            again = client.get(path, headers={"If-None-Match": tag})
            assert again.status_code == 304
            assert again.headers["Cache-Control"] == "private, no-cache"


def test_a_response_that_sets_a_cookie_is_neither_tagged_nor_shared(
    app: Flask, client: FlaskClient
) -> None:
    add_books(app, make_rows(1))
    remembered = client.get("/books?sort=title")  # remembers the sort order in a cookie
    assert remembered.headers.getlist("Set-Cookie")
    assert "ETag" not in remembered.headers
    assert remembered.headers["Cache-Control"] == "private, no-cache"
