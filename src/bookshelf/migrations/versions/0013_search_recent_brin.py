"""books: a BRIN index on id (PostgreSQL), so a search can read only its newest matches

Revision ID: 0013_search_recent_brin
Revises: 0012_catalogue_version
Create Date: 2026-11-29
"""

from alembic import op

revision = "0013_search_recent_brin"
down_revision = "0012_catalogue_version"
branch_labels = None
depends_on = None

# A few pages for a million books: it maps id ranges to table pages, which PostgreSQL ANDs
# with the text index's matches so that only the pages of the newest ones are read.
# SQLite's FTS5 already reads matches newest first and needs nothing.


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_books_id_brin ON books USING brin (id)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_books_id_brin")
