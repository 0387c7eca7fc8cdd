"""Bookshelf's fixtures: every database test runs on SQLite and PostgreSQL.

SQLite gets a fresh, migrated file per test; PostgreSQL one database per run, migrated once and
truncated before each test.

A plain module, not tests/conftest.py: a root conftest would hand these fixtures to deployhook's
tests too. The conftest.py of each bookshelf test folder (bookshelf/, reliability/) imports
them by name; pytest allows `pytest_plugins` only in the top conftest, where it would again
reach every folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import text

from bookshelf import create_app
from bookshelf.extensions import db
from bookshelf_helpers import app_config
from support import (
    require_postgres,
    sqlalchemy_url,
    temporary_postgres_database,
    temporary_sqlite_database,
)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    require_postgres()
    with temporary_postgres_database("bookshelf_test") as url:
        app = create_app(app_config(sqlalchemy_url(url)))
        with app.app_context():
            upgrade()
            db.engine.dispose()
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_uri(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        with temporary_sqlite_database(tmp_path) as url:
            yield url
    else:
        yield sqlalchemy_url(request.getfixturevalue("postgres_url"))


# For a test about what only PostgreSQL has (a server, TRUNCATE): `database_uri` and the
# fixtures on it take PostgreSQL alone, and the test runs rather than skips on SQLite.
ON_POSTGRES = pytest.mark.parametrize(
    "database_uri", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


@pytest.fixture
def app_settings() -> dict[str, Any]:
    """Extra configuration for the `app` fixture; a test package may override it."""
    return {}


@pytest.fixture
def app(database_uri: str, app_settings: dict[str, Any], tmp_path: Path) -> Iterator[Flask]:
    # Files the app writes go to the test's own folder, never to the instance folder (which is
    # inside the virtualenv when the suite runs as a deploy's test gate).
    files = {"GOODREADS_UPLOADS_FOLDER": str(tmp_path / "goodreads-imports")}
    app = create_app(app_config(database_uri, **{**files, **app_settings}))
    with app.app_context():
        if database_uri.startswith("sqlite"):
            upgrade()
        else:
            truncate_all()
    yield app
    with app.app_context():
        db.session.remove()
        for engine in db.engines.values():  # the app's own, and the catalogue version's
            engine.dispose()


def truncate_all() -> None:
    tables = ", ".join(t.name for t in db.metadata.sorted_tables)
    db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    db.session.commit()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def small_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    """A catalogue of hundreds searched like one of millions: the search's windows too short
    to find six matches among the newest books, so it goes on to the index and the id floor."""
    from bookshelf.search import queries

    monkeypatch.setattr(queries, "COUNT_CAP", 5)
    monkeypatch.setattr(queries, "RECENT_WINDOW", 20)
    monkeypatch.setattr(queries, "MAX_SCAN", 25)
    monkeypatch.setattr(queries, "FLOOR_SAMPLE", 2)
