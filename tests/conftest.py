"""Fixtures shared by the bookshelf tests: every database test runs on SQLite and PostgreSQL.

SQLite gets a fresh, migrated file per test; PostgreSQL one database per run, migrated once and
truncated before each test.
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
from support import postgres_available, require, temporary_postgres_database


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    require(postgres_available(), "PostgreSQL at 127.0.0.1:5432")
    with temporary_postgres_database("bookshelf_test") as url:
        app = create_app(app_config(url.replace("postgresql://", "postgresql+psycopg://")))
        with app.app_context():
            upgrade()
            db.engine.dispose()
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.sqlite3'}"
    url = request.getfixturevalue("postgres_url")
    return url.replace("postgresql://", "postgresql+psycopg://")


@pytest.fixture
def app_settings() -> dict[str, Any]:
    """Extra configuration for the `app` fixture; a test package may override it."""
    return {}


@pytest.fixture
def app(database_uri: str, app_settings: dict[str, Any]) -> Iterator[Flask]:
    app = create_app(app_config(database_uri, **app_settings))
    with app.app_context():
        if database_uri.startswith("sqlite"):
            upgrade()
        else:
            truncate_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def truncate_all() -> None:
    tables = ", ".join(t.name for t in db.metadata.sorted_tables)
    db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    db.session.commit()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
