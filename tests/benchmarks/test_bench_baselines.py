"""The hand-written baselines of bench/baselines/raw_listing.py against a real PostgreSQL
catalogue: they answer, and show what the app's pages show, so that the ratios compare like
with like."""

from __future__ import annotations

import html
from collections.abc import Iterator
from types import ModuleType

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bookshelf_fixtures import ON_POSTGRES
from bookshelf_helpers import add_books, create_account, make_rows

pytestmark = ON_POSTGRES


@pytest.fixture
def raw(app: Flask, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The baselines' module reading the `app` fixture's database, with a pool of its own."""
    from bench.baselines import raw_listing

    monkeypatch.setenv("BENCH_RAW_DATABASE_URL", postgres_url)
    monkeypatch.setattr(raw_listing, "_pool", None)
    yield raw_listing
    if raw_listing._pool is not None:
        raw_listing._pool.close()


@pytest.fixture
def catalogue(app: Flask) -> list[int]:
    """25 books: plain ones, and the newest with every optional fact and who added them."""
    reader = create_account(app, "ada")
    ids = add_books(app, make_rows(22))
    ids += add_books(
        app,
        make_rows(3, isbn="9780306406157", year=1999, review="A fine read.", added_by_id=reader),
    )
    return ids


def test_the_book_page_baseline_shows_the_facts_the_app_shows(
    raw: ModuleType, client: FlaskClient, catalogue: list[int]
) -> None:
    book_id = catalogue[-1]
    page = raw.app.test_client().get(f"/raw/books/{book_id}")
    app_page = client.get(f"/books/{book_id}")

    assert page.status_code == app_page.status_code == 200
    text = html.unescape(page.get_data(as_text=True))
    app_text = html.unescape(app_page.get_data(as_text=True))
    for shown in ("Book 003", "Author 3", "/authors/author%203", "103", "1999"):
        assert shown in text and shown in app_text
    for shown in ("9780306406157", ">ada</a>", "A fine read.", "No ratings yet", "No cover"):
        assert shown in text
    assert f'name="book_id" value="{book_id}"' in text


def test_a_missing_book_is_404_in_the_baseline_as_in_the_app(
    raw: ModuleType, client: FlaskClient, catalogue: list[int]
) -> None:
    missing = max(catalogue) + 1000
    assert raw.app.test_client().get(f"/raw/books/{missing}").status_code == 404
    assert client.get(f"/books/{missing}").status_code == 404


def test_the_api_baseline_writes_the_apps_first_page(
    raw: ModuleType, client: FlaskClient, catalogue: list[int]
) -> None:
    response = raw.app.test_client().get("/raw/api/v1/books")
    app_response = client.get("/api/v1/books")

    assert response.status_code == app_response.status_code == 200
    assert response.mimetype == "application/json"
    body, app_body = response.get_json(), app_response.get_json()
    # The same items, field for field, and the same envelope; only the links' URLs differ.
    assert body["items"] == app_body["items"]
    assert [item["id"] for item in body["items"]] == sorted(catalogue, reverse=True)[:20]
    first_page = {"total": 25, "total_exact": True, "page": 1, "per_page": 20}
    assert body["meta"] == app_body["meta"] == first_page
    assert body["links"].keys() == app_body["links"].keys()
    assert body["links"]["prev"] is None and body["links"]["next"].endswith(
        f"after={body['items'][-1]['id']}"
    )
    assert 'rel="next"' in response.headers["Link"]
    # Roughly the same bytes: signed cursors make the app's links a little longer.
    assert 0.9 < len(response.data) / len(app_response.data) <= 1.0
