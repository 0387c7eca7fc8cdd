"""The factory, configuration, health endpoint, error pages, WSGI compliance and CLI."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from wsgiref.validate import validator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import Client

from bookshelf import create_app
from bookshelf.config import ConfigError
from bookshelf.extensions import db
from bookshelf.middleware import MethodOverrideMiddleware
from bookshelf.models import Book
from bookshelf_helpers import TEST_SECRET, add_books, app_config, make_rows


def book_count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Book))


def test_healthz_reports_version_commit_and_database(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["version"] == "0.1.0"
    assert "commit" in body


def test_healthz_is_503_when_the_database_is_unreachable(tmp_path: Path) -> None:
    app = create_app(app_config(f"sqlite:///{tmp_path / 'missing-dir' / 'db.sqlite3'}"))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unavailable"


def test_database_outage_gives_a_503_page_not_a_traceback(tmp_path: Path) -> None:
    app = create_app(app_config(f"sqlite:///{tmp_path / 'missing-dir' / 'db.sqlite3'}"))
    response = app.test_client().get("/books")
    assert response.status_code == 503
    assert "The database is not answering right now" in response.get_data(as_text=True)


def test_commit_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, client: FlaskClient
) -> None:
    from bookshelf import revision

    revision.current_commit.cache_clear()
    monkeypatch.setenv("BOOKSHELF_COMMIT", "a" * 40)
    try:
        assert client.get("/healthz").get_json()["commit"] == "a" * 40
    finally:
        revision.current_commit.cache_clear()


@pytest.mark.parametrize("secret", [None, "", "BAD_SECRET_KEY", "short"])
def test_production_refuses_to_start_without_a_real_secret_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, secret: str | None
) -> None:
    monkeypatch.setenv("BOOKSHELF_ENV", "production")
    monkeypatch.setenv("BOOKSHELF_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    if secret is None:
        monkeypatch.delenv("SECRET_KEY", raising=False)
    else:
        monkeypatch.setenv("SECRET_KEY", secret)
    with pytest.raises(ConfigError):
        create_app()


def test_production_config_is_strict(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BOOKSHELF_ENV", "production")
    monkeypatch.setenv("BOOKSHELF_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("DATABASE_URL", "postgres://user@db.example/books")
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://user@db.example/books"


def test_development_generates_and_keeps_a_secret(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BOOKSHELF_ENV", "development")
    monkeypatch.setenv("BOOKSHELF_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    first = create_app()
    second = create_app()
    assert len(first.config["SECRET_KEY"]) >= 32
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert first.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'bookshelf.sqlite3'}"


def test_the_app_is_a_valid_wsgi_application(app: Flask) -> None:
    add_books(app, make_rows(3))
    checked = Client(validator(app))
    for path in ["/", "/books", "/books/1", "/search?term=book", "/healthz", "/books/999"]:
        response = checked.get(path)
        assert response.status_code in {200, 404}
        response.close()


def test_error_pages_keep_the_layout(client: FlaskClient) -> None:
    response = client.delete("/books")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}
    assert 'class="site-header"' in response.get_data(as_text=True)


def test_oversized_body_is_413(app: Flask, client: FlaskClient) -> None:
    response = client.post("/books", data={"title": "x" * (2 * 1024 * 1024)})
    assert response.status_code == 413
    assert "405 ·" not in response.get_data(as_text=True)


def test_server_error_page_rolls_back(app: Flask) -> None:
    @app.get("/boom")
    def boom() -> str:
        db.session.add(Book(title="half", author="written", pages_num=1))
        db.session.flush()
        raise RuntimeError("boom")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert "An unexpected error happened" in response.get_data(as_text=True)
    assert book_count(app) == 0


def run_middleware(body: bytes, content_type: str) -> tuple[str, bytes]:
    seen: dict[str, object] = {}

    def inner(environ: dict, start_response) -> list[bytes]:
        seen["method"] = environ["REQUEST_METHOD"]
        seen["body"] = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b""]

    environ = {
        "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    MethodOverrideMiddleware(inner)(environ, lambda *args: None)
    return seen["method"], seen["body"]  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("body", "content_type", "method"),
    [
        (b"_method=delete&a=1", "application/x-www-form-urlencoded", "DELETE"),
        (b"a=1&_method=PATCH", "application/x-www-form-urlencoded; charset=utf-8", "PATCH"),
        (b"_method=PUT", "application/x-www-form-urlencoded", "PUT"),
        (b"_method=GET", "application/x-www-form-urlencoded", "POST"),
        (b"_method=CONNECT", "application/x-www-form-urlencoded", "POST"),
        (b'{"_method": "DELETE"}', "application/json", "POST"),
        (b"a=1", "application/x-www-form-urlencoded", "POST"),
    ],
)
def test_method_override_middleware(body: bytes, content_type: str, method: str) -> None:
    seen_method, seen_body = run_middleware(body, content_type)
    assert seen_method == method
    assert seen_body == body  # the form is still there for Flask to parse


def test_init_db_refuses_to_destroy_data_without_yes(app: Flask) -> None:
    add_books(app, make_rows(3))
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["init-db"])
    assert refused.exit_code != 0
    assert "--yes" in refused.output
    assert book_count(app) == 3
    done = runner.invoke(args=["init-db", "--yes"])
    assert done.exit_code == 0, done.output
    with app.app_context():
        titles = db.session.scalars(select(Book.title).order_by(Book.id)).all()
        classic = db.session.scalars(select(Book).order_by(Book.id)).first()
    assert titles == ["A Tale of Two Cities", "Anna Karenina"]
    assert (classic.author, classic.pages_num, classic.review) == (
        "Charles Dickens",
        489,
        "A great classic!",
    )


def test_seed_classics_only_seeds_an_empty_catalogue(app: Flask) -> None:
    runner = app.test_cli_runner()
    assert "Seeded 2" in runner.invoke(args=["seed-classics"]).output
    assert "nothing to seed" in runner.invoke(args=["seed-classics"]).output
    assert book_count(app) == 2


def test_seed_inserts_synthetic_books_searchably(app: Flask, client: FlaskClient) -> None:
    result = app.test_cli_runner().invoke(args=["seed", "--count", "250", "--batch-size", "100"])
    assert result.exit_code == 0, result.output
    assert book_count(app) == 250
    assert "rows/s" in result.output
    assert "match" in client.get("/search?term=river").get_data(as_text=True)


def test_flask_routes_lists_the_crud_table(tmp_path: Path) -> None:
    env = {**os.environ, "BOOKSHELF_ENV": "development", "BOOKSHELF_INSTANCE_PATH": str(tmp_path)}
    output = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "bookshelf", "routes"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    for rule in ["/books/<id:book_id>/edit", "/books/new", "/search", "/healthz"]:
        assert rule in output


def test_create_token_command(app: Flask, client: FlaskClient) -> None:
    from bookshelf_helpers import create_account

    create_account(app, "anna")
    runner = app.test_cli_runner()
    token = runner.invoke(args=["create-token", "anna", "curl"]).output.strip()
    assert token.startswith("bks_")
    response = client.post(
        "/api/v1/books",
        json={"title": "T", "author": "A", "pages_num": 1},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201
    assert runner.invoke(args=["create-token", "nobody"]).exit_code != 0


def test_an_app_built_with_limits_off_does_not_turn_them_off_for_the_next(tmp_path: Path) -> None:
    """The limiter object is shared by every app in a process (tests, load runs)."""
    from bookshelf.extensions import limiter

    create_app(app_config(f"sqlite:///{tmp_path / 'a.sqlite3'}", RATELIMIT_ENABLED=False))
    assert limiter.enabled is False
    create_app(app_config(f"sqlite:///{tmp_path / 'b.sqlite3'}"))
    assert limiter.enabled is True
