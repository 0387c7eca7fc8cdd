"""books: a second full-text index over the newest books only (PostgreSQL)

Revision ID: 0017_search_recent_index
Revises: 0016_version_per_transaction
Create Date: 2026-11-30
"""

from alembic import op

from bookshelf.search import recent_index

revision = "0017_search_recent_index"
down_revision = "0016_version_per_transaction"
branch_labels = None
depends_on = None

# Only a catalogue of more than 2 * RECENT_BOOKS books gets one (bookshelf.search.recent_index
# says why); building it holds off writers to books for the few seconds it takes, in the
# migration's transaction. `flask search-index` moves it later without doing so.


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        recent_index.refresh_in_transaction(op.get_bind())


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(recent_index.DROP)
