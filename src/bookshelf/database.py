"""Database helpers shared by every feature: dialect checks and per-connection set-up."""

from __future__ import annotations

import sys
import time
from contextlib import suppress
from typing import Any

from flask import Flask
from sqlalchemy import Executable, event, exc
from sqlalchemy.engine import Engine, Row
from sqlalchemy.pool import Pool

from bookshelf.extensions import db

# A pooled connection handed back within this many seconds is handed out again as it is; one
# that sat idle longer is pinged first. Under load a connection is idle for milliseconds and
# a ping per request (SQLAlchemy's pool_pre_ping) would be a round trip per page; after a
# database restart the pool's connections are the idle ones, and the ping replaces them.
# A connection killed while busy fails its one request, and SQLAlchemy then drops every
# connection of the pool that is older than that failure.
PING_AFTER_IDLE_SECONDS = 1.0
CHECKED_IN_AT = "bookshelf_checked_in_at"
# PostgreSQL: the reads a visitor's catalogue page needs (its list of books, the catalogue
# version, /healthz) run on a pool of their own, in autocommit and without a ping. A single
# statement needs no transaction around it: one round trip instead of three (BEGIN, the
# statement, ROLLBACK) and none of the session's work. SQLite reads in-process and has no
# round trips to save; a second engine would not even see an in-memory database.
READ_BIND = "autocommit_reads"


def is_sqlite_connection(dbapi_connection: Any) -> bool:
    """Told without importing sqlite3: on PostgreSQL nothing else loads it, and with its
    library it would cost each worker 1.5 MB. A SQLite connection can only exist once
    SQLAlchemy's driver has imported the module."""
    sqlite3 = sys.modules.get("sqlite3")
    return sqlite3 is not None and isinstance(dbapi_connection, sqlite3.Connection)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    if not is_sqlite_connection(dbapi_connection):
        return
    cursor = dbapi_connection.cursor()
    # WAL lets readers and one writer work at once; busy_timeout waits instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    if record is not None:
        record.info[CHECKED_IN_AT] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Raising DisconnectionError makes the pool discard this connection and open another."""
    if is_sqlite_connection(dbapi_connection):
        return  # a file, not a server: nothing to lose between requests
    checked_in_at = record.info.get(CHECKED_IN_AT)
    if checked_in_at is None or time.monotonic() - checked_in_at < PING_AFTER_IDLE_SECONDS:
        return  # brand new, or used a moment ago
    if not ping(dbapi_connection):
        raise exc.DisconnectionError("the pooled connection did not answer a ping")


def ping(dbapi_connection: Any) -> bool:
    """One round trip; rolled back, so the request starts from a clean transaction."""
    try:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        dbapi_connection.rollback()
    except Exception:  # any failure at all means the connection is unusable
        return False
    return True


def register_connection_setup(app: Flask) -> None:
    for target, name, listener in (
        (Engine, "connect", _configure_sqlite),
        (Pool, "checkin", _note_checkin),
        (Pool, "checkout", _ping_if_idle),
    ):
        if not event.contains(target, name, listener):
            event.listen(target, name, listener)


def add_read_bind(app: Flask) -> None:
    """Before Flask-SQLAlchemy starts, which creates the engines: the read pool's engine."""
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if not uri.startswith("postgresql"):
        return
    binds = app.config.setdefault("SQLALCHEMY_BINDS", {})
    binds.setdefault(
        READ_BIND,
        {
            "url": uri,
            "isolation_level": "AUTOCOMMIT",
            "pool_reset_on_return": None,
            "pool_pre_ping": False,
            # One connection per thread that reads at once: a sync worker reads one statement
            # at a time; more threads overflow, and the overflow is closed when handed back.
            "pool_size": 1,
        },
    )


def read_engine() -> Engine:
    """The read pool on PostgreSQL; the app's own engine on SQLite."""
    return db.engines.get(READ_BIND, db.engine)


def read_engine_of(app: Flask) -> Engine:
    """read_engine() for code that runs in front of Flask, outside any app context (the WSGI
    layers of bookshelf.http_cache and bookshelf.health)."""
    with app.app_context():
        return read_engine()


def read_rows(statement: Executable, parameters: dict[str, Any] | None = None) -> list[Row[Any]]:
    """All rows of one read-only Core statement, outside the request's session (no
    transaction, no identity map): for pages that only show what they read.

    The read pool does not ping, so a connection the server dropped (a restart) fails once,
    is thrown away by SQLAlchemy, and the statement is asked once more on a new one.
    """
    engine = read_engine()
    for attempt in range(2):
        try:
            with engine.connect() as connection:
                return list(connection.execute(statement, parameters).all())
        except exc.DBAPIError as error:
            if attempt or not error.connection_invalidated:
                raise
    raise AssertionError("not reached: the second attempt returns or raises")


def is_postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


def raw_fetchone(engine: Engine, sql: str) -> tuple[tuple[Any, ...] | None, bool]:
    """One constant statement on the driver's own cursor: (its first row, dropped).

    The row is None when the database did not answer. `dropped` says the failure was a
    connection the server had closed (a restart): that connection is thrown away and the next
    checkout opens a new one, so a caller on a pool without a ping may ask once more.
    SQLAlchemy's statement machinery cost half of such a read, as measured, and a constant
    query needs none of it.
    """
    driver_error = engine.dialect.loaded_dbapi.Error
    try:
        connection = engine.raw_connection()
    except (exc.SQLAlchemyError, driver_error):  # the pool hands on the driver's own errors
        return None, False
    row, dropped, cursor = None, False, None
    try:
        cursor = connection.cursor()
        cursor.execute(sql)
        row = cursor.fetchone()
    except driver_error as error:
        dropped = engine.dialect.is_disconnect(error, connection.dbapi_connection, cursor)
    finally:
        if cursor is not None:
            with suppress(driver_error):
                cursor.close()
        if dropped:
            connection.invalidate()  # replaced on the next checkout
        else:
            connection.close()  # back to the pool
    return row, dropped
