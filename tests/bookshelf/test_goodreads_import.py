"""Importing a Goodreads library export: parsing its quirks, matching, shelving, all or nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from flask import Flask
from flask_babel import force_locale
from goodreads_files import SAMPLE, generated_export
from sqlalchemy import func, select

from bookshelf.extensions import db
from bookshelf.goodreads.csvfile import GoodreadsFileError, read_rows
from bookshelf.goodreads.importer import GoodreadsImport
from bookshelf.models import Book, Rating, ShelfEntry
from bookshelf_helpers import add_books, create_account


def import_file(app: Flask, user_id: int, data: bytes, *, write: bool = True):
    with app.app_context(), force_locale("en"):
        return GoodreadsImport(user_id, read_rows(data), chunk_size=3).run(write=write)


def shelves_of(app: Flask, user_id: int) -> dict[str, tuple]:
    """Title -> (shelf, finished, added day, named shelves, stars, review) for one reader."""
    with app.app_context():
        entries = db.session.scalars(select(ShelfEntry).where(ShelfEntry.user_id == user_id))
        ratings = {
            rating.book_id: (rating.stars, rating.review)
            for rating in db.session.scalars(select(Rating).where(Rating.user_id == user_id))
        }
        return {
            entry.book.title: (
                entry.shelf,
                entry.finished_on,
                entry.added_at.date(),
                tuple(sorted(entry.tag_names)),
                *ratings.get(entry.book_id, (None, None)),
            )
            for entry in entries
        }


def test_sample_export_rows_parsed_with_goodreads_quirks() -> None:
    rows = {row.line: row for row in read_rows(SAMPLE.read_bytes())}
    hunger = rows[2]
    assert hunger.title == "The Hunger Games (The Hunger Games, #1)"
    assert hunger.isbn == "9780439023481" and hunger.pages == 374 and hunger.year == 2008
    assert hunger.shelf == "read" and hunger.finished_on == dt.date(2021, 3, 14)
    assert hunger.tags == ("favorites", "young-adult") and hunger.stars == 4
    assert hunger.review == 'Gripping, if grim: "may the odds" etc.'
    assert rows[3].pages is None and rows[3].stars is None and rows[3].shelf == "want"
    assert rows[4].isbn is None  # ="" in both columns
    war = rows[5]
    assert war.title == 'War and Peace, "Abridged"' and war.isbn is None  # malformed ISBNs
    assert war.pages is None and war.year == 2007  # a page count of 0 is not a count
    assert war.shelf == "reading" and war.tags == ("classics",)
    assert rows[6].isbn == "9785170878154" and rows[6].tags == ("favorites", "русская-классика")
    crime = rows[7]
    assert crime.isbn is None and crime.year == 1866 and crime.tags == ("favorites",)
    assert rows[8].skip_reason == "no title"
    assert "did-not-finish" in rows[9].skip_reason


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not UTF-8"),
        (b"Title,Author\nA,B\n", "columns Exclusive Shelf are missing"),
        (b'Title,Author,Exclusive Shelf\n"A,B,read\n', "broken"),
        ("Название;Автор\nА;Б\n".encode("cp1251"), "not UTF-8"),
        (b"x" * (20 * 1024 * 1024 + 1), "larger than 20 MB"),
    ],
)
def test_malformed_files_refused_with_a_reason(data: bytes, message: str) -> None:
    with pytest.raises(GoodreadsFileError, match=message):
        read_rows(data)


def test_sample_import_creates_matches_and_shelves(app: Flask) -> None:
    (orwell,) = add_books(
        app, [{"title": "1984", "author": "GEORGE ORWELL", "pages_num": 300, "review": None}]
    )
    (hunger,) = add_books(app, [{"title": "Other title", "author": "X", "pages_num": 1}])
    with app.app_context():
        db.session.get(Book, hunger).isbn = "9780439023481"
        db.session.commit()
    user = create_account(app, "anna")

    preview = import_file(app, user, SAMPLE.read_bytes(), write=False)
    assert (preview.added, preview.matched, len(preview.skipped)) == (4, 2, 2)
    assert shelves_of(app, user) == {}  # the preview wrote nothing

    summary = import_file(app, user, SAMPLE.read_bytes())
    assert (summary.added, summary.matched, len(summary.skipped)) == (4, 2, 2)
    assert dict(summary.skip_reasons).keys() == {
        "no title",
        "shelf “did-not-finish” is not to-read, currently-reading or read",
    }
    shelves = shelves_of(app, user)
    assert shelves["Other title"][:5] == (
        "read",
        dt.date(2021, 3, 14),
        dt.date(2021, 2, 1),
        ("favorites", "young-adult"),
        4,
    )  # matched by ISBN although the title differs
    assert shelves["1984"][:5] == (
        "read",
        dt.date(2020, 8, 30),
        dt.date(2020, 7, 19),
        ("classics", "dystopia"),
        5,
    )  # matched by title and author, case aside
    assert shelves["Мастер и Маргарита"][3:] == (
        ("favorites", "русская-классика"),
        5,
        "Перечитываю каждые пару лет.",
    )
    assert shelves['War and Peace, "Abridged"'][:4] == (
        "reading",
        None,
        dt.date(2023, 1, 10),
        ("classics",),
    )
    assert shelves["Lord of the Flies"][0] == "want"
    with app.app_context():
        book = db.session.scalar(select(Book).where(Book.title == "Lord of the Flies"))
        assert book.pages_num is None and book.isbn == "9780140283334" and book.year == 1954
        assert book.added_by_id == user
        assert db.session.get(Book, orwell).pages_num == 300  # an existing book is not changed

    again = import_file(app, user, SAMPLE.read_bytes())  # importing twice changes nothing
    assert (again.added, again.matched) == (0, 6)
    assert shelves_of(app, user) == shelves
    with app.app_context():
        assert db.session.scalar(select(func.count(Book.id))) == 6


def test_failed_import_changes_nothing(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    user = create_account(app, "anna")
    rows_seen = []

    def fail_on_second_chunk(self, chunk, summary, write):
        rows_seen.append(len(chunk))
        if len(rows_seen) == 2:
            raise RuntimeError("disk full")
        return original(self, chunk, summary, write)

    original = GoodreadsImport.import_chunk
    monkeypatch.setattr(GoodreadsImport, "import_chunk", fail_on_second_chunk)
    with pytest.raises(RuntimeError, match="disk full"):
        import_file(app, user, SAMPLE.read_bytes())
    assert rows_seen == [3, 3]
    with app.app_context():
        assert db.session.scalar(select(func.count(Book.id))) == 0
    assert shelves_of(app, user) == {}


@pytest.mark.slow
def test_generated_ten_thousand_rows_import(app: Flask) -> None:
    user = create_account(app, "anna")
    data = generated_export(10_000)
    with app.app_context(), force_locale("en"):
        summary = GoodreadsImport(user, read_rows(data)).run(write=True)
    assert (summary.added, summary.matched, len(summary.skipped)) == (10_000, 0, 0)
    other = create_account(app, "boris")
    with app.app_context(), force_locale("en"):
        summary = GoodreadsImport(other, read_rows(data)).run(write=True)
        assert (summary.added, summary.matched) == (0, 10_000)
        assert db.session.scalar(select(func.count(Book.id)).where(Book.pages_num.is_(None))) == 909
        counts = db.session.execute(
            select(ShelfEntry.user_id, func.count()).group_by(ShelfEntry.user_id)
        ).all()
    assert sorted(count for _user, count in counts) == [10_000, 10_000]


def test_cli_imports_with_summary_and_refuses_bad_files(app: Flask, tmp_path: Path) -> None:
    create_account(app, "anna")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import-goodreads", str(SAMPLE), "--user", "anna"])
    assert result.exit_code == 0, result.output
    assert "6 books added, 0 matched, 2 skipped" in result.output
    assert "skipped 1: no title" in result.output
    broken = tmp_path / "library.csv"
    broken.write_bytes(b"Title,Author\nA,B\n")
    result = runner.invoke(args=["import-goodreads", str(broken), "--user", "anna"])
    assert result.exit_code == 1
    assert "columns Exclusive Shelf are missing" in result.output
    assert "Nothing was imported" in result.output
    result = runner.invoke(args=["import-goodreads", str(SAMPLE), "--user", "nobody"])
    assert result.exit_code == 1 and "No user named 'nobody'" in result.output
