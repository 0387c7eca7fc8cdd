"""catalogue count kept by triggers; SQLite ids never reused; books.author_key for author pages

Revision ID: 0009_catalogue_count_autoincrement
Revises: 0008_isbn_year_cover
Create Date: 2026-11-29

- `catalogue_count`: one row holding how many books there are, kept exact by triggers in the
  same transaction as the change, so the list never counts the table per request.
- SQLite: `books` is rebuilt with AUTOINCREMENT (every row and id kept), so the id of a
  deleted book is never given to a new one and an old link never opens a different book.
  PostgreSQL sequences never reuse a value anyway.
- `books.author_key`: the author's name NFKC-normalised and case-folded (bookshelf.text.name_key),
  indexed, byte-ordered (COLLATE "C" on PostgreSQL, SQLite's default), so that an author page
  and an initial letter of the author index are index range scans.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bookshelf.text import name_key

revision = "0009_catalogue_count_autoincrement"
down_revision = "0008_isbn_year_cover"
branch_labels = None
depends_on = None

AUTHOR_KEY_MAX = 200  # NFKC and case folding may lengthen a 50-character name (ß -> ss)
BATCH = 5_000

COUNT_TABLE = """CREATE TABLE catalogue_count (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    books BIGINT NOT NULL)"""
COUNT_FILL = "INSERT INTO catalogue_count (id, books) SELECT 1, count(*) FROM books"

# One statement, one update of the counter row: a COPY of a million rows costs one update,
# not a million. The row lock orders concurrent writers; each adds its own rows at commit.
PG_COUNTER = [
    """CREATE FUNCTION catalogue_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE catalogue_count SET books = books + (SELECT count(*) FROM new_rows) WHERE id = 1;
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION catalogue_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE catalogue_count SET books = books - (SELECT count(*) FROM old_rows) WHERE id = 1;
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION catalogue_count_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE catalogue_count SET books = 0 WHERE id = 1;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER catalogue_count_insert AFTER INSERT ON books
        REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION catalogue_count_insert()""",
    """CREATE TRIGGER catalogue_count_delete AFTER DELETE ON books
        REFERENCING OLD TABLE AS old_rows
        FOR EACH STATEMENT EXECUTE FUNCTION catalogue_count_delete()""",
    """CREATE TRIGGER catalogue_count_truncate AFTER TRUNCATE ON books
        FOR EACH STATEMENT EXECUTE FUNCTION catalogue_count_truncate()""",
]
PG_COUNTER_DROP = [
    "DROP TRIGGER IF EXISTS catalogue_count_insert ON books",
    "DROP TRIGGER IF EXISTS catalogue_count_delete ON books",
    "DROP TRIGGER IF EXISTS catalogue_count_truncate ON books",
    "DROP FUNCTION IF EXISTS catalogue_count_insert()",
    "DROP FUNCTION IF EXISTS catalogue_count_delete()",
    "DROP FUNCTION IF EXISTS catalogue_count_truncate()",
]

# SQLite writes one transaction at a time, so a row trigger is exact as it stands.
SQLITE_COUNTER = [
    """CREATE TRIGGER catalogue_count_insert AFTER INSERT ON books BEGIN
        UPDATE catalogue_count SET books = books + 1 WHERE id = 1;
    END""",
    """CREATE TRIGGER catalogue_count_delete AFTER DELETE ON books BEGIN
        UPDATE catalogue_count SET books = books - 1 WHERE id = 1;
    END""",
]

# The books table as migrations 0001-0008 left it; {id} is the primary key's definition.
SQLITE_BOOKS = """CREATE TABLE {name} (
    id INTEGER NOT NULL PRIMARY KEY {autoincrement},
    title VARCHAR(150) NOT NULL,
    author VARCHAR(50) NOT NULL,
    pages_num INTEGER NOT NULL,
    review TEXT,
    date_added DATE DEFAULT CURRENT_DATE NOT NULL,
    added_by_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    added_by_deleted BOOLEAN DEFAULT 0 NOT NULL,
    search_keys TEXT,
    updated_at DATETIME,
    isbn VARCHAR(13),
    year SMALLINT,
    cover VARCHAR(64),
    {extra}
    CONSTRAINT ck_books_pages_num_positive CHECK (pages_num > 0)
)"""
SQLITE_COLUMNS = (
    "id, title, author, pages_num, review, date_added, added_by_id, added_by_deleted, "
    "search_keys, updated_at, isbn, year, cover"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # This revision's name is longer than the 32 characters Alembic's own table was made
        # with; widened before Alembic records it (SQLite does not enforce the length).
        op.execute("ALTER TABLE alembic_version ALTER COLUMN version_num TYPE varchar(64)")
        upgrade_postgres()
    else:
        upgrade_sqlite()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in PG_COUNTER_DROP:
            op.execute(statement)
        op.drop_index("ix_books_author_key_id", table_name="books")
        op.drop_column("books", "author_key")
    else:
        rebuild_sqlite_books(autoincrement=False, author_key=False)
        op.execute("DROP TRIGGER IF EXISTS catalogue_count_insert")
        op.execute("DROP TRIGGER IF EXISTS catalogue_count_delete")
    op.drop_table("catalogue_count")


# --- PostgreSQL ---------------------------------------------------------------------------


def upgrade_postgres() -> None:
    op.execute(f'ALTER TABLE books ADD COLUMN author_key varchar({AUTHOR_KEY_MAX}) COLLATE "C"')
    # Only the new column changes: the search-word trigger would re-read every row for nothing.
    op.execute("ALTER TABLE books DISABLE TRIGGER USER")
    fill_author_keys("books")
    op.execute("ALTER TABLE books ENABLE TRIGGER USER")
    op.create_index("ix_books_author_key_id", "books", ["author_key", "id"])
    # ADD COLUMN holds books' exclusive lock until commit: no write slips between the count
    # and the triggers.
    op.execute(COUNT_TABLE)
    op.execute(COUNT_FILL)
    for statement in PG_COUNTER:
        op.execute(statement)


def fill_author_keys(table: str) -> None:
    """author_key for the books that exist, in id order, a batch at a time."""
    connection = op.get_bind()
    books = sa.table(table, sa.column("id"), sa.column("author_key"))
    update = (
        books.update()
        .where(books.c.id == sa.bindparam("book_id"))
        .values(author_key=sa.bindparam("key"))
    )
    last = 0
    while True:
        rows = connection.execute(
            sa.text(f"SELECT id, author FROM {table} WHERE id > :last ORDER BY id LIMIT :n"),  # noqa: S608
            {"last": last, "n": BATCH},
        ).all()
        if not rows:
            return
        connection.execute(update, [{"book_id": r.id, "key": name_key(r.author)} for r in rows])
        last = rows[-1].id


# --- SQLite -------------------------------------------------------------------------------


def upgrade_sqlite() -> None:
    rebuild_sqlite_books(autoincrement=True, author_key=True)
    op.execute(COUNT_TABLE)
    op.execute(COUNT_FILL)
    for statement in SQLITE_COUNTER:
        op.execute(statement)


def refuse_if_referenced() -> None:
    """Dropping `books` with foreign keys on deletes (or nulls) every row that refers to it,
    and PRAGMA foreign_keys cannot change inside the migration's transaction: refuse rather
    than lose rows. Tables that refer to books are created after this migration."""
    connection = op.get_bind()
    tables = connection.execute(
        sa.text("SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'books'")
    ).scalars()
    for table in list(tables):
        references = connection.exec_driver_sql(f"PRAGMA foreign_key_list('{table}')").all()
        if any(row[2] == "books" for row in references):
            raise RuntimeError(
                f"Table {table} refers to books; rebuilding books would lose its rows. "
                "Migrate to 0009 before creating it."
            )


def rebuild_sqlite_books(*, autoincrement: bool, author_key: bool) -> None:
    """Copy `books` into a new table with every row and id, then put back its indexes and
    triggers (full-text index, typo dictionary, counter) exactly as they were stored: SQLite
    drops them with the old table. The full-text tables keep their rows, keyed by the ids."""
    refuse_if_referenced()
    connection = op.get_bind()
    saved = connection.execute(
        sa.text(
            "SELECT type, name, sql FROM sqlite_master "
            "WHERE tbl_name = 'books' AND type IN ('index', 'trigger') AND sql IS NOT NULL"
        )
    ).all()
    extra = f"author_key VARCHAR({AUTHOR_KEY_MAX})," if author_key else ""
    op.execute(
        SQLITE_BOOKS.format(
            name="books_new", autoincrement="AUTOINCREMENT" if autoincrement else "", extra=extra
        )
    )
    op.execute(
        f"INSERT INTO books_new ({SQLITE_COLUMNS}) SELECT {SQLITE_COLUMNS} FROM books ORDER BY id"  # noqa: S608
    )
    if author_key:
        fill_author_keys("books_new")  # before any trigger exists on it: no re-indexing
    op.execute("DROP TABLE books")
    op.execute("ALTER TABLE books_new RENAME TO books")
    for kind, name, sql in saved:
        if kind == "index" and name == "ix_books_author_key_id" and not author_key:
            continue
        connection.exec_driver_sql(sql)
    if author_key:
        op.create_index("ix_books_author_key_id", "books", ["author_key", "id"])
