"""Database models (SQLAlchemy 2 typed mappings). The schema itself is owned by migrations."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Date, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from bookshelf.extensions import db

TITLE_MAX = 150
AUTHOR_MAX = 50
PAGES_MAX = 100_000
REVIEW_MAX = 20_000


class Book(db.Model):
    __tablename__ = "books"
    __table_args__ = (
        CheckConstraint("pages_num > 0", name="ck_books_pages_num_positive"),
        # One index per sort order, so keyset pagination never scans the table.
        Index("ix_books_title_id", "title", "id"),
        Index("ix_books_author_id", "author", "id"),
        Index("ix_books_pages_num_id", "pages_num", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    author: Mapped[str] = mapped_column(String(AUTHOR_MAX))
    pages_num: Mapped[int]
    review: Mapped[str | None] = mapped_column(Text)
    # Evaluated by the database for each row, never once at import.
    date_added: Mapped[dt.date] = mapped_column(Date, server_default=func.current_date())

    def __repr__(self) -> str:
        return f"<Book {self.id} {self.title!r}>"
