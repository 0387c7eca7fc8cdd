"""Shelving and rating books for one reader: the rules both the pages and the API follow.

No HTTP here: bad input is a ShelfError with a message the caller shows or sends.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, delete, func, select
from sqlalchemy.exc import IntegrityError

from bookshelf.extensions import db
from bookshelf.models import (
    SHELVES,
    TAG_MAX,
    TAGS_PER_BOOK_MAX,
    Book,
    Rating,
    ShelfEntry,
    Tag,
    User,
    shelf_entry_tags,
)
from bookshelf.text import BLANK_CHARACTERS

SHELF_LABELS = {
    "want": _l("Want to read"),
    "reading": _l("Reading"),
    "read": _l("Read"),
}
MY_BOOKS_PER_PAGE = 50
BOOK_REVIEWS_SHOWN = 20
# The signed-in home page: a glance, with links to the whole lists.
RECENT_RATINGS_SHOWN = 5
HOME_READING_SHOWN = 5


class ShelfError(ValueError):
    """Input the shelves refuse; `field` names the form field or API property at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Placement:
    """Where a reader puts a book: a shelf (or none) with dates and named shelves."""

    shelf: str | None
    started_on: dt.date | None = None
    finished_on: dt.date | None = None
    tags: tuple[str, ...] = ()

    def check(self) -> None:
        """The rules across fields; each field's own format is checked where it is read."""
        if self.shelf is not None and self.shelf not in SHELVES:
            raise ShelfError("shelf", str(_l("Choose one of the shelves.")))
        if self.shelf is None and self.tags:
            raise ShelfError("tags", str(_l("Put the book on a shelf before naming shelves.")))
        if self.started_on and self.shelf not in ("reading", "read"):
            raise ShelfError("started_on", str(_l("A start date goes with Reading or Read.")))
        if self.finished_on and self.shelf != "read":
            raise ShelfError("finished_on", str(_l("A finish date goes with the Read shelf.")))
        if self.started_on and self.finished_on and self.finished_on < self.started_on:
            raise ShelfError("finished_on", str(_l("The finish date is before the start date.")))
        tomorrow = dt.date.today() + dt.timedelta(days=1)  # a reader a time zone ahead
        for field, day in (("started_on", self.started_on), ("finished_on", self.finished_on)):
            if day is not None and day > tomorrow:
                raise ShelfError(field, str(_l("That date is in the future.")))


def parse_tags(text: str) -> tuple[str, ...]:
    """Comma-separated shelf names: blanks dropped, one of each (ignoring case), in order."""
    names: dict[str, str] = {}
    for raw in text.split(","):
        name = " ".join(raw.strip(BLANK_CHARACTERS).split())
        if not name:
            continue
        if len(name) > TAG_MAX:
            raise ShelfError(
                "tags", str(_l("A shelf name is %(num)d characters at most.", num=TAG_MAX))
            )
        if any(ord(char) < 32 for char in name):
            raise ShelfError("tags", str(_l("Remove the invisible characters.")))
        names.setdefault(Tag.key_for(name), name)
    if len(names) > TAGS_PER_BOOK_MAX:
        raise ShelfError(
            "tags",
            str(_l("A book can be on %(num)d named shelves at most.", num=TAGS_PER_BOOK_MAX)),
        )
    return tuple(names.values())


def entry_for(user_id: int, book_id: int) -> ShelfEntry | None:
    return db.session.scalar(
        select(ShelfEntry).where(ShelfEntry.user_id == user_id, ShelfEntry.book_id == book_id)
    )


def place_book(user_id: int, book: Book, placement: Placement) -> ShelfEntry | None:
    """Put the book where the reader says (or off every shelf); commits. None when removed.

    Two requests of one reader at once may both create the entry or a named shelf: the
    database's unique constraints stop the second, which then runs again and finds them.
    """
    placement.check()
    try:
        return write_placement(user_id, book, placement)
    except IntegrityError:
        db.session.rollback()
        return write_placement(user_id, book, placement)


def write_placement(user_id: int, book: Book, placement: Placement) -> ShelfEntry | None:
    entry = entry_for(user_id, book.id)
    if placement.shelf is None:
        if entry is not None:
            db.session.delete(entry)
            db.session.flush()
            drop_unused_tags(user_id)
        db.session.commit()
        return None
    if entry is None:
        entry = ShelfEntry(user_id=user_id, book_id=book.id)
        db.session.add(entry)
    entry.shelf = placement.shelf
    entry.started_on = placement.started_on
    entry.finished_on = placement.finished_on
    entry.tags = tags_named(user_id, placement.tags)
    db.session.flush()
    drop_unused_tags(user_id)
    db.session.commit()
    return entry


def tags_named(user_id: int, names: Iterable[str]) -> list[Tag]:
    """The reader's named shelves by these names, created when new (the first spelling stays)."""
    wanted = {Tag.key_for(name): name for name in names}
    if not wanted:
        return []
    found = {
        tag.name_key: tag
        for tag in db.session.scalars(
            select(Tag).where(Tag.user_id == user_id, Tag.name_key.in_(wanted))
        )
    }
    for key, name in wanted.items():
        if key not in found:
            found[key] = Tag(user_id=user_id, name=name, name_key=key)
            db.session.add(found[key])
    return [found[key] for key in wanted]


def drop_unused_tags(user_id: int) -> None:
    used = select(shelf_entry_tags.c.tag_id)
    db.session.execute(delete(Tag).where(Tag.user_id == user_id, Tag.id.not_in(used)))


def shelf_counts(user_id: int) -> dict[str, int]:
    rows = db.session.execute(
        select(ShelfEntry.shelf, func.count())
        .where(ShelfEntry.user_id == user_id)
        .group_by(ShelfEntry.shelf)
    )
    counts = dict.fromkeys(SHELVES, 0)
    counts.update({shelf: count for shelf, count in rows})
    return counts


def tag_counts(user_id: int) -> list[tuple[str, int]]:
    rows = db.session.execute(
        select(Tag.name, func.count())
        .join(shelf_entry_tags, shelf_entry_tags.c.tag_id == Tag.id)
        .where(Tag.user_id == user_id)
        .group_by(Tag.id, Tag.name)
        .order_by(Tag.name_key)
    )
    return [(name, count) for name, count in rows]


def filtered_entries(user_id: int, shelf: str | None, tag: str | None) -> Select[Any]:
    query = select(ShelfEntry).where(ShelfEntry.user_id == user_id)
    if shelf is not None:
        query = query.where(ShelfEntry.shelf == shelf)
    if tag:
        query = query.join(shelf_entry_tags).join(Tag).where(Tag.name_key == Tag.key_for(tag))
    return query


def count_on_shelves(user_id: int, shelf: str | None, tag: str | None) -> int:
    query = filtered_entries(user_id, shelf, tag).with_only_columns(func.count(ShelfEntry.id))
    return db.session.scalar(query) or 0


def books_on_shelves(
    user_id: int,
    shelf: str | None,
    tag: str | None,
    page: int = 1,
    per_page: int = MY_BOOKS_PER_PAGE,
) -> tuple[list[ShelfEntry], bool]:
    """The reader's shelved books, newest on the shelf first, and whether more pages follow."""
    query = filtered_entries(user_id, shelf, tag)
    query = query.order_by(ShelfEntry.added_at.desc(), ShelfEntry.id.desc())
    query = query.offset((page - 1) * per_page).limit(per_page + 1)
    entries = list(db.session.scalars(query).unique())
    return entries[:per_page], len(entries) > per_page


def merge_reading_list(user_id: int, book_ids: list[int]) -> int:
    """Put the books of a visitor's reading list on Want to read; commits. How many were new.

    Books already on one of the reader's shelves stay where they are; deleted books are skipped.
    """
    if not book_ids:
        return 0
    existing = set(db.session.scalars(select(Book.id).where(Book.id.in_(book_ids))))
    shelved = set(
        db.session.scalars(
            select(ShelfEntry.book_id).where(
                ShelfEntry.user_id == user_id, ShelfEntry.book_id.in_(book_ids)
            )
        )
    )
    new = [book_id for book_id in book_ids if book_id in existing and book_id not in shelved]
    now = dt.datetime.now(dt.UTC)
    for offset, book_id in enumerate(new):
        # Later in the list, newer on the shelf: the order the visitor added them is kept.
        added = now - dt.timedelta(microseconds=len(new) - offset)
        db.session.add(ShelfEntry(user_id=user_id, book_id=book_id, shelf="want", added_at=added))
    try:
        db.session.commit()
    except IntegrityError:  # the same account signed in twice at once: the other one merged
        db.session.rollback()
        return 0
    return len(new)


# --- Ratings ----------------------------------------------------------------------------


def rating_for(user_id: int, book_id: int) -> Rating | None:
    return db.session.scalar(
        select(Rating).where(Rating.user_id == user_id, Rating.book_id == book_id)
    )


def rate_book(user_id: int, book: Book, stars: int, review: str | None) -> Rating:
    """Set the reader's stars and own review of the book; commits (once again after losing a
    race with the same reader's other request to create the rating)."""
    try:
        return write_rating(user_id, book, stars, review)
    except IntegrityError:
        db.session.rollback()
        return write_rating(user_id, book, stars, review)


def write_rating(user_id: int, book: Book, stars: int, review: str | None) -> Rating:
    rating = rating_for(user_id, book.id)
    if rating is None:
        rating = Rating(user_id=user_id, book_id=book.id)
        db.session.add(rating)
    rating.stars = stars
    rating.review = review or None
    db.session.commit()
    return rating


def unrate_book(user_id: int, book_id: int) -> bool:
    deleted = db.session.execute(
        delete(Rating).where(Rating.user_id == user_id, Rating.book_id == book_id)
    ).rowcount
    db.session.commit()
    return bool(deleted)


@dataclass(frozen=True)
class RecentRating:
    book_id: int
    title: str
    author: str
    stars: int
    reader: str


def recent_ratings(limit: int = RECENT_RATINGS_SHOWN) -> list[RecentRating]:
    """What readers rated last, newest first: the home page's "Recently rated"."""
    rows = db.session.execute(
        select(Rating.book_id, Book.title, Book.author, Rating.stars, User.username)
        .join(Book, Book.id == Rating.book_id)
        .join(User, User.id == Rating.user_id)
        .order_by(Rating.updated_at.desc(), Rating.id.desc())
        .limit(limit)
    )
    return [RecentRating(*row) for row in rows]


def reader_reviews(book_id: int) -> list[Rating]:
    """Readers' own reviews of the book, the latest first."""
    return list(
        db.session.scalars(
            select(Rating)
            .where(Rating.book_id == book_id, Rating.review.is_not(None))
            .order_by(Rating.updated_at.desc(), Rating.id.desc())
            .limit(BOOK_REVIEWS_SHOWN)
        )
    )
