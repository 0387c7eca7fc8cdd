"""Baseline (b): the floor of any Flask listing, like TechEmpower's flask-raw "fortunes".

Plain Flask, a psycopg 3 connection pool, one SQL statement and one Jinja template that
renders the same 20 books as the app's first `/books` page (newest first). No ORM, no
session, no CSRF, no translations: what is left is what every Flask listing pays.
"""

from __future__ import annotations

import os

from flask import Flask, render_template
from psycopg_pool import ConnectionPool

LIST_SQL = "SELECT id, title, author, pages_num, date_added FROM books ORDER BY id DESC LIMIT 20"

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


@app.get("/raw/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}
