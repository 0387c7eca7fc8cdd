"""A reader's shelves as a Goodreads library export (CSV, which StoryGraph and others import)
and as JSON."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select

from bookshelf.extensions import db
from bookshelf.goodreads.csvfile import COLUMNS, DATE_FORMAT, SHELF_TO_GOODREADS
from bookshelf.models import Book, Rating, ShelfEntry


def shelved_books(user_id: int) -> Iterator[dict[str, Any]]:
    """Each book on the reader's shelves with their rating, in the order they were shelved."""
    query = (
        select(ShelfEntry, Rating.stars, Rating.review)
        .join(Book, Book.id == ShelfEntry.book_id)
        .outerjoin(
            Rating, (Rating.book_id == ShelfEntry.book_id) & (Rating.user_id == ShelfEntry.user_id)
        )
        .where(ShelfEntry.user_id == user_id)
        .order_by(ShelfEntry.id)
    )
    for entry, stars, review in db.session.execute(query):
        book = entry.book
        yield {
            "book_id": book.id,
            "title": book.title,
            "author": book.author,
            "isbn13": book.isbn,
            "pages": book.pages_num,
            "year": book.year,
            "shelf": entry.shelf,
            "shelves": entry.tag_names,
            "started_on": entry.started_on.isoformat() if entry.started_on else None,
            "finished_on": entry.finished_on.isoformat() if entry.finished_on else None,
            "added_on": utc_day(entry.added_at),
            "rating": stars,
            "review": review,
        }


def utc_day(stamp: dt.datetime) -> str:
    """The UTC calendar day (SQLite hands back naive UTC times, PostgreSQL aware ones)."""
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(dt.UTC)
    return stamp.date().isoformat()


def goodreads_date(iso: str | None) -> str:
    if iso is None:
        return ""
    year, month, day = iso.split("-")
    return DATE_FORMAT.replace("%Y", year).replace("%m", month).replace("%d", day)


def csv_row(item: dict[str, Any]) -> list[object]:
    from stdnum import isbn as stdnum_isbn  # only an export needs it (see bookshelf.isbn)

    shelf = SHELF_TO_GOODREADS[item["shelf"]]
    isbn13 = item["isbn13"] or ""
    isbn10 = ""
    if isbn13.startswith("978"):
        isbn10 = stdnum_isbn.to_isbn10(isbn13)
    values = {
        "Book Id": item["book_id"],
        "Title": item["title"],
        "Author": item["author"],
        "ISBN": f'="{isbn10}"',
        "ISBN13": f'="{isbn13}"',
        "My Rating": item["rating"] or 0,
        "Number of Pages": item["pages"] or "",
        "Year Published": "" if item["year"] is None else item["year"],
        "Date Read": goodreads_date(item["finished_on"]),
        "Date Added": goodreads_date(item["added_on"]),
        "Bookshelves": ", ".join([*item["shelves"], shelf]),
        "Exclusive Shelf": shelf,
        "My Review": item["review"] or "",
        "Read Count": 1 if item["shelf"] == "read" else 0,
        "Owned Copies": 0,
    }
    return [values.get(column, "") for column in COLUMNS]


def export_csv(user_id: int) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for item in shelved_books(user_id):
        writer.writerow(csv_row(item))
    return out.getvalue()


def export_json(user_id: int) -> dict[str, Any]:
    return {"format": "bookshelf-shelves-1", "books": list(shelved_books(user_id))}
