"""While the database is down every page is a 503 (site layout, no traceback), in
process and without restarting anything: the app points at a port where nothing listens.

`make soak` does the real thing (PostgreSQL stopped and started under load).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bookshelf import create_app
from bookshelf.books.queries import SORT_ORDERS
from bookshelf_helpers import app_config
from support import free_port

PAGES = ["/", "/books", "/books/1", "/search?term=war", "/users", "/users/1"]


@pytest.fixture
def down_app() -> Iterator[Flask]:
    # Nothing listens on this port: every connection attempt is refused at once.
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/bookshelf"
    app = create_app(
        app_config(url, SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True, "pool_timeout": 1})
    )
    # As in production: errors are handled by the app's pages, not re-raised to the test.
    app.testing = False
    yield app


def signed_in_client(app: Flask) -> FlaskClient:
    """A browser holding a valid session cookie from before the outage."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "1"
        session["_fresh"] = True
    return client


def assert_unavailable_page(response) -> None:
    html = response.get_data(as_text=True)
    assert response.status_code == 503, html[:300]
    assert "Traceback" not in html
    assert 'class="site-header"' in html or "<nav" in html  # the site's own page, not a bare one
    assert "The database is not answering right now" in html


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_pages_are_503(down_app: Flask, path: str) -> None:
    assert_unavailable_page(down_app.test_client().get(path))


def test_api_and_health_are_503_problems(down_app: Flask) -> None:
    client = down_app.test_client()
    health = client.get("/healthz")
    assert health.status_code == 503 and health.get_json()["database"] == "unavailable"
    listing = client.get("/api/v1/books", query_string={"sort": next(iter(SORT_ORDERS))})
    assert listing.status_code == 503 and listing.mimetype == "application/problem+json"
    token = {"Authorization": "Bearer bks_" + "x" * 43}
    write = client.post("/api/v1/books", json={"title": "T"}, headers=token)
    assert write.status_code == 503 and write.mimetype == "application/problem+json"


@pytest.mark.parametrize("path", ["/", "/books", "/books/new"])
def test_signed_in_pages_are_503(down_app: Flask, path: str) -> None:
    assert_unavailable_page(signed_in_client(down_app).get(path))
