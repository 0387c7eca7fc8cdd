"""books: ISBN, publication year and cover image, all optional

Revision ID: 0008_isbn_year_cover
Revises: 0007_book_updated_at
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_isbn_year_cover"
down_revision = "0007_book_updated_at"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, nullable, no default: existing books simply do not know these yet, and
    # a batch rebuild of `books` on SQLite would drop its full-text triggers.
    # ISBN-13 digits only (an ISBN-10 is stored converted); shown hyphenated.
    op.add_column("books", sa.Column("isbn", sa.String(13), nullable=True))
    # Negative years are BC: the catalogue may hold the Iliad.
    op.add_column("books", sa.Column("year", sa.SmallInteger(), nullable=True))
    # SHA-256 (hex) of the re-encoded cover image kept under the instance folder.
    op.add_column("books", sa.Column("cover", sa.String(64), nullable=True))
    op.create_index("ix_books_isbn", "books", ["isbn"])
    op.create_index("ix_books_year_id", "books", ["year", "id"])


def downgrade() -> None:
    op.drop_index("ix_books_year_id", table_name="books")
    op.drop_index("ix_books_isbn", table_name="books")
    # Plain DROP COLUMN (SQLite >= 3.35): a batch rebuild would lose the full-text triggers.
    op.drop_column("books", "cover")
    op.drop_column("books", "year")
    op.drop_column("books", "isbn")
