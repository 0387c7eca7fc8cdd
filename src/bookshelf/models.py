"""Database models (SQLAlchemy 2 typed mappings). The schema itself is owned by migrations."""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any

from flask import current_app
from flask_login import AnonymousUserMixin, UserMixin
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from bookshelf.extensions import db
from bookshelf.isbn import to_isbn13
from bookshelf.text import name_key
from bookshelf.wordforms import keys_for

TITLE_MAX = 150
AUTHOR_MAX = 50
PAGES_MAX = 100_000
REVIEW_MAX = 20_000
USERNAME_MAX = 30
TOKEN_NAME_MAX = 60
EMAIL_MAX = 254
SKELETON_MAX = 255
AUTHOR_KEY_MAX = 200  # NFKC and case folding may lengthen a name (ß -> ss)


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(USERNAME_MAX))
    # NFKC-normalised, case-folded copy with a unique index: "Anna", "ＡＮＮＡ" and "anna" are
    # one account on both databases.
    username_key: Mapped[str] = mapped_column(String(USERNAME_MAX), unique=True)
    # What the name looks like (Unicode confusables): new names may not look like an old one.
    username_skeleton: Mapped[str | None] = mapped_column(String(SKELETON_MAX), index=True)
    # Set only once the owner followed the link sent to it; used for password resets.
    email: Mapped[str | None] = mapped_column(String(EMAIL_MAX), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    books: Mapped[list[Book]] = relationship(back_populates="added_by", passive_deletes=True)

    # The signed-in session this object was loaded for (see bookshelf.users.sessions): Flask-Login
    # stores get_id() in the cookies, so the cookies name a revocable session, not the user.
    # Plain attributes, not columns: set per request by the user loader.
    session_key = None
    session_id = None

    def get_id(self) -> str | None:
        return self.session_key  # type: ignore[no-any-return]

    @staticmethod
    def key_for(username: str) -> str:
        return unicodedata.normalize("NFKC", username.strip()).casefold()

    def set_password(self, password: str) -> None:
        # scrypt, salted; the cost is configurable so that test suites can run cheaper.
        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def can_change(self, book: Book) -> bool:
        return self.is_admin or book.added_by_id == self.id

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username!r}>"


class ApiToken(db.Model):
    """A personal API token; only its SHA-256 is stored, the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(TOKEN_NAME_MAX))
    # High-entropy secrets need no slow KDF: a plain hash, looked up by a unique index.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))  # shown in the list to tell tokens apart
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship(lazy="joined")


class UserSession(db.Model):
    """One signed-in browser: the cookies carry a random key whose SHA-256 is stored here."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    user_agent: Mapped[str] = mapped_column(String(120), default="")
    ip: Mapped[str] = mapped_column(String(45), default="")

    user: Mapped[User] = relationship(lazy="joined")


class AccountToken(db.Model):
    """A single-use link sent by email (password reset, address check); only its hash is kept."""

    __tablename__ = "account_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(String(EMAIL_MAX))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship(lazy="joined")


class LoginFailures(db.Model):
    """Failed sign-ins per username (known or not), shared by every process and address."""

    __tablename__ = "login_failures"

    # SHA-256 of the normalised name: people type passwords into the username field too.
    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    failures: Mapped[int] = mapped_column(default=0)


class Visitor(AnonymousUserMixin):
    """Someone not signed in: may browse, never change."""

    is_admin = False

    def can_change(self, book: Book) -> bool:
        return False


def _search_keys(context: Any) -> str | None:
    params = context.get_current_parameters()
    return keys_for(params.get("title"), params.get("author"))


def _author_key(context: Any) -> str | None:
    author = context.get_current_parameters().get("author")
    return None if author is None else name_key(author)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def last_modified(updated_at: dt.datetime | None, date_added: dt.date) -> dt.datetime:
    """A book's updated_at in UTC; a row written by plain SQL without one counts from
    date_added. For a Book (Book.last_modified) and for a row of its columns alike."""
    if updated_at is None:
        return dt.datetime.combine(date_added, dt.time(), dt.UTC)
    if updated_at.tzinfo is None:
        return updated_at.replace(tzinfo=dt.UTC)
    return updated_at.astimezone(dt.UTC)


class Book(db.Model):
    __tablename__ = "books"
    __table_args__ = (
        CheckConstraint("pages_num > 0", name="ck_books_pages_num_positive"),
        # One index per sort order, so keyset pagination never scans the table (pages sort
        # as coalesce(pages_num, 0): an expression index made by its migration).
        Index("ix_books_title_id", "title", "id"),
        Index("ix_books_author_id", "author", "id"),
        Index("ix_books_year_id", "year", "id"),
        Index("ix_books_rating_avg_id", "rating_avg", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    author: Mapped[str] = mapped_column(String(AUTHOR_MAX))
    # None when unknown (books imported from libraries that lack it); shown as "unknown".
    pages_num: Mapped[int | None]
    review: Mapped[str | None] = mapped_column(Text)
    # Evaluated by the database for each row, never once at import.
    date_added: Mapped[dt.date] = mapped_column(Date, server_default=func.current_date())
    added_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    added_by: Mapped[User | None] = relationship(back_populates="books", lazy="joined")
    # True once the account that added the book was deleted (seeded books never had one).
    added_by_deleted: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # Transliterated spellings of title and author for search; kept current on update by
    # bookshelf.search.indexing.
    search_keys: Mapped[str | None] = mapped_column(Text, default=_search_keys)
    # Every insert and update through the app; PostgreSQL's default covers COPY.
    updated_at: Mapped[dt.datetime | None] = mapped_column(
        DateTime(timezone=True), default=_utc_now, onupdate=_utc_now
    )
    # Optional facts many books lack: unknown stays NULL, never a made-up value.
    # ISBN-13 digits (an ISBN-10 is stored converted); shown hyphenated.
    isbn: Mapped[str | None] = mapped_column(String(13), index=True)
    # Publication year, 1 to next year (bookshelf.books.rules); unknown stays NULL.
    year: Mapped[int | None] = mapped_column(SmallInteger)
    # SHA-256 of the stored cover image (files under the instance folder), or no cover.
    cover: Mapped[str | None] = mapped_column(String(64))
    # Readers' stars, kept by triggers on `ratings`; rating_avg is 0 while nobody rated it
    # (shown as "no ratings", never as a score) so that it can be sorted on with an index.
    rating_count: Mapped[int] = mapped_column(default=0, server_default="0")
    rating_sum: Mapped[int] = mapped_column(default=0, server_default="0")
    rating_avg: Mapped[float] = mapped_column(Float, default=0, server_default="0")
    # The author's name as compared (bookshelf.text.name_key): author pages and the author
    # index look books up by it. Set on insert, and by update() when the author changes.
    author_key: Mapped[str | None] = mapped_column(String(AUTHOR_KEY_MAX), default=_author_key)

    def update(self, fields: dict[str, object]) -> None:
        """Set validated fields (from the HTML form or the API); an empty review is no review,
        an empty ISBN no ISBN, and an ISBN is kept as the 13 digits of its ISBN-13."""
        for name in ("title", "author", "pages_num", "review", "year"):
            if name in fields:
                setattr(self, name, fields[name])
        self.review = self.review or None
        if "author" in fields:
            self.author_key = name_key(self.author)
        if "isbn" in fields:
            typed = fields["isbn"]
            self.isbn = to_isbn13(str(typed)) if typed else None

    @property
    def last_modified(self) -> dt.datetime:
        return last_modified(self.updated_at, self.date_added)

    def __repr__(self) -> str:
        return f"<Book {self.id} {self.title!r}>"


# --- A reader's own shelves and ratings --------------------------------------------------

SHELVES = ("want", "reading", "read")  # the exclusive shelves: a book is on at most one
TAG_MAX = 40
TAGS_PER_BOOK_MAX = 20
READER_REVIEW_MAX = 2000
STARS_MIN, STARS_MAX = 1, 5


class ShelfEntry(db.Model):
    """A book on one of a reader's exclusive shelves, with the dates of reading it."""

    __tablename__ = "shelf_entries"
    __table_args__ = (
        UniqueConstraint("user_id", "book_id", name="uq_shelf_entries_user_book"),
        CheckConstraint("shelf IN ('want', 'reading', 'read')", name="ck_shelf_entries_shelf"),
        CheckConstraint(
            "finished_on IS NULL OR started_on IS NULL OR finished_on >= started_on",
            name="ck_shelf_entries_dates_in_order",
        ),
        Index("ix_shelf_entries_user_shelf", "user_id", "shelf", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    book_id: Mapped[int] = mapped_column(ForeignKey("books.id", ondelete="CASCADE"), index=True)
    shelf: Mapped[str] = mapped_column(String(8))
    started_on: Mapped[dt.date | None] = mapped_column(Date)
    finished_on: Mapped[dt.date | None] = mapped_column(Date)
    added_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utc_now)

    book: Mapped[Book] = relationship(lazy="joined")
    tags: Mapped[list[Tag]] = relationship(
        secondary="shelf_entry_tags", order_by="Tag.name_key", lazy="selectin"
    )

    @property
    def tag_names(self) -> list[str]:
        return [tag.name for tag in self.tags]


class Tag(db.Model):
    """A reader's own named shelf; names are compared after NFKC and case folding."""

    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("user_id", "name_key", name="uq_tags_user_name_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(TAG_MAX))
    # Text: NFKC and case folding can make a name several times longer ("ﬃ" -> "ffi").
    name_key: Mapped[str] = mapped_column(Text)

    @staticmethod
    def key_for(name: str) -> str:
        return unicodedata.normalize("NFKC", name.strip()).casefold()


shelf_entry_tags = Table(
    "shelf_entry_tags",
    db.metadata,
    Column("entry_id", ForeignKey("shelf_entries.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Rating(db.Model):
    """One reader's stars for one book, with an optional short review of their own.

    The book's rating_count, rating_sum and rating_avg follow these rows by database triggers,
    so a cascade (a deleted account) keeps them right too.
    """

    __tablename__ = "ratings"
    __table_args__ = (
        UniqueConstraint("user_id", "book_id", name="uq_ratings_user_book"),
        CheckConstraint("stars BETWEEN 1 AND 5", name="ck_ratings_stars_1_to_5"),
        CheckConstraint(
            f"review IS NULL OR length(review) <= {READER_REVIEW_MAX}",
            name="ck_ratings_review_length",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    book_id: Mapped[int] = mapped_column(ForeignKey("books.id", ondelete="CASCADE"), index=True)
    stars: Mapped[int] = mapped_column(SmallInteger)
    review: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=_utc_now, onupdate=_utc_now
    )

    user: Mapped[User] = relationship(lazy="joined")
