"""Fixtures for the reliability tests: an app on SQLite and PostgreSQL, accounts, tokens.

Mirrors tests/bookshelf/conftest.py (fixtures there are not visible from this package) but
keeps its own PostgreSQL database, so these tests can run alongside the others.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import text

from bookshelf import create_app
from bookshelf.extensions import db
from bookshelf_helpers import app_config
from support import postgres_available, require, temporary_postgres_database

# The soak package lives at the top of the checkout (python -m soak.run); appended, so that
# it never shadows an installed package.
sys.path.append(str(Path(__file__).resolve().parents[2]))


@pytest.fixture(scope="session")
def reliability_postgres_url() -> Iterator[str]:
    require(postgres_available(), "PostgreSQL at 127.0.0.1:5432")
    with temporary_postgres_database("bookshelf_rel") as url:
        app = create_app(app_config(url.replace("postgresql://", "postgresql+psycopg://")))
        with app.app_context():
            upgrade()
            db.engine.dispose()
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.sqlite3'}"
    url = request.getfixturevalue("reliability_postgres_url")
    return url.replace("postgresql://", "postgresql+psycopg://")


@pytest.fixture
def app(database_uri: str) -> Iterator[Flask]:
    # The login limit is tested on its own (scale-out); here it would only slow sign-ins down.
    app = create_app(app_config(database_uri, RATELIMIT_ENABLED=False))
    with app.app_context():
        if database_uri.startswith("sqlite"):
            upgrade()
        else:
            tables = ", ".join(t.name for t in db.metadata.sorted_tables)
            db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
