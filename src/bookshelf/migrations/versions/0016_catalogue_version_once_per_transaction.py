"""catalogue version: bumped once per transaction, not once per statement (PostgreSQL)

Revision ID: 0016_version_per_transaction
Revises: 0015_parallel_seed
Create Date: 2026-11-29
"""

from alembic import op

revision = "0016_version_per_transaction"
down_revision = "0015_parallel_seed"
branch_labels = None
depends_on = None

# The version only has to differ once a write commits, so one bump per transaction is enough.
# Bumping it for every statement updated the same row again and again in a transaction of
# many statements (a Goodreads import runs thousands), and PostgreSQL walks every version of
# the row that the transaction has made before it can update it once more: the import slowed
# to a third. The transaction's id on the row says it has already bumped it; the later
# statements only read the row.
ONCE = """CREATE OR REPLACE FUNCTION catalogue_version_bump() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE catalogue_count SET version = version + 1, version_xact = pg_current_xact_id()
        WHERE id = 1 AND version_xact IS DISTINCT FROM pg_current_xact_id();
        RETURN NULL;
    END $$"""
EVERY_STATEMENT = """CREATE OR REPLACE FUNCTION catalogue_version_bump() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE catalogue_count SET version = version + 1 WHERE id = 1;
        RETURN NULL;
    END $$"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE catalogue_count ADD COLUMN version_xact xid8")
    op.execute(ONCE)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(EVERY_STATEMENT)
    op.execute("ALTER TABLE catalogue_count DROP COLUMN version_xact")
