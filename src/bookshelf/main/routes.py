from __future__ import annotations

from contextlib import suppress

from flask import current_app, render_template
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from bookshelf.books.queries import catalogue_size, latest_books
from bookshelf.extensions import db
from bookshelf.http_cache import VERSION_BIND
from bookshelf.main import bp
from bookshelf.revision import current_commit
from bookshelf.shelves.service import HOME_READING_SHOWN, books_on_shelves, recent_ratings


@bp.get("/")
def home() -> str:
    """A welcome for visitors; a signed-in reader starts from their Reading shelf."""
    reading, rated = None, None
    if current_user.is_authenticated:
        reading, _more = books_on_shelves(current_user.id, "reading", None, 1, HOME_READING_SHOWN)
        rated = recent_ratings()
    return render_template(
        "main/home.html",
        books=latest_books(),
        size=catalogue_size(),
        reading=reading,
        rated=rated,
    )


def database_answers() -> bool:
    """SELECT 1, answered. On PostgreSQL on the catalogue version's pool (autocommit, no reset,
    no ping) and the driver's own cursor: one round trip, where the session cost three (BEGIN,
    SELECT 1, ROLLBACK). That pool does not ping, so a connection the server dropped (a
    restart) is replaced and asked once more: the answer is about the database, not about an
    old connection to it."""
    engine = db.engines.get(VERSION_BIND, db.engine)  # SQLite: the app's own, in-process
    driver_error = engine.dialect.loaded_dbapi.Error
    for _attempt in range(2):
        try:
            connection = engine.raw_connection()
        except (SQLAlchemyError, driver_error):  # the pool hands on the driver's own errors
            return False
        cursor, dropped = None, False
        try:
            cursor = connection.cursor()
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
        except driver_error as error:
            dropped = engine.dialect.is_disconnect(error, connection.dbapi_connection, cursor)
            if not dropped:
                return False
        finally:
            if cursor is not None:
                with suppress(driver_error):
                    cursor.close()
            if dropped:
                connection.invalidate()  # replaced by the next checkout
            else:
                connection.close()  # back to the pool
    return False


@bp.get("/healthz")
def healthz() -> tuple[dict[str, str | None], int]:
    healthy = database_answers()
    body = {
        "status": "ok" if healthy else "unavailable",
        "version": current_app.config["BOOKSHELF_VERSION"],
        "commit": current_commit(),
        "database": "ok" if healthy else "unavailable",
    }
    return body, 200 if healthy else 503
