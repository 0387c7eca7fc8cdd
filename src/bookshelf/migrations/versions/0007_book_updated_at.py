"""book updated_at: when a book last changed (the API's Last-Modified)

Revision ID: 0007_book_updated_at
Revises: 0006_search
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_book_updated_at"
down_revision = "0006_search"
branch_labels = None
depends_on = None

# Existing books never recorded a change: the day they were added, at midnight UTC, is the
# latest moment known.
SQLITE_BACKFILL = "UPDATE books SET updated_at = date_added || ' 00:00:00.000000'"
FTS_UPDATE_TRIGGER = "books_fts_update"
DROP_FTS_UPDATE_TRIGGER = "DROP TRIGGER books_fts_update"
PG_BACKFILL = "UPDATE books SET updated_at = date_added::timestamp AT TIME ZONE 'UTC'"


def upgrade() -> None:
    # Plain ADD COLUMN, nullable: SQLite allows no non-constant default here, and a batch
    # rebuild of `books` would drop its full-text triggers.
    op.add_column("books", sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        backfill_postgres()
    else:
        backfill_sqlite()


def backfill_postgres() -> None:
    # Only the new column changes, so the search-word trigger would re-read every row for
    # nothing; it is off for this transaction's one statement only.
    op.execute("ALTER TABLE books DISABLE TRIGGER USER")
    op.execute(PG_BACKFILL)
    op.execute("ALTER TABLE books ENABLE TRIGGER USER")
    # Rows written by COPY (`flask seed`) or plain SQL get the time of their insert.
    op.alter_column("books", "updated_at", server_default=sa.func.now())


def backfill_sqlite() -> None:
    """Backfill with the full-text update trigger set aside: it would re-index every book."""
    bind = op.get_bind()
    trigger = bind.execute(
        sa.text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = :name"),
        {"name": FTS_UPDATE_TRIGGER},
    ).scalar()
    if trigger is not None:
        op.execute(DROP_FTS_UPDATE_TRIGGER)
    op.execute(SQLITE_BACKFILL)
    if trigger is not None:
        bind.exec_driver_sql(trigger)  # recreated exactly as it was stored


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite >= 3.35): a batch rebuild would lose the full-text triggers.
    op.drop_column("books", "updated_at")
