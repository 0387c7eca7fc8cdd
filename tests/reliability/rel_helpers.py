"""Helpers shared by the reliability tests: database snapshots, API tokens, hostile strings."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from bookshelf.extensions import db
from bookshelf.models import ApiToken, Book, Rating, ShelfEntry, User, shelf_entry_tags
from bookshelf.users.tokens import issue_token

# Injection probes. Each carries a marker so that captured SQL can be searched for it.
MARKER = "zqx9"
SQL_PROBES = [
    f"' OR '1'='1 {MARKER}",
    f"{MARKER}'; DROP TABLE books; --",
    f'{MARKER}" OR 1=1 --',
    f"{MARKER}') OR ('a'='a",
    f"1; SELECT pg_sleep(5) -- {MARKER}",
    f"%{MARKER}' UNION SELECT username, password_hash FROM users --",  # noqa: S608  (a probe)
    f"{MARKER}\\'; --",
    f"{MARKER}:* | ! & ( )",  # tsquery operators
    f"{MARKER} $$ $tag$ ::text",
    f'{MARKER} " MATCH * NEAR(',  # FTS5 query syntax
]
XSS_PROBES = [
    f"<script>alert('{MARKER}')</script>",
    f'"><img src=x onerror=alert("{MARKER}")>',
    f"'><svg onload=alert({MARKER})>",
    f"</textarea><script>{MARKER}</script>",
    f"</title><script>{MARKER}</script>",
    f"javascript:alert('{MARKER}')",
    f"{{{{7*7}}}}{MARKER}{{% print 1 %}}",  # template injection must stay text
    f"<!--{MARKER}-->&amp;&lt;",
]
ALL_PROBES = SQL_PROBES + XSS_PROBES


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def token_for(app: Flask, user_id: int, name: str = "tests") -> tuple[int, str]:
    with app.app_context():
        record, token = issue_token(db.session.get(User, user_id), name)
        return record.id, token


def snapshot(app: Flask) -> dict[str, object]:
    """Everything a write could change, compared before and after an attempt that must fail."""
    with app.app_context():
        books = db.session.execute(
            select(
                Book.id,
                Book.title,
                Book.author,
                Book.pages_num,
                Book.review,
                Book.isbn,
                Book.year,
                Book.cover,
            ).order_by(Book.id)
        ).all()
        users = db.session.execute(select(User.id, User.username).order_by(User.id)).all()
        tokens = db.session.execute(
            select(ApiToken.id, ApiToken.name, ApiToken.revoked_at).order_by(ApiToken.id)
        ).all()
        shelves = db.session.execute(
            select(
                ShelfEntry.user_id,
                ShelfEntry.book_id,
                ShelfEntry.shelf,
                ShelfEntry.started_on,
                ShelfEntry.finished_on,
            ).order_by(ShelfEntry.id)
        ).all()
        tags = db.session.execute(select(shelf_entry_tags).order_by("entry_id", "tag_id")).all()
        ratings = db.session.execute(
            select(Rating.user_id, Rating.book_id, Rating.stars, Rating.review).order_by(Rating.id)
        ).all()
        return {
            "books": books,
            "users": users,
            "tokens": tokens,
            "shelves": shelves,
            "tags": tags,
            "ratings": ratings,
        }


def book_count(app: Flask) -> int:
    with app.app_context():
        return len(db.session.scalars(select(Book.id)).all())
