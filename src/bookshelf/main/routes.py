from __future__ import annotations

from flask import current_app, render_template
from flask_login import current_user

from bookshelf.books.queries import catalogue_size, latest_books
from bookshelf.database import read_engine
from bookshelf.health import health_report
from bookshelf.main import bp
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


@bp.get("/healthz")
def healthz() -> tuple[dict[str, str | None], int]:
    """In development; elsewhere bookshelf.health answers before Flask, with the same report."""
    body, healthy = health_report(current_app, read_engine())
    return body, 200 if healthy else 503
