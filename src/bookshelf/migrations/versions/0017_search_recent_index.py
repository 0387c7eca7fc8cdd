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

# Only a catalogue of more than 2 * RECENT_BOOKS ids gets one (bookshelf.search.recent_index
# says why). It is built concurrently, outside the migration's transaction, so the catalogue
# stays writable meanwhile.


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            recent_index.move(op.get_bind())


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in recent_index.DROP_ALL:
            op.execute(statement)
