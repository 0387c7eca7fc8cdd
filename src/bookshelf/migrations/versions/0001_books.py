"""books table (as in the notes), sort indexes and full-text search for both databases

Revision ID: 0001_books
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_books"
down_revision = None
branch_labels = None
depends_on = None

# Title weighs most, then author, then review: a title match ranks first.
PG_SEARCH_VECTOR = (
    "setweight(to_tsvector('simple', coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('simple', coalesce(author, '')), 'B') || "
    "setweight(to_tsvector('simple', coalesce(review, '')), 'C')"
)

SQLITE_FTS = [
    # External-content FTS5 index kept in step with `books` by triggers.
    """CREATE VIRTUAL TABLE books_fts USING fts5(
        title, author, review, content='books', content_rowid='id',
        tokenize="unicode61 remove_diacritics 2")""",
    """CREATE TRIGGER books_fts_insert AFTER INSERT ON books BEGIN
        INSERT INTO books_fts(rowid, title, author, review)
        VALUES (new.id, new.title, new.author, new.review);
    END""",
    """CREATE TRIGGER books_fts_delete AFTER DELETE ON books BEGIN
        INSERT INTO books_fts(books_fts, rowid, title, author, review)
        VALUES ('delete', old.id, old.title, old.author, old.review);
    END""",
    """CREATE TRIGGER books_fts_update AFTER UPDATE ON books BEGIN
        INSERT INTO books_fts(books_fts, rowid, title, author, review)
        VALUES ('delete', old.id, old.title, old.author, old.review);
        INSERT INTO books_fts(rowid, title, author, review)
        VALUES (new.id, new.title, new.author, new.review);
    END""",
]


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
        for statement in SQLITE_FTS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS books_fts")
    op.drop_table("books")
