"""books: the page count may be unknown (NULL), as in imported libraries that lack it

Revision ID: 0011_unknown_pages
Revises: 0010_shelves_ratings
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_unknown_pages"
down_revision = "0010_shelves_ratings"
branch_labels = None
depends_on = None

# The CHECK (pages_num > 0) stays: a NULL passes it, and a known count is still positive.
NOT_NULL = "pages_num INTEGER NOT NULL"
NULLABLE = "pages_num INTEGER"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("books", "pages_num", existing_type=sa.Integer(), nullable=True)
    else:
        rewrite_sqlite_books_sql(NOT_NULL, NULLABLE)
    # Sorting by pages: unknown counts sort as 0, so that keyset pages never skip them.
    op.execute("CREATE INDEX ix_books_pages_sort_id ON books ((coalesce(pages_num, 0)), id)")


def downgrade() -> None:
    bind = op.get_bind()
    unknown = bind.execute(sa.text("SELECT count(*) FROM books WHERE pages_num IS NULL")).scalar()
    if unknown:
        # Inventing page counts would store made-up numbers; the reader must decide.
        raise RuntimeError(f"{unknown} books have no page count: give them one before downgrading.")
    op.execute("DROP INDEX ix_books_pages_sort_id")
    if bind.dialect.name == "postgresql":
        op.alter_column("books", "pages_num", existing_type=sa.Integer(), nullable=False)
    else:
        rewrite_sqlite_books_sql(NULLABLE, NOT_NULL)


def rewrite_sqlite_books_sql(old: str, new: str) -> None:
    """Drop or restore NOT NULL by editing the stored CREATE TABLE text.

    SQLite documents this for changes that leave the stored rows as they are (removing a NOT
    NULL is one). Rebuilding the table instead would drop its full-text triggers and, with
    foreign keys on, cascade the copy's DROP TABLE into shelves and ratings.
    """
    bind = op.get_bind()
    sql = bind.execute(
        sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'books'")
    ).scalar_one()
    if old not in sql:
        raise RuntimeError(f"books table definition has no {old!r}; not changed")
    version = bind.execute(sa.text("PRAGMA schema_version")).scalar_one()
    bind.execute(sa.text("PRAGMA writable_schema = ON"))
    bind.execute(
        sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = 'books'"),
        {"sql": sql.replace(old, new, 1)},
    )
    # A new schema version makes every open connection read the changed definition.
    bind.execute(sa.text(f"PRAGMA schema_version = {int(version) + 1}"))
    bind.execute(sa.text("PRAGMA writable_schema = OFF"))
    problems = bind.execute(sa.text("PRAGMA integrity_check")).scalars().all()
    if problems != ["ok"]:
        raise RuntimeError(f"SQLite integrity check after the change: {problems}")
