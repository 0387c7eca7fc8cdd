"""The templates' remembered url_for gives exactly what Flask's gives, mounted or not."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, url_for

from bookshelf.urls import template_url_for

CALLS: list[tuple[str, dict[str, Any]]] = [
    ("books.index", {}),
    ("books.index", {"sort": "title", "per_page": 50, "after": 12345, "page": 3}),
    ("books.show", {"book_id": 7}),
    ("static", {"filename": "css/app.css"}),
    ("authors.show", {"name": "лев толстой"}),
    ("authors.index", {"letter": "Т"}),
    ("search.search", {"term": "war & peace", "page": 2}),
    ("auth.login", {"next": "/books/7?x=1"}),
    ("books.index", {"sort": "title", "_anchor": "list"}),  # not remembered: an option
    ("books.show", {"book_id": 7, "_external": True}),  # not remembered: depends on the host
    ("books.index", {"flag": True}),  # not remembered: not a plain string or integer
]


@pytest.mark.parametrize("script_root", ["", "/shelf"])
def test_same_links_as_flask(app: Flask, script_root: str) -> None:
    for _ in range(2):  # the second round comes from the cache
        with app.test_request_context("/books", base_url=f"http://example.org{script_root}/"):
            for endpoint, values in CALLS:
                assert template_url_for(endpoint, **values) == url_for(endpoint, **values)
            assert template_url_for("books.index").startswith(f"{script_root}/books")


def test_a_mounted_app_and_a_plain_one_do_not_share_links(app: Flask) -> None:
    with app.test_request_context("/", base_url="http://example.org/"):
        plain = template_url_for("books.index")
    with app.test_request_context("/", base_url="http://example.org/shelf/"):
        mounted = template_url_for("books.index")
    assert (plain, mounted) == ("/books", "/shelf/books")


def test_pages_use_it(app: Flask) -> None:
    assert app.jinja_env.globals["url_for"] is template_url_for
    html = app.test_client().get("/books", base_url="http://example.org/shelf/").get_data(True)
    assert 'href="/shelf/books/new"' in html
