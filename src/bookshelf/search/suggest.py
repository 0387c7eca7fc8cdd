""" "Did you mean …?": each query word replaced by the most similar title or author word.

Similarity is pg_trgm's: shared three-letter runs (of the word padded with blanks) over all
runs of both words. PostgreSQL ranks the dictionary with pg_trgm's GIN index; SQLite finds
candidates that share a trigram with FTS5's trigram tokenizer and ranks them here the same
way. A suggestion is offered only when it differs from the query and finds books.
"""

from __future__ import annotations

from sqlalchemy import text

from bookshelf.database import is_postgres
from bookshelf.extensions import db
from bookshelf.search.queries import has_matches
from bookshelf.search.terms import parse
from bookshelf.wordforms import SUGGESTION_MIN

# pg_trgm's default threshold for `%`.
MIN_SIMILARITY = 0.3
SQLITE_CANDIDATES = 50

POSTGRES_CLOSEST = """
    SELECT word, similarity(word, :word) AS score FROM search_words
    WHERE word % :word ORDER BY score DESC, word LIMIT 1"""
SQLITE_CANDIDATES_QUERY = """
    SELECT w.word FROM search_words_fts JOIN search_words AS w ON w.id = search_words_fts.rowid
    WHERE search_words_fts MATCH :match ORDER BY rank LIMIT :limit"""


def trigrams(word: str) -> set[str]:
    padded = f"  {word} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def similarity(a: str, b: str) -> float:
    ta, tb = trigrams(a), trigrams(b)
    return len(ta & tb) / len(ta | tb) if ta and tb else 0.0


def closest_sqlite(word: str) -> str | None:
    # Only the word's own three-letter runs reach MATCH, each quoted: letters only.
    runs = sorted({word[i : i + 3] for i in range(len(word) - 2)})
    match = " OR ".join(f'"{run}"' for run in runs if run.isalpha())
    if not match:
        return None
    rows = db.session.execute(
        text(SQLITE_CANDIDATES_QUERY), {"match": match, "limit": SQLITE_CANDIDATES}
    ).scalars()
    scored = sorted(((similarity(word, w), w) for w in rows), key=lambda s: (-s[0], s[1]))
    return scored[0][1] if scored and scored[0][0] >= MIN_SIMILARITY else None


def closest(word: str) -> str:
    """The dictionary word most like WORD, or WORD itself."""
    if len(word) < SUGGESTION_MIN or not word.isalpha():
        return word
    if is_postgres():
        row = db.session.execute(text(POSTGRES_CLOSEST), {"word": word}).first()
        return row.word if row else word
    return closest_sqlite(word) or word


def suggestion_for(term: str) -> str | None:
    """A corrected query that finds books, or None."""
    words = [w for t in parse(term) for w in t.words]
    corrected = [closest(w) for w in words]
    if corrected == words:
        return None
    suggestion = " ".join(corrected)
    return suggestion if has_matches(suggestion) else None
