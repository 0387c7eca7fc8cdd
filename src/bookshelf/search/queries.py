"""Ranked full-text search: tsvector + GIN on PostgreSQL, FTS5 on SQLite.

Both match word prefixes, ignore case (Latin and Cyrillic alike) and require every word.

Ranking is exact when a search matches at most COUNT_CAP books, which is also when the page
shows the exact number of matches. Above that ("More than 1,000 matches") the results are the
best ranked of the COUNT_CAP newest matches: ranking every match of a word that is in a third
of a million-book catalogue costs about a second, and nobody pages past 50 pages anyway.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select, text

from bookshelf.database import is_postgres
from bookshelf.extensions import db
from bookshelf.models import Book

MAX_TERMS = 8
MAX_TERM_LENGTH = 200
RESULTS_PER_PAGE = 20
MAX_RESULT_PAGES = 50
# Counting stops here: "more than 1000 results" is as useful as the exact number, and cheap.
COUNT_CAP = 1000
# PostgreSQL first looks for the matches among this many newest books, walking the primary
# key backwards: bounded work (~4 ms at any size), and enough for a common word.
RECENT_WINDOW = 10_000
# A word found less often there is looked for further back, up to this many books, when it
# is frequent enough to reach COUNT_CAP matches in them; rarer words go to the GIN index,
# whose cost grows with the number of matches (~2 µs each), which is then small.
MAX_SCAN = 60_000

WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class SearchResults:
    books: list[Book]
    total: int
    total_exact: bool
    page: int
    has_next: bool


def search_words(term: str) -> list[str]:
    """The words of a search term; only letters and digits ever reach the query syntax."""
    return [w.lower() for w in WORD.findall(term[:MAX_TERM_LENGTH])][:MAX_TERMS]


# Each statement picks at most :cap candidates (the newest matches), ranks only those, and
# returns one page of ids together with the number of candidates.
POSTGRES_RECENT = """
    WITH q AS (SELECT to_tsquery('simple', :query) AS q),
    candidates AS MATERIALIZED (
        SELECT recent.id, recent.search_vector
        FROM (SELECT id, search_vector FROM books ORDER BY id DESC LIMIT :window) AS recent, q
        WHERE recent.search_vector @@ q.q
        ORDER BY recent.id DESC LIMIT :cap)
    SELECT c.id, (SELECT count(*) FROM candidates) AS total
    FROM candidates AS c, q
    ORDER BY ts_rank_cd(c.search_vector, q.q) DESC, c.id DESC
    LIMIT :limit OFFSET :offset"""
# `id + 0`: sort after the GIN bitmap scan; walking the primary key instead (what the planner
# may pick, as it cannot estimate prefix matches) would read the whole table for a rare word.
POSTGRES_INDEXED = """
    WITH q AS (SELECT to_tsquery('simple', :query) AS q),
    candidates AS MATERIALIZED (
        SELECT books.id, books.search_vector
        FROM books, q
        WHERE books.search_vector @@ q.q
        ORDER BY books.id + 0 DESC LIMIT :cap)
    SELECT c.id, (SELECT count(*) FROM candidates) AS total
    FROM candidates AS c, q
    ORDER BY ts_rank_cd(c.search_vector, q.q) DESC, c.id DESC
    LIMIT :limit OFFSET :offset"""
# FTS5 walks its doclists in rowid order, so the newest matches come first and cheaply.
SQLITE_SEARCH = """
    WITH candidates AS MATERIALIZED (
        SELECT rowid AS id, bm25(books_fts, 10.0, 5.0, 1.0) AS score
        FROM books_fts WHERE books_fts MATCH :query
        ORDER BY rowid DESC LIMIT :cap)
    SELECT c.id, (SELECT count(*) FROM candidates) AS total
    FROM candidates AS c
    ORDER BY c.score, c.id DESC
    LIMIT :limit OFFSET :offset"""


def match_expression(words: list[str], postgres: bool) -> str:
    """All words required, each as a prefix; words are \\w+ so nothing else needs quoting."""
    if postgres:
        return " & ".join(f"{w}:*" for w in words)
    return " ".join(f'"{w}"*' for w in words)


def page_of(statement: str, params: dict[str, object]) -> tuple[list[int], int]:
    rows = db.session.execute(text(statement), params).all()
    # An empty page (past the end) shows "no books match" whatever the total.
    return [row.id for row in rows], int(rows[0].total) if rows else 0


def ranked_ids(query: str, postgres: bool, limit: int, offset: int) -> tuple[list[int], int]:
    """One page of ids, best first, and the number of candidates (at most COUNT_CAP + 1)."""
    params: dict[str, object] = {
        "query": query,
        "cap": COUNT_CAP + 1,
        "limit": limit,
        "offset": offset,
    }
    if not postgres:
        return page_of(SQLITE_SEARCH, params)
    ids, total = page_of(POSTGRES_RECENT, {**params, "window": RECENT_WINDOW})
    if total > COUNT_CAP:
        return ids, total
    # Rows needed to meet COUNT_CAP + 1 matches at the rate seen among the newest books.
    if total and (COUNT_CAP + 1) * RECENT_WINDOW / total <= MAX_SCAN:
        ids, total = page_of(POSTGRES_RECENT, {**params, "window": MAX_SCAN})
        if total > COUNT_CAP:
            return ids, total
    # Rare enough: the index finds every match. Only this path can say "exactly N matches".
    return page_of(POSTGRES_INDEXED, params)


def search_books(term: str, page: int = 1, per_page: int = RESULTS_PER_PAGE) -> SearchResults:
    words = search_words(term)
    if not words:
        return SearchResults([], 0, True, page, False)
    postgres = is_postgres()
    ids, total = ranked_ids(
        match_expression(words, postgres), postgres, per_page + 1, (page - 1) * per_page
    )
    found = {book.id: book for book in db.session.scalars(select(Book).where(Book.id.in_(ids)))}
    books = [found[i] for i in ids[:per_page] if i in found]
    return SearchResults(
        books,
        min(total, COUNT_CAP),
        total <= COUNT_CAP,
        page,
        len(ids) > per_page,
    )
