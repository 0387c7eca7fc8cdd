"""Reading stats on the reader's own profile: books and pages per month over the last year,
as server-drawn SVG bars and a table, in English and Russian, on both databases."""

from __future__ import annotations

import datetime as dt
import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert

from bookshelf.extensions import db
from bookshelf.models import ShelfEntry
from bookshelf.stats.service import month_starts, reading_by_month
from bookshelf_helpers import add_books, create_account, csrf_token, sign_in


def shelve(app: Flask, user_id: int, rows: list[tuple[int, str, dt.date | None]]) -> None:
    with app.app_context():
        db.session.execute(
            insert(ShelfEntry),
            [
                {"user_id": user_id, "book_id": book, "shelf": shelf, "finished_on": day}
                for book, shelf, day in rows
            ],
        )
        db.session.commit()


def test_month_starts_cross_the_year() -> None:
    starts = month_starts(dt.date(2026, 3, 15))
    assert starts[0] == dt.date(2025, 4, 1) and starts[-1] == dt.date(2026, 3, 1)
    assert len(starts) == 12


def test_books_and_pages_per_month_on_the_profile(app: Flask, client: FlaskClient) -> None:
    today = dt.date.today()
    this_month = today.replace(day=1)
    last_month = (this_month - dt.timedelta(days=1)).replace(day=1)
    rows = [{"title": f"B{n}", "author": "A", "pages_num": 100 * n} for n in range(1, 6)]
    rows[2]["pages_num"] = None
    ids = add_books(app, rows)
    user = create_account(app, "anna")
    other = create_account(app, "boris")
    shelve(
        app,
        user,
        [
            (ids[0], "read", this_month),
            (ids[1], "read", last_month),
            (ids[2], "read", last_month),  # pages unknown
            (ids[3], "read", this_month.replace(year=this_month.year - 1)),  # 12 months ago
            (ids[4], "reading", None),
        ],
    )
    shelve(app, other, [(ids[0], "read", this_month)])
    with app.app_context():
        months = reading_by_month(user)
    assert [(m.books, m.pages, m.unknown_pages) for m in months[-2:]] == [(2, 200, 1), (1, 100, 0)]
    assert sum(m.books for m in months) == 3  # the book finished 12 months ago is out

    sign_in(client, "anna")
    page = client.get(f"/users/{user}").get_data(as_text=True)
    assert "Reading in the last 12 months" in page
    assert re.search(r'<figcaption id="stats-books-title">Books read: 3</figcaption>', page)
    assert re.search(r'<figcaption id="stats-pages-title">Pages read: 300</figcaption>', page)
    assert page.count('class="stats-bar"') == 4  # two months with books, in both charts
    assert '<svg viewBox="0 0 360 150" role="img" aria-labelledby="stats-books-title"' in page
    assert f'<th scope="row">{this_month.strftime("%B %Y")}</th>' in page
    assert "(1 book with unknown pages)" in page

    client.get("/language", query_string={"language": "ru"})
    page = client.get(f"/users/{user}").get_data(as_text=True)
    assert "Чтение за последние 12 месяцев" in page and "Прочитано книг: 3" in page
    assert "Книги и страницы по месяцам" in page
    russian_months = "январь февраль март апрель май июнь июль август сентябрь октябрь ноябрь"
    month_name = [*russian_months.split(), "декабрь"][this_month.month - 1]
    assert f'<th scope="row">{month_name} {this_month.year}</th>' in page

    # Stats are the owner's: another reader's view of the profile has none.
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    sign_in(client, "boris")
    assert "stats-chart" not in client.get(f"/users/{user}").get_data(as_text=True)
