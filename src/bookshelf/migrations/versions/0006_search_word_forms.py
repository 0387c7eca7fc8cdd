"""search: word forms (Snowball), transliteration keys, typo-suggestion dictionary

Revision ID: 0006_search
Revises: 0003_api_tokens
Create Date: 2026-11-28

PostgreSQL needs the pg_trgm extension (CREATE EXTENSION, which needs a superuser or, from
PostgreSQL 13 on, a database owner: pg_trgm is a trusted extension).
"""

import sqlalchemy as sa
from alembic import op

from bookshelf.search.schema import (
    PG_SEARCH_VECTOR,
    PG_SEARCH_VECTOR_STEMMED,
    PG_SUGGESTIONS,
    PG_SUGGESTIONS_DROP,
    SQLITE_FTS_TABLE,
    SQLITE_FTS_TRIGGERS,
    SQLITE_STEMMED_FILL,
    SQLITE_STEMMED_TABLE,
    SQLITE_STEMMED_TRIGGERS,
    SQLITE_SUGGESTIONS,
    SQLITE_SUGGESTIONS_DROP,
)
from bookshelf.wordforms import keys_for

revision = "0006_search"
down_revision = "0004_accounts"
branch_labels = None
depends_on = None

BATCH = 5_000
DROP_FTS_TRIGGERS = [
    "DROP TRIGGER IF EXISTS books_fts_insert",
    "DROP TRIGGER IF EXISTS books_fts_delete",
    "DROP TRIGGER IF EXISTS books_fts_update",
]
# DDL from constants only.
ADD_STEMMED_VECTOR = (
    "ALTER TABLE books ADD COLUMN search_vector tsvector "
    f"GENERATED ALWAYS AS ({PG_SEARCH_VECTOR_STEMMED}) STORED"
)
ADD_SIMPLE_VECTOR = (
    "ALTER TABLE books ADD COLUMN search_vector tsvector "
    f"GENERATED ALWAYS AS ({PG_SEARCH_VECTOR}) STORED"
)


def fill_search_keys() -> None:
    """Transliteration keys for the books that already exist, in id order, a batch at a time."""
    connection = op.get_bind()
    books = sa.table("books", sa.column("id"), sa.column("search_keys"))
    last = 0
    while True:
        rows = connection.execute(
            sa.text("SELECT id, title, author FROM books WHERE id > :last ORDER BY id LIMIT :n"),
            {"last": last, "n": BATCH},
        ).all()
        if not rows:
            return
        for row in rows:
            keys = keys_for(row.title, row.author)
            if keys:
                connection.execute(
                    books.update().where(books.c.id == row.id).values(search_keys=keys)
                )
        last = rows[-1].id


def replace_pg_vector(add_column: str) -> None:
    op.execute("DROP INDEX IF EXISTS ix_books_search_vector")
    op.execute("ALTER TABLE books DROP COLUMN search_vector")
    op.execute(add_column)
    op.execute("CREATE INDEX ix_books_search_vector ON books USING gin (search_vector)")


def drop_sqlite_fts() -> None:
    for statement in DROP_FTS_TRIGGERS:
        op.execute(statement)
    op.execute("DROP TABLE IF EXISTS books_fts")


def upgrade() -> None:
    op.add_column("books", sa.Column("search_keys", sa.Text(), nullable=True))
    fill_search_keys()
    if op.get_bind().dialect.name == "postgresql":
        replace_pg_vector(ADD_STEMMED_VECTOR)
        for statement in PG_SUGGESTIONS:
            op.execute(statement)
    elif op.get_bind().dialect.name == "sqlite":
        drop_sqlite_fts()
        for statement in [
            *SQLITE_SUGGESTIONS,
            SQLITE_STEMMED_TABLE,
            *SQLITE_STEMMED_TRIGGERS,
            SQLITE_STEMMED_FILL,
        ]:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in PG_SUGGESTIONS_DROP:
            op.execute(statement)
        replace_pg_vector(ADD_SIMPLE_VECTOR)
    elif op.get_bind().dialect.name == "sqlite":
        drop_sqlite_fts()
        for statement in SQLITE_SUGGESTIONS_DROP:
            op.execute(statement)
        for statement in [SQLITE_FTS_TABLE, *SQLITE_FTS_TRIGGERS]:
            op.execute(statement)
        op.execute("INSERT INTO books_fts (books_fts) VALUES ('rebuild')")
    op.drop_column("books", "search_keys")
