"""The PostgreSQL pool pings only connections that sat idle, and that is enough to survive a
server that dropped them (what a restart does): the next page is served, not a 503."""

from __future__ import annotations

import time

import psycopg
import pytest
from flask import Flask

from bookshelf import database
from bookshelf.config import engine_options

pytestmark = pytest.mark.postgres


@pytest.fixture
def database_uri(postgres_url: str) -> str:
    # PostgreSQL only: SQLite has no server to drop a connection.
    from support import sqlalchemy_url

    return sqlalchemy_url(postgres_url)


def terminate_other_sessions(postgres_url: str) -> int:
    """Ends every server session on the test database but this one, like a restart does."""
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        row = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    return int(row[0]) if row else 0


def count_pings(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    answers: list[bool] = []
    real_ping = database.ping

    def counted(connection: object) -> bool:
        answers.append(real_ping(connection))
        return answers[-1]

    monkeypatch.setattr(database, "ping", counted)
    return answers


def test_no_ping_round_trip_on_every_checkout() -> None:
    assert "pool_pre_ping" not in engine_options("postgresql+psycopg://x@127.0.0.1/db")


def test_a_connection_used_a_moment_ago_is_not_pinged(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = app.test_client()
    assert client.get("/books").status_code == 200
    pings = count_pings(monkeypatch)
    for _ in range(5):
        assert client.get("/books").status_code == 200
    assert pings == []


def test_connections_dropped_while_idle_are_replaced_before_a_page_uses_them(
    app: Flask, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app.testing = False  # errors become the app's own pages, as in production
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0.2)
    client = app.test_client()
    assert client.get("/books").status_code == 200
    pings = count_pings(monkeypatch)
    assert terminate_other_sessions(postgres_url) >= 1  # the pool's connection among them
    time.sleep(0.3)
    for path in ("/books", "/books", "/healthz"):
        response = client.get(path)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert pings[0] is False  # the dropped connection was found out by its ping
