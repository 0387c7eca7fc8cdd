"""The security headers: on every response, the view's own value kept, HSTS only over HTTPS
in production. test_reading_list.py checks their values on the main pages."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask, Response
from flask.testing import FlaskClient

from bookshelf import create_app
from bookshelf.security import HSTS, SECURITY_HEADERS
from bookshelf_helpers import app_config


def test_a_view_that_sets_a_header_keeps_its_value(app: Flask, client: FlaskClient) -> None:
    @app.get("/own-headers")
    def own_headers() -> Response:
        response = Response("framed")
        response.headers["x-frame-options"] = "SAMEORIGIN"  # any case: header names are not
        response.headers["Content-Security-Policy"] = "default-src 'none'"
        return response

    headers = client.get("/own-headers").headers
    assert headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
    assert headers.getlist("Content-Security-Policy") == ["default-src 'none'"]
    for name, value in SECURITY_HEADERS:
        if name not in {"X-Frame-Options", "Content-Security-Policy"}:
            assert headers.getlist(name) == [value], name


def test_every_header_once_on_a_page(client: FlaskClient) -> None:
    headers = client.get("/books").headers
    for name, value in SECURITY_HEADERS:
        assert headers.getlist(name) == [value], name
    assert "Strict-Transport-Security" not in headers  # a test app is not production


def test_hsts_only_in_production_over_https(
    database_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOOKSHELF_INSTANCE_PATH", str(tmp_path))
    production = create_app(app_config(database_uri, TESTING=False)).test_client()
    secure = production.get("/healthz", base_url="https://localhost").headers
    assert secure.getlist(HSTS[0]) == [HSTS[1]]
    assert secure["X-Frame-Options"] == "DENY"
    plain = production.get("/healthz", base_url="http://localhost").headers
    assert HSTS[0] not in plain and plain["X-Frame-Options"] == "DENY"
    testing = create_app(app_config(database_uri)).test_client()
    assert HSTS[0] not in testing.get("/healthz", base_url="https://localhost").headers
