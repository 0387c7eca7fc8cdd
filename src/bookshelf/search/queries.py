"""Ranked full-text search: tsvector + GIN on PostgreSQL, FTS5 on SQLite.

Both match word prefixes by word form (Snowball stems), Latin and Cyrillic spellings of
title and author words (transliteration keys), quoted phrases, and require every term.

Each search collects at most COUNT_CAP + 1 candidates, the newest matches, with their rank,
author and title, and orders, pages and counts those in Python. The number of matches is
exact up to COUNT_CAP ("More than 1,000 matches" above), and so is the ranking: ranking
every match of a word that is in a third of a million-book catalogue costs about a second,
and nobody pages past 50 pages anyway.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import select, text

from bookshelf.database import is_postgres
from bookshelf.extensions import db
from bookshelf.isbn import isbn_or_none
from bookshelf.models import Book
from bookshelf.search.terms import (
    MAX_TERM_LENGTH,
    MAX_TERMS,
    Term,
    parse,
    postgres_query,
    sqlite_query,
)
from bookshelf.search.vocabulary import with_complete_words

__all__ = [
    "MAX_TERMS",
    "MAX_TERM_LENGTH",
    "NO_FILTERS",
    "SORTS",
    "YEAR_FILTER_MAX",
    "YEAR_FILTER_MIN",
    "Filters",
    "SearchResults",
    "search_books",
]

RESULTS_PER_PAGE = 20
MAX_RESULT_PAGES = 50
# Counting stops here: "more than 1000 results" is as useful as the exact number, and cheap.
COUNT_CAP = 1000
# PostgreSQL first looks for the matches among this many newest books, walking the primary
# key backwards: bounded work (~2 ms at any size), enough for a word in a fifth of the books,
# and a fair sample of how often a rarer one occurs. A rare word pays it before the index.
RECENT_WINDOW = 5_000
# A word found less often there is looked for further back, up to this many books, when it
# is frequent enough to reach COUNT_CAP matches in them; rarer words go to the GIN index,
# whose cost grows with the number of matches (~2 µs each), which is then small.
MAX_SCAN = 60_000
# Matches seen among the newest books before their rate is trusted to place an id floor.
FLOOR_SAMPLE = 10
# Above every id: the first window starts at the newest book.
NEWEST_ID = 2**31 - 1
SORTS = ("relevance", "newest", "title")
# The widest range of publication years a search filter accepts.
YEAR_FILTER_MIN, YEAR_FILTER_MAX = 1, 9999
AUTHOR_FACETS = 8


class Candidate(NamedTuple):
    # A tuple, made straight from the database row: a search builds up to 1,001 of them.
    id: int
    author: str
    title: str
    rank: float


@dataclass(frozen=True)
class SearchResults:
    books: list[Book]
    total: int
    total_exact: bool
    page: int
    has_next: bool
    terms: list[Term] = field(default_factory=list)
    # The most frequent authors among the candidates, with how many each: the author filter.
    authors: list[tuple[str, int]] = field(default_factory=list)


def search_words(term: str) -> list[str]:
    """The words of a search box's text (phrases included), as the index sees them."""
    return [w for t in parse(term) for w in t.words]


@dataclass(frozen=True)
class Filters:
    """What a reader narrowed the search to: one author, publication years (inclusive).
    Books whose year is unknown are left out once either year bound is set."""

    author: str | None = None
    year_from: int | None = None
    year_to: int | None = None

    def sql(self, table: str = "books") -> str:
        # The statements interpolate only this constant text, never input (hence the noqa).
        parts = []
        if self.author:
            parts.append(f"AND {table}.author = :author")
        if self.year_from is not None:
            parts.append(f"AND {table}.year >= :year_from")
        if self.year_to is not None:
            parts.append(f"AND {table}.year <= :year_to")
        return " ".join(parts)

    def params(self) -> dict[str, Any]:
        return {"author": self.author, "year_from": self.year_from, "year_to": self.year_to}


NO_FILTERS = Filters()


# ts_rank weighs each matched word by where it is (title A, author and keys B, review C) and
# how often; ts_rank_cd also measures how close the words stand, which for records a few
# dozen words long orders about the same and costs 4 ms more per 1,000 candidates ranked
# (measured at 1,000,000 books: a fifth of a two-word search).
RANK = "ts_rank({table}.search_vector, q.q)"


def rank_of(expression: str, ranked: bool) -> str:
    # Ranks only matter to the relevance order; the other orders and "is there any match?"
    # skip them, which on SQLite spares bm25 a pass over each word's whole doclist.
    return expression if ranked else "CAST(0 AS REAL)"


def title_of(table: str, titled: bool) -> str:
    # Titles only matter to the title order; the others leave them out, which spares the
    # driver decoding a thousand titles nobody looks at (the page reads its books anew).
    return f"{table}.title" if titled else "''"


def postgres_recent(filters: Filters, ranked: bool = True, titled: bool = False) -> str:
    # The window walks the primary key backwards from :before, or (author, id) with an author
    # filter, and stops at :cap matches.
    rank = rank_of(RANK.format(table="r"), ranked)
    return f"""
        WITH q AS (SELECT to_tsquery('russian', :query) AS q)
        SELECT r.id, r.author, {title_of("r", titled)} AS title, {rank} AS rank
        FROM (SELECT id, author, title, search_vector FROM books
              WHERE id < :before {filters.sql()}
              ORDER BY id DESC LIMIT :window) AS r, q
        WHERE r.search_vector @@ q.q
        ORDER BY r.id DESC LIMIT :cap"""  # noqa: S608


def postgres_indexed(
    filters: Filters, ranked: bool = True, floor: bool = False, titled: bool = False
) -> str:
    # `id + 0`: sort after the GIN bitmap scan; walking the primary key instead (what the
    # planner may pick, as it cannot estimate prefix matches) would read the whole table.
    # Ranked after the LIMIT: only the candidates kept are ranked. With a FLOOR, the BRIN
    # index on id leaves out the table pages of older books: only the newer matches are read.
    rank = rank_of(RANK.format(table="c"), ranked)
    newer = "AND b.id >= :floor" if floor else ""
    return f"""
        WITH q AS (SELECT to_tsquery('russian', :query) AS q)
        SELECT c.id, c.author, {title_of("c", titled)} AS title, {rank} AS rank
        FROM (SELECT b.id, b.author, b.title, b.search_vector FROM books AS b, q
              WHERE b.search_vector @@ q.q {newer} {filters.sql("b")}
              ORDER BY b.id + 0 DESC LIMIT :cap) AS c, q
        ORDER BY c.id DESC"""  # noqa: S608


def sqlite_search(filters: Filters, ranked: bool = True, titled: bool = False) -> str:
    # FTS5 walks its doclists in rowid order, so the newest matches come first and cheaply.
    # bm25 is lower for better matches; title weighs most, then author and keys, then review.
    rank = rank_of("-bm25(books_fts, 10.0, 5.0, 1.0, 5.0)", ranked)
    return f"""
        SELECT b.id, b.author, {title_of("b", titled)} AS title, {rank} AS rank
        FROM books_fts JOIN books AS b ON b.id = books_fts.rowid
        WHERE books_fts MATCH :query {filters.sql("b")}
        ORDER BY books_fts.rowid DESC LIMIT :cap"""  # noqa: S608


def isbn_search(filters: Filters) -> str:
    # An ISBN typed into the search box is looked up as such: its index, not the text index.
    return f"""
        SELECT id, author, title, CAST(1.0 AS REAL) AS rank FROM books
        WHERE isbn = :isbn {filters.sql()}
        ORDER BY id DESC LIMIT :cap"""  # noqa: S608


# A Candidate made from a row without a Python call (Candidate._make is one).
as_candidate = partial(tuple.__new__, Candidate)


def fetch(statement: str, params: dict[str, Any]) -> list[Candidate]:
    # The statement runs through the session (its transaction, its connection), but its rows
    # are read straight off the driver's cursor with one fetchall(): the columns are untyped
    # text() columns that SQLAlchemy would hand on unchanged, and wrapping each of a thousand
    # candidates in a Row, or asking the driver for one row at a time, cost more than reading
    # them.
    result = db.session.execute(text(statement), params)
    try:
        rows = result.cursor.fetchall()
    finally:
        result.close()
    return list(map(as_candidate, rows))


def candidates(
    terms: list[Term],
    filters: Filters = NO_FILTERS,
    limit: int | None = None,
    ranked: bool = True,
    titled: bool = False,
) -> list[Candidate]:
    """The newest matches, at most LIMIT (default COUNT_CAP + 1) of them, newest first;
    their rank is 0 unless RANKED, their title "" unless TITLED."""
    limit = COUNT_CAP + 1 if limit is None else limit
    params: dict[str, Any] = {"cap": limit, **filters.params()}
    if not is_postgres():
        statement = sqlite_search(filters, ranked, titled)
        return fetch(statement, {**params, "query": sqlite_query(terms)})
    params["query"] = postgres_query(terms)
    recent = postgres_recent(filters, ranked, titled)
    window = {"window": RECENT_WINDOW, "before": NEWEST_ID}
    found = fetch(recent, {**params, **window})
    if len(found) >= limit:
        return found
    # Rows needed to meet LIMIT matches at the rate seen among the newest books. The books
    # already looked at are not read again: the scan goes on below the last match.
    if found and limit * RECENT_WINDOW / len(found) <= MAX_SCAN:
        window = {"window": MAX_SCAN - RECENT_WINDOW, "before": found[-1].id}
        found += fetch(recent, {**params, **window, "cap": limit - len(found)})
        if len(found) >= limit:
            return found
    # Too rare to walk to, too frequent to read every match: the index, reading only the
    # matches above the id where LIMIT of them are expected, with a margin for the rate seen
    # among the newest books being too high (id_floor). Enough found there are the newest
    # LIMIT matches. A floor among the newest books lets PostgreSQL use their own, shorter
    # index (bookshelf.search.recent_index).
    floor = id_floor(found, limit)
    if floor is not None:
        statement = postgres_indexed(filters, ranked, floor=True, titled=titled)
        newest = fetch(statement, {**params, "floor": floor})
        if len(newest) >= limit:
            return newest
    # Rare enough: the index finds every match. Only this path can say "exactly N matches".
    return fetch(postgres_indexed(filters, ranked, titled=titled), params)


def floor_margin(seen: int, limit: int) -> float:
    """How many times the ids that LIMIT matches take at the rate SEEN matches suggest.

    A count of n matches is off by about √n, so the rate it gives may be too high by 3/√n of
    itself (three standard deviations); the matches above the floor vary by 3/√LIMIT more.
    Every match the margin takes in is one more table row read: 42 seen, a two-word search's
    usual sample, read 1.56 rows per match kept instead of 2.
    """
    return min(2.0, 1 + 3 / math.sqrt(seen) + 3 / math.sqrt(limit))


def id_floor(found: list[Candidate], limit: int) -> int | None:
    """The id above which LIMIT matches are expected, with floor_margin's margin, at the
    rate seen in FOUND (newest first); None when too few were seen to tell or the floor
    would take in every book."""
    if len(found) < FLOOR_SAMPLE:
        return None
    ids_per_match = (found[0].id - found[-1].id) / (len(found) - 1)
    floor = found[0].id - int(floor_margin(len(found), limit) * limit * ids_per_match)
    return floor if floor > 1 else None


RANK_OF = itemgetter(3)
AUTHOR_OF = itemgetter(1)


def ordered(found: list[Candidate], sort: str) -> list[Candidate]:
    """FOUND (newest first, as every search reads them) in the order SORT shows them."""
    if sort == "newest":
        return found  # already newest first
    if sort == "title":
        return sorted(found, key=lambda c: (c.title.casefold(), c.id))
    # Best rank first, the newest first among equals: a stable sort of the newest-first list
    # on rank alone keeps equals in that order (reverse=True keeps stability), with a key
    # read in C instead of a Python call per candidate.
    return sorted(found, key=RANK_OF, reverse=True)


def has_matches(term: str) -> bool:
    """Does any book match TERM? The newest match answers, so frequent words cost least."""
    terms = with_complete_words(parse(term))
    return bool(terms) and bool(candidates(terms, limit=1, ranked=False))


def by_isbn(term: str, filters: Filters) -> list[Candidate]:
    """The books whose ISBN is TERM (10 or 13 digits, hyphens or spaces allowed), if it is one.

    Nothing found this way leaves the term to the full-text search: it may be in a title.
    """
    isbn = isbn_or_none(term)
    if isbn is None:
        return []
    return fetch(isbn_search(filters), {"isbn": isbn, "cap": COUNT_CAP + 1, **filters.params()})


def search_books(
    term: str,
    page: int = 1,
    per_page: int = RESULTS_PER_PAGE,
    sort: str = "relevance",
    filters: Filters = NO_FILTERS,
) -> SearchResults:
    terms = parse(term)
    if not terms:
        return SearchResults([], 0, True, page, False)
    terms = with_complete_words(terms)
    found = by_isbn(term, filters) or candidates(
        terms, filters, ranked=sort == "relevance", titled=sort == "title"
    )
    start = (page - 1) * per_page
    ids = [c.id for c in ordered(found, sort)[start : start + per_page + 1]]
    books = {b.id: b for b in db.session.scalars(select(Book).where(Book.id.in_(ids)))}
    authors = Counter(map(AUTHOR_OF, found)).most_common(AUTHOR_FACETS)
    return SearchResults(
        books=[books[i] for i in ids[:per_page] if i in books],
        total=min(len(found), COUNT_CAP),
        total_exact=len(found) <= COUNT_CAP,
        page=page,
        has_next=len(ids) > per_page,
        terms=terms,
        authors=authors,
    )
