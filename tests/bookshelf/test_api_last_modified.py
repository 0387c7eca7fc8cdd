"""Last-Modified on books: the header, its two request conditions, and the column behind it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import downgrade, upgrade
from sqlalchemy import text, update
from werkzeug.http import http_date, parse_date

from bookshelf import create_app
from bookshelf.extensions import db
from bookshelf.models import Book, User
from bookshelf.users.tokens import issue_token
from bookshelf_helpers import add_books, app_config, create_account
from support import require_postgres, sqlalchemy_url, temporary_postgres_database

PROBLEM = "application/problem+json"
NEW_BOOK = {"title": "The Master and Margarita", "author": "Mikhail Bulgakov", "pages_num": 480}
# A past modification time: second resolution, so header comparisons are not racing the clock.
EARLIER = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def owner(app: Flask) -> int:
    return create_account(app, "owner")


@pytest.fixture
def token(app: Flask, owner: int) -> str:
    with app.app_context():
        _record, token = issue_token(db.session.get(User, owner), "tests")
        return token


@pytest.fixture
def path(app: Flask, owner: int) -> str:
    """A book last changed at EARLIER."""
    [book_id] = add_books(app, [{**NEW_BOOK, "added_by_id": owner}])
    with app.app_context():
        db.session.execute(update(Book).where(Book.id == book_id).values(updated_at=EARLIER))
        db.session.commit()
    return f"/api/v1/books/{book_id}"


def pages_num(app: Flask, path: str) -> int | None:
    with app.app_context():
        book = db.session.get(Book, int(path.rsplit("/", 1)[1]))
        return None if book is None else book.pages_num


def test_last_modified_is_stable_across_gets_and_moves_on_patch(
    client: FlaskClient, path: str, token: str
) -> None:
    first, second = client.get(path), client.get(path)
    assert first.headers["Last-Modified"] == http_date(EARLIER)
    assert second.headers["Last-Modified"] == first.headers["Last-Modified"]
    assert first.get_json()["updated_at"] == "2026-01-02T03:04:05+00:00"
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    patched = client.patch(path, json={"review": "Changed."}, headers=bearer(token))
    changed = parse_date(patched.headers["Last-Modified"])
    assert changed is not None and changed >= before
    assert client.get(path).headers["Last-Modified"] == patched.headers["Last-Modified"]
    replaced = client.put(path, json=NEW_BOOK, headers=bearer(token))
    assert parse_date(replaced.headers["Last-Modified"]) >= changed
    updated_at = dt.datetime.fromisoformat(replaced.get_json()["updated_at"])
    assert updated_at.utcoffset() == dt.timedelta(0)
    assert updated_at.replace(microsecond=0) == parse_date(replaced.headers["Last-Modified"])


def test_created_books_carry_last_modified(client: FlaskClient, token: str) -> None:
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    created = client.post("/api/v1/books", json=NEW_BOOK, headers=bearer(token))
    assert created.status_code == 201
    assert before <= parse_date(created.headers["Last-Modified"]) <= dt.datetime.now(dt.UTC)
    fetched = client.get(created.headers["Location"])
    assert fetched.headers["Last-Modified"] == created.headers["Last-Modified"]


def test_if_modified_since_is_304_while_unchanged(
    client: FlaskClient, path: str, token: str
) -> None:
    etag = client.get(path).headers["ETag"]
    for since in (EARLIER, EARLIER + HOUR):
        cached = client.get(path, headers={"If-Modified-Since": http_date(since)})
        assert cached.status_code == 304 and cached.data == b"" and cached.headers["ETag"] == etag
    older = client.get(path, headers={"If-Modified-Since": http_date(EARLIER - HOUR)})
    assert older.status_code == 200 and older.get_json()["title"] == NEW_BOOK["title"]
    # If-None-Match wins: a tag that does not match means 200, whatever the date says.
    both = {"If-None-Match": '"another-version"', "If-Modified-Since": http_date(EARLIER)}
    assert client.get(path, headers=both).status_code == 200
    # A date that is not an HTTP-date is ignored, as if not sent.
    assert client.get(path, headers={"If-Modified-Since": "yesterday"}).status_code == 200
    client.patch(path, json={"review": "Changed."}, headers=bearer(token))
    assert client.get(path, headers={"If-Modified-Since": http_date(EARLIER)}).status_code == 200


def test_if_unmodified_since_older_is_412_and_nothing_changes(
    app: Flask, client: FlaskClient, path: str, token: str
) -> None:
    stale = {**bearer(token), "If-Unmodified-Since": http_date(EARLIER - HOUR)}
    for response in (
        client.patch(path, json={"pages_num": 1}, headers=stale),
        client.put(path, json={**NEW_BOOK, "pages_num": 2}, headers=stale),
        client.delete(path, headers=stale),
    ):
        assert response.status_code == 412 and response.mimetype == PROBLEM
        assert "If-Unmodified-Since" in response.get_json()["detail"]
    assert pages_num(app, path) == 480
    assert client.get(path).headers["Last-Modified"] == http_date(EARLIER)
    # If-Match, when sent, is the condition that counts (it is exact; the date is not).
    etag = client.get(path).headers["ETag"]
    matched = client.patch(path, json={"pages_num": 3}, headers={**stale, "If-Match": etag})
    assert matched.status_code == 200 and pages_num(app, path) == 3
    current = {**bearer(token), "If-Unmodified-Since": matched.headers["Last-Modified"]}
    changed = client.patch(path, json={"pages_num": 4}, headers=current)
    assert changed.status_code == 200
    # The date of the change just made (a later second than `matched` on a slow machine).
    current["If-Unmodified-Since"] = changed.headers["Last-Modified"]
    assert client.delete(path, headers=current).status_code == 204
    assert pages_num(app, path) is None


def test_the_openapi_document_names_the_header_and_the_field(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    book = spec["paths"]["/api/v1/books/{book_id}"]
    for method, status in (("get", "200"), ("put", "200"), ("patch", "200")):
        assert "Last-Modified" in book[method]["responses"][status]["headers"], method
    created = spec["paths"]["/api/v1/books"]["post"]["responses"]["201"]["headers"]
    assert "Last-Modified" in created
    updated_at = spec["components"]["schemas"]["Book"]["properties"]["updated_at"]
    assert updated_at["format"] == "date-time"


# The migration -----------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrate.sqlite3'}"
        return
    require_postgres()
    with temporary_postgres_database("bookshelf_migrate") as url:
        yield sqlalchemy_url(url)


def test_the_migration_backfills_existing_books_from_date_added(empty_database: str) -> None:
    app = create_app(app_config(empty_database))
    with app.app_context():
        upgrade(revision="0006_search")
        db.session.execute(
            text(
                "INSERT INTO books (title, author, pages_num, date_added) "
                "VALUES ('Old', 'Someone', 10, :day)"
            ),
            {"day": dt.date(2020, 5, 17)},
        )
        db.session.commit()
        upgrade()
        book = db.session.scalars(db.select(Book)).one()
        stored = book.updated_at.replace(tzinfo=book.updated_at.tzinfo or dt.UTC)
        assert stored == dt.datetime(2020, 5, 17, tzinfo=dt.UTC)
        # Full-text search still finds the book, and still follows changes to it.
        search = app.test_client()
        assert [b["title"] for b in search.get("/api/v1/books?q=old").json["items"]] == ["Old"]
        book.title = "Renamed"
        db.session.commit()
        assert book.last_modified > dt.datetime(2020, 5, 17, tzinfo=dt.UTC)
        assert search.get("/api/v1/books?q=old").json["items"] == []
        assert len(search.get("/api/v1/books?q=renamed").json["items"]) == 1
        db.session.remove()
        downgrade(revision="0006_search")
        db.session.remove()
        db.engine.dispose()
