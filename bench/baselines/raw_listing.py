"""Baselines (b), (d) and (e): the floor of any Flask page that reads the catalogue, like
TechEmpower's flask-raw "fortunes".

Plain Flask, one psycopg 3 connection pool and one SQL statement per request. No ORM, no
session, no CSRF, no translations: what is left is what every Flask page of this kind pays.

- (b) `/raw/books`: one Jinja template rendering the same 20 books as the app's first
  `/books` page (newest first).
- (d) `/raw/books/<id>`: one Jinja template showing one book with the facts the app's book
  page shows (its uploader's name read in the same statement); 404 for a missing id, as the
  app answers.
- (e) `/raw/api/v1/books`: the app's `/api/v1/books` first page, the same items, `meta` and
  `links` (plain keyset links here, not signed cursors) and the `Link` header, written by
  Flask's json.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from flask import Flask, abort, render_template
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

LIST_SQL = "SELECT id, title, author, pages_num, date_added FROM books ORDER BY id DESC LIMIT 20"
BOOK_SQL = """
SELECT b.id, b.title, b.author, b.author_key, b.pages_num, b.review, b.isbn, b.year,
       b.date_added, b.cover, b.rating_avg, b.rating_count, b.added_by_id,
       u.username AS added_by_username, b.added_by_deleted
FROM books b LEFT JOIN users u ON u.id = b.added_by_id
WHERE b.id = %s
"""
# One row more than a page tells whether there is a next one; the exact total comes from the
# one-row counter the app keeps (catalogue_count), in the same statement.
API_PER_PAGE = 20
API_SQL = """
SELECT b.id, b.title, b.author, b.pages_num, b.review, b.isbn, b.year, b.date_added,
       b.updated_at, b.added_by_id, u.username AS added_by_username, b.added_by_deleted,
       b.cover, (SELECT books FROM catalogue_count WHERE id = 1) AS total
FROM books b LEFT JOIN users u ON u.id = b.added_by_id
ORDER BY b.id DESC LIMIT %s
"""
API_URL = "/raw/api/v1/books"

app = Flask(__name__)
# Opened lazily in each worker: a pool created before fork would share sockets.
_pool: ConnectionPool | None = None


def pool() -> ConnectionPool:
    global _pool  # one pool per worker process
    if _pool is None:
        url = os.environ["BENCH_RAW_DATABASE_URL"]
        _pool = ConnectionPool(url, min_size=1, max_size=4, open=True)
    return _pool


@app.get("/raw/books")
def books() -> str:
    with pool().connection() as connection:
        rows = connection.execute(LIST_SQL).fetchall()
    return render_template("raw_books.html", books=rows)


@app.get("/raw/books/<int:book_id>")
def book(book_id: int) -> str:
    with pool().connection() as connection:
        row = connection.cursor(row_factory=dict_row).execute(BOOK_SQL, (book_id,)).fetchone()
    if row is None:
        abort(404)
    return render_template("raw_book.html", book=row)


@app.get(API_URL)
def api_books() -> tuple[dict[str, Any], dict[str, str]]:
    with pool().connection() as connection:
        cursor = connection.cursor(row_factory=dict_row)
        rows = cursor.execute(API_SQL, (API_PER_PAGE + 1,)).fetchall()
    items = [api_item(row) for row in rows[:API_PER_PAGE]]
    first = f"{API_URL}?per_page={API_PER_PAGE}&sort=newest"
    more = len(rows) > API_PER_PAGE
    links = {
        "self": first,
        "first": first,
        "prev": None,
        "next": f"{API_URL}?per_page={API_PER_PAGE}&after={items[-1]['id']}" if more else None,
        "last": f"{API_URL}?per_page={API_PER_PAGE}&last=1",
    }
    meta = {
        "total": rows[0]["total"] if rows else 0,
        "total_exact": True,
        "page": 1,
        "per_page": API_PER_PAGE,
    }
    link = ", ".join(f'<{url}>; rel="{rel}"' for rel, url in links.items() if url)
    return {"items": items, "meta": meta, "links": links}, {"Link": link}


def api_item(row: dict[str, Any]) -> dict[str, Any]:
    """A row as the app's API writes a book: ISO dates, `updated_at` in UTC (the day it was
    added when the row has none), the uploader as {id, username} or null."""
    updated = row["updated_at"] or dt.datetime.combine(row["date_added"], dt.time(), dt.UTC)
    username = row["added_by_username"]
    return {
        "id": row["id"],
        "title": row["title"],
        "author": row["author"],
        "pages_num": row["pages_num"],
        "review": row["review"],
        "isbn": row["isbn"],
        "year": row["year"],
        "date_added": row["date_added"].isoformat(),
        "updated_at": updated.astimezone(dt.UTC).isoformat(),
        "added_by": None if username is None else {"id": row["added_by_id"], "username": username},
        "added_by_deleted": row["added_by_deleted"],
        "cover": row["cover"],
    }


@app.get("/raw/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}
