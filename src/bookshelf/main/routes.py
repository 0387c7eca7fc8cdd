from __future__ import annotations

from flask import current_app, render_template
from flask_login import current_user

from bookshelf.books.queries import catalogue_size, latest_books
from bookshelf.database import raw_fetchone, read_engine
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
    engine = read_engine()
    for _attempt in range(2):
        row, dropped = raw_fetchone(engine, "SELECT 1")
        if not dropped:
            return row == (1,)
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
