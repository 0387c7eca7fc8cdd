"""catalogue version: a number that changes with every write a visitor's page can show

Revision ID: 0012_catalogue_version
Revises: 0011_unknown_pages
Create Date: 2026-11-29

The visitor's pages (the list, a book, search, authors, the API's reads) are answered with an
ETag built on this number: a request that sends it back gets 304 after one primary-key read,
on any worker of any server, since the number lives in the database. Triggers keep it, in the
same transaction as the change, on every write to what those pages show: books (insert,
update, delete, truncate; covers and rating totals are columns of books), ratings (readers'
reviews) and users (a name shown as "added by" or under a review; a deleted account).

A column of the one-row `catalogue_count` table rather than a table of its own: a transaction
that adds a book takes that row's lock already, and one row means one lock, so two counters
can never be locked in opposite orders by two writers (a deadlock). Read committed never shows
a number ahead of its data: the number commits with the change.
"""

from alembic import op

revision = "0012_catalogue_version"
down_revision = "0011_unknown_pages"
branch_labels = None
depends_on = None

ADD_COLUMN = "ALTER TABLE catalogue_count ADD COLUMN version BIGINT NOT NULL DEFAULT 0"

# Statement triggers: a COPY or a bulk update of a million rows bumps the number once.
PG_TRIGGERS = [
    """CREATE FUNCTION catalogue_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE catalogue_count SET version = version + 1 WHERE id = 1;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER catalogue_version_books
        AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON books
        FOR EACH STATEMENT EXECUTE FUNCTION catalogue_version_bump()""",
    """CREATE TRIGGER catalogue_version_ratings
        AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ratings
        FOR EACH STATEMENT EXECUTE FUNCTION catalogue_version_bump()""",
    """CREATE TRIGGER catalogue_version_users
        AFTER UPDATE OF username OR DELETE OR TRUNCATE ON users
        FOR EACH STATEMENT EXECUTE FUNCTION catalogue_version_bump()""",
]
PG_TRIGGERS_DROP = [
    "DROP TRIGGER IF EXISTS catalogue_version_books ON books",
    "DROP TRIGGER IF EXISTS catalogue_version_ratings ON ratings",
    "DROP TRIGGER IF EXISTS catalogue_version_users ON users",
    "DROP FUNCTION IF EXISTS catalogue_version_bump()",
]

# SQLite has row triggers only; it writes one transaction at a time, so they cannot deadlock.
SQLITE_TRIGGERS = [
    """CREATE TRIGGER catalogue_version_books_insert AFTER INSERT ON books BEGIN
        UPDATE catalogue_count SET version = version + 1 WHERE id = 1;
    END""",
    """CREATE TRIGGER catalogue_version_books_update AFTER UPDATE ON books BEGIN
        UPDATE catalogue_count SET version = version + 1 WHERE id = 1;
    END""",
    """CREATE TRIGGER catalogue_version_books_delete AFTER DELETE ON books BEGIN
        UPDATE catalogue_count SET version = version + 1 WHERE id = 1;
    END""",
    """CREATE TRIGGER catalogue_version_ratings_insert AFTER INSERT ON ratings BEGIN
        UPDATE catalogue_count SET version = version + 1 WHERE id = 1;
    END""",
    """CREATE TRIGGER catalogue_version_ratings_update AFTER UPDATE ON ratings BEGIN
        UPDATE catalogue_count SET version = version + 1 WHERE id = 1;
    END""",
    """CREATE TRIGGER catalogue_version_ratings_delete AFTER DELETE ON ratings BEGIN
        UPDATE catalogue_count SET version = version + 1 WHERE id = 1;
    END""",
    """CREATE TRIGGER catalogue_version_users_update AFTER UPDATE OF username ON users BEGIN
        UPDATE catalogue_count SET version = version + 1 WHERE id = 1;
    END""",
    """CREATE TRIGGER catalogue_version_users_delete AFTER DELETE ON users BEGIN
        UPDATE catalogue_count SET version = version + 1 WHERE id = 1;
    END""",
]
SQLITE_TRIGGERS_DROP = [
    "DROP TRIGGER IF EXISTS catalogue_version_books_insert",
    "DROP TRIGGER IF EXISTS catalogue_version_books_update",
    "DROP TRIGGER IF EXISTS catalogue_version_books_delete",
    "DROP TRIGGER IF EXISTS catalogue_version_ratings_insert",
    "DROP TRIGGER IF EXISTS catalogue_version_ratings_update",
    "DROP TRIGGER IF EXISTS catalogue_version_ratings_delete",
    "DROP TRIGGER IF EXISTS catalogue_version_users_update",
    "DROP TRIGGER IF EXISTS catalogue_version_users_delete",
]


def upgrade() -> None:
    op.execute(ADD_COLUMN)
    if op.get_bind().dialect.name == "postgresql":
        for statement in PG_TRIGGERS:
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in PG_TRIGGERS_DROP:
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS_DROP:
            op.execute(statement)
    # Plain DROP COLUMN (SQLite >= 3.35), as in 0010: a rebuild would lose other triggers.
    op.execute("ALTER TABLE catalogue_count DROP COLUMN version")
