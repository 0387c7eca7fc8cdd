"""Full-text index DDL, shared by the migrations that create or rebuild it."""

# Title weighs most, then author, then review: a title match ranks first.
PG_SEARCH_VECTOR = (
    "setweight(to_tsvector('simple', coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('simple', coalesce(author, '')), 'B') || "
    "setweight(to_tsvector('simple', coalesce(review, '')), 'C')"
)

# External-content FTS5 index kept in step with `books` by triggers.
SQLITE_FTS_TABLE = """CREATE VIRTUAL TABLE books_fts USING fts5(
    title, author, review, content='books', content_rowid='id',
    tokenize="unicode61 remove_diacritics 2")"""

# Dropped with `books` whenever SQLite rebuilds that table, so migrations that do must re-run them.
SQLITE_FTS_TRIGGERS = [
    """CREATE TRIGGER books_fts_insert AFTER INSERT ON books BEGIN
        INSERT INTO books_fts(rowid, title, author, review)
        VALUES (new.id, new.title, new.author, new.review);
    END""",
    """CREATE TRIGGER books_fts_delete AFTER DELETE ON books BEGIN
        INSERT INTO books_fts(books_fts, rowid, title, author, review)
        VALUES ('delete', old.id, old.title, old.author, old.review);
    END""",
    """CREATE TRIGGER books_fts_update AFTER UPDATE ON books BEGIN
        INSERT INTO books_fts(books_fts, rowid, title, author, review)
        VALUES ('delete', old.id, old.title, old.author, old.review);
        INSERT INTO books_fts(rowid, title, author, review)
        VALUES (new.id, new.title, new.author, new.review);
    END""",
]
