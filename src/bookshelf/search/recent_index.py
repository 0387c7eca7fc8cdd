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
migration that introduced it) moves it up once it covers half as many again. The new index is
built concurrently under another name while the old one serves, the two swap names in one
short transaction, and the old one is dropped concurrently: a run that dies at any step
leaves at most a spare index under one of the two spare names, which the next run drops.
A catalogue of at most twice RECENT_BOOKS ids has none: there the full index is short enough.
The caller holds the lock of everything that builds books' indexes (bookshelf.seeding).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection

RECENT_INDEX = "ix_books_search_recent"
# Names only ever held for the length of one move.
REPLACEMENT = "ix_books_search_recent_new"
RETIRED = "ix_books_search_recent_old"
NAMES = (RECENT_INDEX, REPLACEMENT, RETIRED)
# Ids the index starts below the newest. A search places its floor where it expects up to
# twice the matches it keeps (bookshelf.search.queries.id_floor), so a word in at least 1 % of
# the books, the ones whose matches are costliest to intersect, finds its floor in here.
RECENT_BOOKS = 250_000
PREDICATE = re.compile(r"\(id >= (\d+)\)")
IDS = "SELECT min(id) AS low, max(id) AS high FROM books"
BOUNDARY = """
    SELECT pg_get_expr(i.indpred, i.indrelid) AS predicate
    FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid
    WHERE c.relname = :name AND i.indisvalid"""
# Constant statements: the index names are this module's own.
DROP_SPARES = [f"DROP INDEX CONCURRENTLY IF EXISTS {name}" for name in (REPLACEMENT, RETIRED)]
DROP_ALL = [f"DROP INDEX IF EXISTS {name}" for name in NAMES]
# One string of two statements: PostgreSQL runs it as one transaction even in autocommit.
SWAP = (
    f"ALTER INDEX IF EXISTS {RECENT_INDEX} RENAME TO {RETIRED}; "
    f"ALTER INDEX IF EXISTS {REPLACEMENT} RENAME TO {RECENT_INDEX}"
)
DROP_RETIRED = f"DROP INDEX CONCURRENTLY IF EXISTS {RETIRED}"


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


def move(connection: Connection, announce: Callable[[str], None] = print) -> Plan:
    """Create, move or drop the index while the catalogue stays in use, on an AUTOCOMMIT
    CONNECTION (concurrent builds cannot run in a transaction). ANNOUNCE is told before a
    build, which waits for the transactions already running to end."""
    for statement in DROP_SPARES:  # what a run that died half way left
        connection.execute(text(statement))
    wanted = plan(connection)
    if not wanted.changes:
        return wanted
    if wanted.wanted is not None:
        announce(
            f"Building the newest books' full-text index from id {wanted.wanted:,} "
            "(concurrently: it waits for transactions already running)."
        )
        connection.execute(text(definition(wanted.wanted, REPLACEMENT, concurrently=True)))
    connection.exec_driver_sql(SWAP)  # the old index and the new one trade names at once
    connection.execute(text(DROP_RETIRED))
    return wanted
