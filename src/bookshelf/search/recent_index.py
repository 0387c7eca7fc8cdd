"""A second full-text index over the newest books only (PostgreSQL).

A search that finds many books reads only its newest matches: it places an id floor below
which it does not look (bookshelf.search.queries). The GIN index cannot use that floor: it
intersects the words' whole lists of matches, for every book, before the floor leaves most
of them out. For two words each in a tenth of a million books that intersection was most of
the search's time. This index holds the same vectors, but only of the books above a boundary
near the newest id, so its lists are a fraction as long; PostgreSQL uses it by itself
whenever a search's floor lies above the boundary (a partial index whose condition the
statement's own `id >= floor` implies), and the full index for everything else. Results are
the same either way.

The boundary is fixed when the index is built: RECENT_BOOKS ids below the newest. As books
are added it covers more of them; `flask search-index` (also run by `flask seed` and by the
migration that introduced it) moves it up once it covers half as many again, building the
new index before dropping the old one. A catalogue of at most twice RECENT_BOOKS books has
none: there the full index is short enough.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

RECENT_INDEX = "ix_books_search_recent"
REPLACEMENT = "ix_books_search_recent_new"
# Ids the index starts below the newest. A search places its floor where it expects twice
# the matches it keeps (bookshelf.search.queries.id_floor), so a word in at least 1 % of the
# books, the ones whose matches are costliest to intersect, finds its floor in here.
RECENT_BOOKS = 250_000
# Identifies a session moving this index among the database's advisory locks.
LOCK = 7_283_102
PREDICATE = re.compile(r"\(id >= (\d+)\)")
IDS = "SELECT min(id) AS low, max(id) AS high FROM books"
DROP = "DROP INDEX IF EXISTS ix_books_search_recent"
DROP_CONCURRENTLY = "DROP INDEX CONCURRENTLY IF EXISTS ix_books_search_recent"
DROP_REPLACEMENT = "DROP INDEX CONCURRENTLY IF EXISTS ix_books_search_recent_new"
RENAME = "ALTER INDEX ix_books_search_recent_new RENAME TO ix_books_search_recent"
BOUNDARY = """
    SELECT pg_get_expr(i.indpred, i.indrelid) AS predicate
    FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid
    WHERE c.relname = :name AND i.indisvalid"""


@dataclass(frozen=True)
class Plan:
    """What the index should be: from which id (None: no index), and what it is now."""

    wanted: int | None
    current: int | None

    @property
    def changes(self) -> bool:
        return self.wanted != self.current


def definition(boundary: int, name: str = RECENT_INDEX, concurrently: bool = False) -> str:
    """The index's CREATE statement; BOUNDARY is an int the catalogue's own ids gave."""
    how = "CONCURRENTLY " if concurrently else ""
    return (
        f"CREATE INDEX {how}{name} ON books USING gin (search_vector) WHERE id >= {int(boundary)}"
    )


def current_boundary(connection: Connection) -> int | None:
    predicate = connection.scalar(text(BOUNDARY), {"name": RECENT_INDEX})
    match = PREDICATE.fullmatch(predicate or "")
    return int(match.group(1)) if match else None


def plan(connection: Connection) -> Plan:
    """Where the index should start now: kept where it is while it covers between half and
    one and a half times RECENT_BOOKS ids, otherwise RECENT_BOOKS below the newest id."""
    current = current_boundary(connection)
    low, high = connection.execute(text(IDS)).one()
    if low is None or high - low + 1 <= 2 * RECENT_BOOKS:
        return Plan(None, current)
    if current is not None and RECENT_BOOKS // 2 <= high - current + 1 <= RECENT_BOOKS * 3 // 2:
        return Plan(current, current)
    return Plan(high - RECENT_BOOKS + 1, current)


def journal_for_seed(connection: Connection) -> None:
    """Replace the index's entry among a seed's pending builds with the one the loaded
    catalogue wants (or none), so that it is built beside the others."""
    connection.execute(
        text("DELETE FROM pending_index_builds WHERE name = :name"), {"name": RECENT_INDEX}
    )
    wanted = plan(connection).wanted
    if wanted is not None:
        connection.execute(
            text("INSERT INTO pending_index_builds (name, definition) VALUES (:name, :definition)"),
            {"name": RECENT_INDEX, "definition": definition(wanted)},
        )


def refresh_in_transaction(connection: Connection) -> Plan:
    """Create, move or drop the index in the connection's transaction (a migration's): the
    build holds off writers to books until it commits."""
    wanted = plan(connection)
    if wanted.changes:
        connection.execute(text(DROP))
        if wanted.wanted is not None:
            connection.execute(text(definition(wanted.wanted)))
    return wanted


class Busy(Exception):
    """Another session is moving the index right now."""


def refresh(engine: Engine) -> Plan:
    """Create, move or drop the index while the catalogue stays in use: the new index is
    built concurrently under another name, then takes the place of the old one. One session
    at a time (an advisory lock); another one meanwhile raises Busy."""
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        if not connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK}):
            raise Busy("The newest books' index is being moved by another session; try later.")
        try:
            return move(connection)
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK})


def move(connection: Connection) -> Plan:
    wanted = plan(connection)
    if not wanted.changes:
        return wanted
    # A concurrent build that failed leaves an invalid index behind: start clean.
    connection.execute(text(DROP_REPLACEMENT))
    if wanted.wanted is not None:
        connection.execute(text(definition(wanted.wanted, REPLACEMENT, concurrently=True)))
    connection.execute(text(DROP_CONCURRENTLY))
    if wanted.wanted is not None:
        connection.execute(text(RENAME))
    return wanted
