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


# --- Word forms, transliteration keys and typo suggestions (migration 0006) ----------------

# PostgreSQL's `russian` configuration stems Cyrillic words with the Russian Snowball stemmer
# and ASCII words with the English one, so one tsvector serves both languages. search_keys
# holds the transliteration keys of title and author (bookshelf.wordforms), weighted as
# the author.
PG_SEARCH_VECTOR_STEMMED = (
    "setweight(to_tsvector('russian', coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('russian', coalesce(author, '')), 'B') || "
    "setweight(to_tsvector('russian', coalesce(search_keys, '')), 'B') || "
    "setweight(to_tsvector('russian', coalesce(review, '')), 'C')"
)

# The words of titles and authors that typo suggestions choose from: only ever added to
# (a suggestion is checked against the catalogue before it is shown), filled per statement so
# that a COPY of a million rows costs one pass, not a million trigger calls.
PG_WORDS_OF = (
    "SELECT DISTINCT w FROM {source}, "
    "regexp_split_to_table(lower(title || ' ' || author), '[^[:alpha:]]+') AS w "
    "WHERE length(w) >= 3"
)
# A bulk load that adds its own, known vocabulary sets this for its transaction (SET LOCAL)
# instead of disabling the trigger: a setting ends with the transaction even if the loading
# process dies, and several loading sessions can run at once.
SKIP_WORDS_SETTING = "bookshelf.search_words_added"


def pg_search_words_function(skippable: bool) -> str:
    """The typo dictionary's trigger function; SKIPPABLE ones skip a bulk load's statements."""
    skip = (
        f"IF current_setting('{SKIP_WORDS_SETTING}', true) = 'on' THEN RETURN NULL; END IF;"
        if skippable
        else ""
    )
    return f"""CREATE OR REPLACE FUNCTION books_search_words() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        {skip}
        INSERT INTO search_words (word) {PG_WORDS_OF.format(source="new_rows")}
        ON CONFLICT DO NOTHING;
        RETURN NULL;
    END $$"""


PG_SUGGESTIONS = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE TABLE search_words (word text PRIMARY KEY)",
    "CREATE INDEX ix_search_words_trgm ON search_words USING gin (word gin_trgm_ops)",
    pg_search_words_function(skippable=False),
    """CREATE TRIGGER books_search_words_insert AFTER INSERT ON books
        REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION books_search_words()""",
    """CREATE TRIGGER books_search_words_update AFTER UPDATE ON books
        REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION books_search_words()""",
    f"INSERT INTO search_words (word) {PG_WORDS_OF.format(source='books')}",
]
PG_SUGGESTIONS_DROP = [
    "DROP TRIGGER IF EXISTS books_search_words_insert ON books",
    "DROP TRIGGER IF EXISTS books_search_words_update ON books",
    "DROP FUNCTION IF EXISTS books_search_words()",
    "DROP TABLE IF EXISTS search_words",
]

# SQLite stores the stems (computed by bookshelf_stems(), a Python function every connection
# of the app registers; bookshelf.search.sqlite) in an FTS5 table with its own copy of the
# text, so that deleting a row never depends on recomputing the same stems.
SQLITE_STEMMED_TABLE = """CREATE VIRTUAL TABLE books_fts USING fts5(
    title, author, review, keys, tokenize="unicode61 remove_diacritics 2")"""
_STEMMED_ROW = (
    "bookshelf_stems({t}.title), bookshelf_stems({t}.author), "
    "bookshelf_stems({t}.review), bookshelf_stems({t}.search_keys)"
)
_ADD_WORDS = (
    "INSERT OR IGNORE INTO search_words (word) "
    "SELECT value FROM json_each(bookshelf_words(new.title || ' ' || new.author));"
)
# Only constant text is interpolated into these statements. The update trigger watches only the
# columns the index is made of: a rating kept on the book by triggers changes no word.
SQLITE_STEMMED_UPDATE_TRIGGER = f"""CREATE TRIGGER books_fts_update
    AFTER UPDATE OF title, author, review, search_keys ON books BEGIN
        DELETE FROM books_fts WHERE rowid = old.id;
        INSERT INTO books_fts (rowid, title, author, review, keys)
        VALUES (new.id, {_STEMMED_ROW.format(t="new")});
        {_ADD_WORDS}
    END"""  # noqa: S608
SQLITE_STEMMED_TRIGGERS = [
    f"""CREATE TRIGGER books_fts_insert AFTER INSERT ON books BEGIN
        INSERT INTO books_fts (rowid, title, author, review, keys)
        VALUES (new.id, {_STEMMED_ROW.format(t="new")});
        {_ADD_WORDS}
    END""",  # noqa: S608
    """CREATE TRIGGER books_fts_delete AFTER DELETE ON books BEGIN
        DELETE FROM books_fts WHERE rowid = old.id;
    END""",
    SQLITE_STEMMED_UPDATE_TRIGGER,
]
SQLITE_STEMMED_FILL = """INSERT INTO books_fts (rowid, title, author, review, keys)
    SELECT id, bookshelf_stems(title), bookshelf_stems(author), bookshelf_stems(review),
           bookshelf_stems(search_keys)
    FROM books"""
# The trigram tokenizer indexes every three-letter run of each word: candidates for a typo.
SQLITE_SUGGESTIONS = [
    "CREATE TABLE search_words (id INTEGER PRIMARY KEY, word TEXT NOT NULL UNIQUE)",
    """CREATE VIRTUAL TABLE search_words_fts USING fts5(
        word, content='search_words', content_rowid='id', tokenize='trigram')""",
    """CREATE TRIGGER search_words_fts_insert AFTER INSERT ON search_words BEGIN
        INSERT INTO search_words_fts (rowid, word) VALUES (new.id, new.word);
    END""",
    "INSERT OR IGNORE INTO search_words (word) SELECT value FROM books, "
    "json_each(bookshelf_words(books.title || ' ' || books.author))",
]
SQLITE_SUGGESTIONS_DROP = [
    "DROP TABLE IF EXISTS search_words_fts",
    "DROP TABLE IF EXISTS search_words",
]
