"""The API's book list writes exactly the bytes it wrote when it was built from Book objects.

The recorded answers (data/api_book_list.json) were taken from the ORM-based listing; the
listing now reads plain rows, and every page, cursor and field must stay byte for byte the
same, on SQLite and PostgreSQL. A deliberate change to the output rewrites that file.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from bookshelf.books.queries import SORT_ORDERS
from bookshelf.extensions import db
from bookshelf.models import Book
from bookshelf_helpers import add_books, create_account, make_rows

RECORDED = Path(__file__).parent / "data" / "api_book_list.json"
PER_PAGE = 7


def catalogue(app: Flask) -> None:
    """Every kind of value a listed book can carry: nulls, a cover, a deleted adder, Cyrillic
    and characters JSON escapes, a timestamp with microseconds, one without a timestamp."""
    anna = create_account(app, "anna")
    rows: list[dict[str, Any]] = []
    for n, row in enumerate(make_rows(24), start=1):
        row.update(
            review=None if n % 3 else f'Review {n}: "quoted" <b>bold</b> & more',
            isbn=None if n % 4 else "9780140447934",
            year=None if n % 5 == 0 else 1800 + 7 * n,
            date_added=dt.date(2024, 1, 1) + dt.timedelta(days=n),
            updated_at=dt.datetime(2024, 6, 1, 12, 0, n, 1000 * n + 7, tzinfo=dt.UTC),
            added_by_id=anna if n % 2 else None,
            added_by_deleted=n % 7 == 0 and n % 2 == 0,
            cover=None if n % 5 else f"{n:064x}",
            rating_count=n % 4,
            rating_sum=(n % 4) * (n % 5),
            rating_avg=(n % 5) if n % 4 else 0,
        )
        if n % 8 == 0:
            row["pages_num"] = None
        if n in (2, 9):
            row.update(title=f"Война и мир, том {n}", author="Лев Толстой\u2028")
        if n == 10:
            row["title"] = row["title"] + ' \\ "slash" \u00e9'
        rows.append(row)
    add_books(app, rows)
    with app.app_context():  # as a row written by plain SQL: last_modified from date_added
        db.session.execute(update(Book).where(Book.id % 6 == 0).values(updated_at=None))
        db.session.commit()


def answers(client: FlaskClient) -> dict[str, str]:
    """Each sort order: every page forwards, back one, the last page, a numbered jump."""
    recorded: dict[str, str] = {}

    def get(url: str) -> dict[str, Any]:
        response = client.get(url)
        assert response.status_code == 200, (url, response.get_data(as_text=True))
        recorded[url] = response.headers["Link"] + "\n" + response.get_data(as_text=True)
        return response.get_json()

    get("/api/v1/books")
    for sort in SORT_ORDERS:
        page = get(f"/api/v1/books?sort={sort}&per_page={PER_PAGE}")
        last = page["links"]["last"]
        while page["links"]["next"]:
            page = get(page["links"]["next"])
        get(page["links"]["prev"])
        get(last)
        get(f"/api/v1/books?sort={sort}&per_page={PER_PAGE}&page=2")
    return recorded


def test_the_book_list_writes_the_recorded_bytes(app: Flask, client: FlaskClient) -> None:
    catalogue(app)
    got = answers(client)
    expected = json.loads(RECORDED.read_text(encoding="utf-8"))
    assert list(got) == list(expected)
    for url, body in expected.items():
        assert got[url] == body, url
