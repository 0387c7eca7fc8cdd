"""Books and pages a reader finished per month (by the finish date on the Read shelf)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from babel import dates as babel_dates
from flask_babel import get_locale
from sqlalchemy import select

from bookshelf.extensions import db
from bookshelf.models import Book, ShelfEntry

MONTHS = 12
# The drawing: one bar per month in a viewBox this size; the SVG scales to the page width.
CHART_WIDTH, CHART_HEIGHT, LABEL_HEIGHT, TOP_ROOM = 360, 150, 20, 18


@dataclass(frozen=True)
class MonthStat:
    first_day: dt.date
    books: int
    pages: int
    unknown_pages: int  # books finished that month whose page count is unknown

    def short_name(self, locale: str) -> str:
        return babel_dates.format_date(self.first_day, "LLL", locale=locale)

    def long_name(self, locale: str) -> str:
        return babel_dates.format_date(self.first_day, "LLLL y", locale=locale)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label_x: float
    value: int
    label: str


def month_starts(today: dt.date) -> list[dt.date]:
    """The first days of the last twelve months, oldest first, this month last."""
    year, month = today.year, today.month
    starts = []
    for _ in range(MONTHS):
        starts.append(dt.date(year, month, 1))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return starts[::-1]


def reading_by_month(user_id: int, today: dt.date | None = None) -> list[MonthStat]:
    today = today or dt.date.today()
    starts = month_starts(today)
    query = (
        select(ShelfEntry.finished_on, Book.pages_num)
        .join(Book, Book.id == ShelfEntry.book_id)
        .where(
            ShelfEntry.user_id == user_id,
            ShelfEntry.shelf == "read",
            ShelfEntry.finished_on >= starts[0],
            ShelfEntry.finished_on <= today,
        )
    )
    totals = {start: [0, 0, 0] for start in starts}
    for finished_on, pages in db.session.execute(query):
        month = totals[finished_on.replace(day=1)]
        month[0] += 1
        if pages is None:
            month[2] += 1
        else:
            month[1] += pages
    return [MonthStat(start, *totals[start]) for start in starts]


def bars(months: list[MonthStat], field: str) -> list[Bar]:
    """Bar geometry for one measure ("books" or "pages"), scaled to the busiest month."""
    locale = str(get_locale() or "en")
    values = [getattr(month, field) for month in months]
    top = max(values) or 1
    slot = CHART_WIDTH / len(months)
    room = CHART_HEIGHT - LABEL_HEIGHT - TOP_ROOM
    result = []
    for index, (month, value) in enumerate(zip(months, values, strict=True)):
        height = round(room * value / top, 1)
        x = round(index * slot + slot * 0.15, 1)
        result.append(
            Bar(
                x=x,
                y=round(CHART_HEIGHT - LABEL_HEIGHT - height, 1),
                width=round(slot * 0.7, 1),
                height=height,
                label_x=round(index * slot + slot / 2, 1),
                value=value,
                label=month.short_name(locale),
            )
        )
    return result
