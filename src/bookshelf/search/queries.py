"""Ranked full-text search: tsvector + GIN on PostgreSQL, FTS5 on SQLite.

Both match word prefixes, ignore case (Latin and Cyrillic alike) and require every word.
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


POSTGRES_SEARCH = """
    SELECT books.id, books.title, books.author, books.pages_num, books.review, books.date_added
    FROM books, to_tsquery('simple', :query) AS q
    WHERE books.search_vector @@ q
    ORDER BY ts_rank_cd(books.search_vector, q) DESC, books.id DESC
    LIMIT :limit OFFSET :offset"""
POSTGRES_COUNT = """
    SELECT count(*) FROM (SELECT 1 FROM books
    WHERE search_vector @@ to_tsquery('simple', :query) LIMIT :cap) AS matches"""

SQLITE_SEARCH = """
    SELECT books.id, books.title, books.author, books.pages_num, books.review, books.date_added
    FROM books_fts JOIN books ON books.id = books_fts.rowid
    WHERE books_fts MATCH :query
    ORDER BY bm25(books_fts, 10.0, 5.0, 1.0), books.id DESC
    LIMIT :limit OFFSET :offset"""
SQLITE_COUNT = """
    SELECT count(*) FROM (SELECT 1 FROM books_fts WHERE books_fts MATCH :query LIMIT :cap)"""


def match_expression(words: list[str], postgres: bool) -> str:
    """All words required, each as a prefix; words are \\w+ so nothing else needs quoting."""
    if postgres:
        return " & ".join(f"{w}:*" for w in words)
    return " ".join(f'"{w}"*' for w in words)


def search_books(term: str, page: int = 1, per_page: int = RESULTS_PER_PAGE) -> SearchResults:
    words = search_words(term)
    if not words:
        return SearchResults([], 0, True, page, False)
    postgres = is_postgres()
    query = match_expression(words, postgres)
    search_sql, count_sql = (
        (POSTGRES_SEARCH, POSTGRES_COUNT) if postgres else (SQLITE_SEARCH, SQLITE_COUNT)
    )
    statement = text(search_sql).bindparams(
        query=query, limit=per_page + 1, offset=(page - 1) * per_page
    )
    rows = list(db.session.scalars(select(Book).from_statement(statement)))
    total = db.session.scalar(text(count_sql), {"query": query, "cap": COUNT_CAP + 1}) or 0
    return SearchResults(
        rows[:per_page],
        min(total, COUNT_CAP),
        total <= COUNT_CAP,
        page,
        len(rows) > per_page,
    )
