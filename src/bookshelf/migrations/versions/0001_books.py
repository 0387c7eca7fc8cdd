"""books table, sort indexes and full-text search for both databases

Revision ID: 0001_books
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

from bookshelf.search.schema import PG_SEARCH_VECTOR, SQLITE_FTS_TABLE, SQLITE_FTS_TRIGGERS

revision = "0001_books"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "books",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("title", sa.String(150), nullable=False),
        sa.Column("author", sa.String(50), nullable=False),
        sa.Column("pages_num", sa.Integer(), nullable=False),
        sa.Column("review", sa.Text(), nullable=True),
        sa.Column("date_added", sa.Date(), server_default=sa.func.current_date(), nullable=False),
        sa.CheckConstraint("pages_num > 0", name="ck_books_pages_num_positive"),
    )
    op.create_index("ix_books_title_id", "books", ["title", "id"])
    op.create_index("ix_books_author_id", "books", ["author", "id"])
    op.create_index("ix_books_pages_num_id", "books", ["pages_num", "id"])

    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"ALTER TABLE books ADD COLUMN search_vector tsvector "
            f"GENERATED ALWAYS AS ({PG_SEARCH_VECTOR}) STORED"
        )
        op.execute("CREATE INDEX ix_books_search_vector ON books USING gin (search_vector)")
    elif op.get_bind().dialect.name == "sqlite":
        for statement in [SQLITE_FTS_TABLE, *SQLITE_FTS_TRIGGERS]:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS books_fts")
    op.drop_table("books")
