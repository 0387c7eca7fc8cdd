"""Importing a Goodreads export into one reader's shelves, in chunks of one transaction.

Every chunk is matched against the catalogue with one query by ISBN and one by title, and
written with one bulk statement per table, so the cost per row stays flat at any size. The
whole import is a single transaction: the chunks are flushed, and committed together at the
end, so a failure half-way leaves the database as it was. A preview runs the same matching
without writing anything.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Table, delete, insert, select, update

from bookshelf.extensions import db
from bookshelf.goodreads.csvfile import GoodreadsRow, book_key, iter_chunks
from bookshelf.models import READER_REVIEW_MAX, Book, Rating, ShelfEntry, Tag, shelf_entry_tags
from bookshelf.shelves.service import drop_unused_tags

CHUNK_SIZE = 1000
PREVIEW_ROWS = 10


@dataclass(frozen=True)
class RowOutcome:
    line: int
    title: str
    author: str
    action: str  # "new", "matched" or "skipped"
    reason: str | None = None


@dataclass
class ImportSummary:
    total: int = 0
    added: int = 0
    matched: int = 0
    skipped: list[RowOutcome] = field(default_factory=list)
    notes: Counter[str] = field(default_factory=Counter)  # fields left out, by reason
    first_rows: list[RowOutcome] = field(default_factory=list)

    @property
    def skip_reasons(self) -> list[tuple[str, int]]:
        return Counter(outcome.reason or "" for outcome in self.skipped).most_common()

    def record(self, outcome: RowOutcome) -> None:
        if outcome.action == "new":
            self.added += 1
        elif outcome.action == "matched":
            self.matched += 1
        else:
            self.skipped.append(outcome)
        if len(self.first_rows) < PREVIEW_ROWS:
            self.first_rows.append(outcome)


Progress = Callable[[int], None]


def insert_rows(table: Table, rows: list[dict[str, Any]]) -> None:
    """Rows into a table in as few statements as SQLAlchemy's "insertmanyvalues" makes (a
    VALUES list of up to 1,000 rows each), rather than one statement per row: the catalogue's
    statement-level triggers (its count, the typo dictionary) then run once per chunk, not
    once per book. The RETURNING clause is what makes SQLAlchemy batch them; the ids are read
    back with the batched title and author query anyway.

    Core rather than the ORM's bulk insert, which splits the rows into one statement per
    pattern of NULLs.
    """
    db.session.execute(insert(table).returning(table.c.id), rows)


class GoodreadsImport:
    """One file's rows for one reader; run(write=False) is the preview."""

    def __init__(self, user_id: int, rows: list[GoodreadsRow], chunk_size: int = CHUNK_SIZE):
        self.user_id = user_id
        self.rows = rows
        self.chunk_size = chunk_size
        # Books found or created so far in this file, so that a repeated row finds its book.
        self.by_isbn: dict[str, int] = {}
        self.by_key: dict[tuple[str, str], int] = {}
        self.pending: set[tuple[str, str]] = set()  # books a preview would create
        self.entry_ids: dict[int, int] = {}  # book id -> the reader's shelf entry id
        self.summary = ImportSummary(total=len(rows))

    def run(self, *, write: bool, progress: Progress | None = None) -> ImportSummary:
        for done in self.run_steps(write=write):
            if progress is not None:
                progress(done)
        return self.summary

    def run_steps(self, *, write: bool) -> Iterator[int]:
        """The import, yielding the number of rows of each chunk once it is done.

        With `write`, each chunk is flushed and the whole import committed after the last one;
        any failure rolls everything back.
        """
        self.summary = ImportSummary(total=len(self.rows))
        try:
            for chunk in iter_chunks(self.rows, self.chunk_size):
                self.import_chunk(chunk, self.summary, write)
                if write:
                    db.session.flush()
                yield len(chunk)
            if write:
                drop_unused_tags(self.user_id)
                db.session.commit()
        except BaseException:
            # Also when the reader of the steps stops early (GeneratorExit): no half import.
            db.session.rollback()
            raise

    # --- One chunk: match, create, shelve, rate --------------------------------------

    def import_chunk(self, chunk: list[GoodreadsRow], summary: ImportSummary, write: bool) -> None:
        usable = [row for row in chunk if row.skip_reason is None]
        self.match_by_isbn(usable)
        self.match_by_title(usable)
        actions = self.create_books(usable, write)
        for row in chunk:
            action = "skipped" if row.skip_reason else actions[row.line]
            summary.record(RowOutcome(row.line, row.title, row.author, action, row.skip_reason))
        if write:
            placed = self.shelve(usable, summary)
            self.rate(usable, summary)
            self.tag(placed)

    def book_for(self, row: GoodreadsRow) -> int | None:
        if row.isbn and row.isbn in self.by_isbn:
            return self.by_isbn[row.isbn]
        return self.by_key.get(row.match_key)

    def remember(self, row: GoodreadsRow, book_id: int) -> None:
        if row.isbn:
            self.by_isbn.setdefault(row.isbn, book_id)
        self.by_key.setdefault(row.match_key, book_id)

    def match_by_isbn(self, rows: list[GoodreadsRow]) -> None:
        wanted = {row.isbn for row in rows if row.isbn and row.isbn not in self.by_isbn}
        if not wanted:
            return
        found: dict[str, int] = {}
        for book_id, isbn in db.session.execute(
            select(Book.id, Book.isbn).where(Book.isbn.in_(wanted)).order_by(Book.id)
        ):
            found.setdefault(isbn, book_id)
        for row in rows:
            if row.isbn in found:
                self.remember(row, found[row.isbn])  # type: ignore[index]

    def match_by_title(self, rows: list[GoodreadsRow]) -> None:
        """Title and author compared after NFKC and case folding.

        The query narrows by the titles as written and in NFKC form (the title index serves
        it); the comparison itself is done here on the folded keys.
        """
        unmatched = [row for row in rows if self.book_for(row) is None]
        titles: set[str] = set()
        for row in unmatched:
            titles.update((row.title, unicodedata.normalize("NFKC", row.title)))
        if not titles:
            return
        found: dict[tuple[str, str], int] = {}
        for book_id, title, author in db.session.execute(
            select(Book.id, Book.title, Book.author).where(Book.title.in_(titles)).order_by(Book.id)
        ):
            found.setdefault(book_key(title, author), book_id)
        for row in unmatched:
            if row.match_key in found:
                self.remember(row, found[row.match_key])

    def create_books(self, rows: list[GoodreadsRow], write: bool) -> dict[int, str]:
        """ "new" or "matched" per line; the books still unknown are inserted in one statement."""
        actions: dict[int, str] = {}
        new_rows: list[GoodreadsRow] = []
        for row in rows:
            if self.book_for(row) is not None or row.match_key in self.pending:
                actions[row.line] = "matched"
            else:
                actions[row.line] = "new"
                self.pending.add(row.match_key)
                new_rows.append(row)
        if write and new_rows:
            values = [
                {
                    "title": row.title,
                    "author": row.author,
                    "pages_num": row.pages,
                    "isbn": row.isbn,
                    "year": row.year,
                    "added_by_id": self.user_id,
                }
                for row in new_rows
            ]
            # The new ids are read back with the batched title and author query.
            insert_rows(Book.__table__, values)
            self.match_by_title(new_rows)
        return actions

    def shelve(self, rows: list[GoodreadsRow], summary: ImportSummary) -> dict[int, GoodreadsRow]:
        """Put each book on its shelf; a later row of the same book wins. Entry id -> row."""
        latest: dict[int, GoodreadsRow] = {}
        for row in rows:
            latest[self.book_for(row)] = row  # type: ignore[index]
        self.load_entries(set(latest) - set(self.entry_ids))
        tomorrow = dt.date.today() + dt.timedelta(days=1)
        updates, inserts = [], []
        for book_id, row in latest.items():
            finished = row.finished_on
            if finished is not None and finished > tomorrow:
                summary.notes[str(_l("date read in the future, left out"))] += 1
                finished = None
            values = {"shelf": row.shelf, "finished_on": finished, "started_on": None}
            if row.added_on is not None:
                values["added_at"] = dt.datetime.combine(row.added_on, dt.time(), dt.UTC)
            if book_id in self.entry_ids:
                updates.append({"id": self.entry_ids[book_id], **values})
            else:
                values.setdefault("added_at", dt.datetime.now(dt.UTC))
                inserts.append({"user_id": self.user_id, "book_id": book_id, **values})
        if updates:
            db.session.execute(update(ShelfEntry), updates)
        if inserts:
            insert_rows(ShelfEntry.__table__, inserts)
            self.load_entries({values["book_id"] for values in inserts})
        return {self.entry_ids[book_id]: row for book_id, row in latest.items()}

    def load_entries(self, book_ids: set[int]) -> None:
        if not book_ids:
            return
        query = select(ShelfEntry.book_id, ShelfEntry.id).where(
            ShelfEntry.user_id == self.user_id, ShelfEntry.book_id.in_(book_ids)
        )
        self.entry_ids.update(dict(db.session.execute(query).all()))

    def rate(self, rows: list[GoodreadsRow], summary: ImportSummary) -> None:
        latest: dict[int, GoodreadsRow] = {}
        for row in rows:
            if row.stars is None:
                if row.review:
                    summary.notes[str(_l("review without a rating, left out"))] += 1
                continue
            latest[self.book_for(row)] = row  # type: ignore[index]
        if not latest:
            return
        existing = dict(
            db.session.execute(
                select(Rating.book_id, Rating.id).where(
                    Rating.user_id == self.user_id, Rating.book_id.in_(latest)
                )
            ).all()
        )
        now = dt.datetime.now(dt.UTC)
        updates, inserts = [], []
        for book_id, row in latest.items():
            review = row.review
            if review and len(review) > READER_REVIEW_MAX:
                summary.notes[
                    str(
                        _l("review longer than %(num)d characters, left out", num=READER_REVIEW_MAX)
                    )
                ] += 1
                review = None
            values = {"stars": row.stars, "review": review, "updated_at": now}
            if book_id in existing:
                updates.append({"id": existing[book_id], **values})
            else:
                inserts.append({"user_id": self.user_id, "book_id": book_id, **values})
        if updates:
            db.session.execute(update(Rating), updates)
        if inserts:
            insert_rows(Rating.__table__, inserts)

    def tag(self, placed: dict[int, GoodreadsRow]) -> None:
        """The named shelves of each placed entry become exactly those in the file."""
        if not placed:
            return
        wanted: dict[str, str] = {}
        for row in placed.values():
            for name in row.tags:
                wanted.setdefault(Tag.key_for(name), name)
        tag_ids = self.tag_ids(wanted)
        db.session.execute(delete(shelf_entry_tags).where(shelf_entry_tags.c.entry_id.in_(placed)))
        links = [
            {"entry_id": entry_id, "tag_id": tag_ids[key]}
            for entry_id, row in placed.items()
            for key in dict.fromkeys(Tag.key_for(name) for name in row.tags)
        ]
        if links:
            db.session.execute(insert(shelf_entry_tags), links)

    def tag_ids(self, wanted: dict[str, str]) -> dict[str, int]:
        if not wanted:
            return {}
        query = select(Tag.name_key, Tag.id).where(
            Tag.user_id == self.user_id, Tag.name_key.in_(wanted)
        )
        found = dict(db.session.execute(query).all())
        missing = [
            {"user_id": self.user_id, "name": name, "name_key": key}
            for key, name in wanted.items()
            if key not in found
        ]
        if missing:
            insert_rows(Tag.__table__, missing)
            found = dict(db.session.execute(query).all())
        return found
