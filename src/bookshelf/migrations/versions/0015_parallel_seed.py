"""books: bulk loads may skip the typo-dictionary trigger per transaction; a journal of the
indexes a bulk load has dropped and not yet rebuilt

Revision ID: 0015_parallel_seed
Revises: 0014_drop_plain_pages_index
Create Date: 2026-11-29
"""

from alembic import op

from bookshelf.search.schema import pg_search_words_function

revision = "0015_parallel_seed"
down_revision = "0014_drop_plain_pages_index"
branch_labels = None
depends_on = None

# `flask seed` into an empty PostgreSQL catalogue loads and indexes from several sessions at
# once, so it cannot keep everything in one transaction. It writes down each index it drops,
# in the transaction that drops it, and strikes it out in the one that rebuilds it: a seed
# that dies half way leaves the list, and the next seed rebuilds what is on it.
JOURNAL = """CREATE TABLE pending_index_builds (
    name text PRIMARY KEY,
    definition text NOT NULL
)"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(pg_search_words_function(skippable=True))
    op.execute(JOURNAL)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TABLE pending_index_builds")
    op.execute(pg_search_words_function(skippable=False))
