"""/healthz: one round trip to PostgreSQL, and still a real question to the database.

test_app.py checks its answer (JSON, 200 and 503), tests/reliability its behaviour during an
outage and after a restart.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event
from sqlalchemy.pool import Pool

from bookshelf_fixtures import ON_POSTGRES


@pytest.fixture
def round_trips(tmp_path: Path) -> Iterator[list[Path]]:
    """libpq's trace of every PostgreSQL connection checked out meanwhile: each round trip
    ends with the server's ReadyForQuery."""
    traces: list[Path] = []
    files: dict[int, Any] = {}

    def trace(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        path = tmp_path / f"trace-{len(traces)}.txt"
        traces.append(path)
        files[id(dbapi_connection)] = path.open("w")
        dbapi_connection.pgconn.trace(files[id(dbapi_connection)].fileno())

    def untrace(dbapi_connection: Any, _record: Any) -> None:
        if id(dbapi_connection) in files:
            dbapi_connection.pgconn.untrace()
            files.pop(id(dbapi_connection)).close()

    event.listen(Pool, "checkout", trace, insert=True)  # before the idle ping, to count it
    event.listen(Pool, "checkin", untrace)
    try:
        yield traces
    finally:
        event.remove(Pool, "checkout", trace)
        event.remove(Pool, "checkin", untrace)
        for handle in files.values():
            handle.close()


def server_answers(traces: list[Path]) -> list[str]:
    lines = [line for path in traces for line in path.read_text().splitlines()]
    return [line for line in lines if "\tB\t" in line and "ReadyForQuery" in line]


# Round trips and dropped connections are PostgreSQL's: SQLite has no server to go to.
@ON_POSTGRES
def test_healthz_is_one_round_trip(
    database_uri: str, app: Flask, client: FlaskClient, round_trips: list[Path]
) -> None:
    assert client.get("/healthz").status_code == 200  # a first request opens the connection
    round_trips.clear()
    for _ in range(3):
        response = client.get("/healthz")
        assert response.status_code == 200 and response.get_json()["database"] == "ok"
    assert round_trips, "no connection was checked out: the database was not asked"
    assert len(server_answers(round_trips)) == 3  # SELECT 1, nothing else
    queries = [line for p in round_trips for line in p.read_text().splitlines() if "\tF\t" in line]
    assert all('"SELECT 1"' in line for line in queries), queries


@ON_POSTGRES
def test_healthz_survives_a_server_that_dropped_its_connection(
    database_uri: str, postgres_url: str, client: FlaskClient, round_trips: list[Path]
) -> None:
    """Its pool does not ping: a dropped connection (a restart) is replaced, not reported."""
    assert client.get("/healthz").status_code == 200
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    round_trips.clear()
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json()["database"] == "ok"
    assert len(round_trips) == 2  # the dropped connection, then a new one


def test_healthz_is_answered_in_front_of_flask(app: Flask, client: FlaskClient) -> None:
    """No request hook, session, locale or template: only the check and the security headers."""
    hooks: list[str] = []
    app.before_request(lambda: hooks.append("before"))
    app.after_request(lambda response: hooks.append("after") or response)
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.get_json() == {
        "status": "ok",
        "version": app.config["BOOKSHELF_VERSION"],
        "commit": answer.get_json()["commit"],
        "database": "ok",
    }
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in answer.headers
    head = client.head("/healthz")
    assert head.status_code == 200 and head.get_data() == b""
    assert head.headers["Content-Length"] == answer.headers["Content-Length"]
    assert hooks == []
    # Every other path and method still goes through Flask.
    assert client.get("/books").status_code == 200 and hooks == ["before", "after"]
