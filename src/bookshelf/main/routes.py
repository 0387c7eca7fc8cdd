from __future__ import annotations

from flask import current_app, render_template
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bookshelf.books.queries import catalogue_size, latest_books
from bookshelf.extensions import db
from bookshelf.main import bp
from bookshelf.revision import current_commit


@bp.get("/")
def home() -> str:
    return render_template("main/home.html", books=latest_books(), size=catalogue_size())


@bp.get("/healthz")
def healthz() -> tuple[dict[str, str | None], int]:
    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
    except SQLAlchemyError:
        db.session.rollback()
        database = "unavailable"
    healthy = database == "ok"
    body = {
        "status": "ok" if healthy else "unavailable",
        "version": current_app.config["BOOKSHELF_VERSION"],
        "commit": current_commit(),
        "database": database,
    }
    return body, 200 if healthy else 503
