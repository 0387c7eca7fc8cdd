"""Throwaway databases on both engines: a uniquely named PostgreSQL database, dropped
afterwards even if connections are still open, and an SQLite file removed with its journals."""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from support.environment import require

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def postgres_available(admin_url: str = POSTGRES_ADMIN_URL) -> bool:
    try:
        import psycopg

        with psycopg.connect(admin_url, connect_timeout=3):
            return True
    except Exception:
        return False


def require_postgres() -> None:
    """Skip the test without a PostgreSQL server locally; fail it in CI."""
    require(postgres_available(), f"PostgreSQL at {POSTGRES_ADMIN_URL}")


def wait_for_postgres(limit: float, admin_url: str = POSTGRES_ADMIN_URL) -> bool:
    """True once the server accepts connections; False if it still refuses after `limit` s."""
    import psycopg

    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            with psycopg.connect(admin_url, connect_timeout=1):
                return True
        except psycopg.OperationalError:
            time.sleep(0.2)
    return False


def sqlalchemy_url(url: str) -> str:
    """The same PostgreSQL URL for SQLAlchemy, which must be told to use psycopg 3."""
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@contextmanager
def temporary_postgres_database(prefix: str, admin_url: str = POSTGRES_ADMIN_URL) -> Iterator[str]:
    """Create a uniquely named database and drop it afterwards; yields its libpq URL.

    The unique suffix lets parallel test processes and a bench or soak run share one server.
    """
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    # The name is interpolated into SQL (identifiers cannot be parameters): keep it plain.
    assert re.fullmatch(r"[a-z0-9_]+", name), name
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        # A soak run restarts the server on purpose: give it time to come back before the drop.
        wait_for_postgres(60, admin_url)
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def temporary_sqlite_database(directory: Path, prefix: str = "test") -> Iterator[str]:
    """A new SQLite file in `directory`, removed afterwards with its WAL and journal files;
    yields its SQLAlchemy URL (the file itself is created by whoever connects first)."""
    path = directory / f"{prefix}-{uuid.uuid4().hex[:8]}.sqlite3"
    try:
        yield f"sqlite:///{path}"
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
