"""Loading many books into PostgreSQL at once (`flask seed`), without ever leaving it unindexed.

Building an index once is several times faster than updating it row by row (the GIN index
most of all), so a large load drops the secondary indexes of `books`, copies, and rebuilds
them. Three ways, by what the table already holds:

- **Empty**: nobody reads a catalogue that has no books yet, so the load uses both cores. Two
  sessions COPY alternate batches at once (each computes the stored search vectors of its
  rows), then two sessions rebuild the indexes at once: the GIN index in one, the others in
  the other. The ids are reserved up front, so a seed gives the same books, ids included,
  as a single COPY would.
- **Fewer rows than the load adds**: one transaction drops, copies and rebuilds; other sessions
  wait for it and never see the indexes missing.
- **More**: batches of INSERTs through the existing indexes.

Every dropped index is written down in `pending_index_builds` in the transaction that drops
it and struck out in the one that rebuilds it, so a seed that dies half way leaves a list
that the next seed rebuilds first. Two seeds never run at once (an advisory lock). The
newest books' own full-text index (bookshelf.search.recent_index) is built or moved to where
the loaded ids call for.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any

import click
from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection, Engine

from bookshelf.extensions import db
from bookshelf.search import recent_index
from bookshelf.search.schema import SKIP_WORDS_SETTING

COLUMNS = "title, author, pages_num, review, search_keys, author_key"
SECONDARY_INDEXES = """
    SELECT quote_ident(c.relname) AS name, pg_get_indexdef(i.indexrelid) AS definition
    FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid
    WHERE i.indrelid = 'books'::regclass
      AND NOT EXISTS (SELECT 1 FROM pg_constraint AS k WHERE k.conindid = i.indexrelid)"""
# The GIN index takes longer to build than all the others together: it goes first, so that
# the other session builds the rest meanwhile.
PENDING_BUILDS = """
    SELECT name, definition FROM pending_index_builds
    ORDER BY definition LIKE '% USING gin %' DESC, name"""
INDEX_BUILD_MEMORY = "256MB"
# SET LOCAL, with the setting's name and value as parameters.
SET_LOCAL = text("SELECT set_config(:name, :value, true)")
# Sessions that load (and then index) an empty catalogue at once: one per core of a small
# server; the Python side that makes the rows shares the cores with them.
SESSIONS = 2
# Rows per batch handed to a loading session. The sessions take batches in turn and write
# them to the table at the same time, so a table page holds ids at most two batches apart:
# the BRIN index on id stays as sharp as after a single COPY.
BATCH_ROWS = 1_000
# Identifies, among the database's advisory locks, a session that drops or builds books'
# indexes: `flask seed` and `flask search-index`.
INDEXES_LOCK = 7_283_101

Row = Sequence[Any]
Progress = Callable[[int], None]


class SeedError(Exception):
    """A seed that could not start or did not finish; the message says why, for a person."""


class Stopped(SeedError):
    """A loading step gave up because another one failed."""


@contextmanager
def one_seed_at_a_time(engine: Engine) -> Iterator[None]:
    """Hold the indexes' advisory lock on a connection of its own for the whole seed (or
    `flask search-index`)."""
    with engine.connect() as connection:
        # Autocommit: a session's advisory lock needs no transaction, and an open one would
        # hold a snapshot that a concurrent index build (flask search-index) waits out.
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        key = {"key": INDEXES_LOCK}
        if not connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), key):
            raise SeedError(
                "Another `flask seed` or `flask search-index` is running on this database; "
                "try again later."
            )
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), key)


def skip_word_trigger(connection: Connection) -> None:
    """This transaction's inserts leave the typo dictionary alone (the seed adds its words)."""
    connection.execute(SET_LOCAL, {"name": SKIP_WORDS_SETTING, "value": "on"})


def journal(connection: Connection, name: str, definition: str) -> None:
    """Write an index down as pending: the next index build builds it."""
    connection.execute(
        text("INSERT INTO pending_index_builds (name, definition) VALUES (:name, :definition)"),
        {"name": name, "definition": definition},
    )


def drop_secondary_indexes(connection: Connection) -> int:
    """Drop books' secondary indexes, each written down as pending first; how many."""
    indexes = connection.execute(text(SECONDARY_INDEXES)).all()
    for index in indexes:
        journal(connection, index.name, index.definition)
        connection.execute(text(f"DROP INDEX {index.name}"))
    return len(indexes)


def journal_recent_index(connection: Connection) -> None:
    """Write down the newest books' index (bookshelf.search.recent_index) as the loaded
    catalogue wants it, or not at all, instead of as it was (or a spare a move left), so
    that it is built beside the others."""
    connection.execute(
        text("DELETE FROM pending_index_builds WHERE name IN :names").bindparams(
            bindparam("names", expanding=True)
        ),
        {"names": list(recent_index.NAMES)},
    )
    wanted = recent_index.plan(connection).wanted
    if wanted is not None:
        journal(connection, recent_index.RECENT_INDEX, recent_index.definition(wanted))


def finish_interrupted_seed(engine: Engine) -> None:
    """Build what a seed that died between dropping the indexes and rebuilding them left."""
    left = build_pending_indexes(engine)
    if left:
        click.echo(f"Rebuilt {left} indexes that an interrupted seed had dropped.")


def move_recent_index(engine: Engine) -> recent_index.Plan:
    """Create, move or drop the newest books' index, concurrently; the caller holds the lock."""
    with engine.connect() as connection:
        autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
        return recent_index.move(autocommit, announce=click.echo)


def refresh_recent_index(engine: Engine) -> recent_index.Plan:
    """`flask search-index`: under the seed's lock, finish the index builds an interrupted
    seed left, then create, move or drop the newest books' index."""
    with one_seed_at_a_time(engine):
        finish_interrupted_seed(engine)
        return move_recent_index(engine)


def build_index(connection: Connection, name: str, definition: str, alone: bool = True) -> None:
    """Build one pending index and strike it out, in the connection's transaction. A build
    that is not ALONE leaves the other cores to the builds beside it: PostgreSQL's parallel
    workers for a B-tree would only fight them (measured: 8.3 s for all of them at 1,000,000
    books against 10-12 s with the workers)."""
    # SET LOCAL ends with the transaction; the server default is sized for many sessions.
    connection.execute(SET_LOCAL, {"name": "maintenance_work_mem", "value": INDEX_BUILD_MEMORY})
    if not alone:
        connection.execute(SET_LOCAL, {"name": "max_parallel_maintenance_workers", "value": "0"})
    # DEFINITION is pg_get_indexdef()'s own text, journalled by drop_secondary_indexes.
    connection.execute(text(definition))
    connection.execute(text("DELETE FROM pending_index_builds WHERE name = :name"), {"name": name})


def pending_builds(connection: Connection) -> list[tuple[str, str]]:
    return [(row.name, row.definition) for row in connection.execute(text(PENDING_BUILDS))]


def build_pending_indexes(engine: Engine) -> int:
    """Build every pending index, from up to SESSIONS sessions at once, each index in a
    transaction of its own; how many were built."""
    with engine.connect() as connection:
        builds: queue.SimpleQueue[tuple[str, str]] = queue.SimpleQueue()
        for build in pending_builds(connection):
            builds.put(build)
    count = builds.qsize()
    sessions = min(SESSIONS, count)

    def work() -> None:
        with engine.connect() as connection:
            while True:
                try:
                    name, definition = builds.get_nowait()
                except queue.Empty:
                    return
                build_index(connection, name, definition, alone=sessions == 1)
                connection.commit()

    run_in_threads([work] * sessions)
    return count


@contextmanager
def threads_running(jobs: Sequence[Callable[[], None]]) -> Iterator[None]:
    """Run each job in a thread of its own while the body runs, and wait for them all at the
    end. Then raise what went wrong first: an error that is not just a consequence of
    another (Stopped), from the body or a job."""
    errors: list[BaseException] = []

    def guarded(job: Callable[[], None]) -> None:
        try:
            job()
        except BaseException as error:  # handed to the thread that waits for this one
            errors.append(error)

    threads = [threading.Thread(target=guarded, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    try:
        yield
    except BaseException as error:
        errors.insert(0, error)
    finally:
        for thread in threads:
            thread.join()
    if errors:
        raise next((e for e in errors if not isinstance(e, Stopped)), errors[0])


def run_in_threads(jobs: Sequence[Callable[[], None]]) -> None:
    with threads_running(jobs):
        pass


# --- an empty catalogue ----------------------------------------------------------------------


def reserve_empty_catalogue(connection: Connection, count: int) -> int | None:
    """If books is empty: reserve COUNT ids, drop the secondary indexes, commit, and return
    the first id. Writers wait meanwhile, so no book slips in between the check and the drop.
    None (and nothing changed) when the table has rows."""
    connection.execute(text("LOCK TABLE books IN SHARE ROW EXCLUSIVE MODE"))
    if connection.scalar(text("SELECT 1 FROM books LIMIT 1")) is not None:
        connection.rollback()
        return None
    first = connection.scalar(text("SELECT nextval(pg_get_serial_sequence('books', 'id'))"))
    connection.execute(
        text("SELECT setval(pg_get_serial_sequence('books', 'id'), :last)"),
        {"last": first + count - 1},
    )
    drop_secondary_indexes(connection)
    connection.commit()
    return int(first)


Outlet = queue.Queue[list[Row] | None]


def batches_from(outlet: Outlet, stop: threading.Event) -> Iterator[list[Row]]:
    """The batches handed to one session, until None; an error once STOP is set and none is
    left (the rows stopped coming because something failed)."""
    while True:
        try:
            batch = outlet.get(timeout=0.2)
        except queue.Empty:
            if stop.is_set():
                raise Stopped("The seed stopped: another loading session failed.") from None
            continue
        if batch is None:
            return
        yield batch


def copy_batches(engine: Engine, outlet: Outlet, stop: threading.Event) -> None:
    """One loading session: COPY what it is handed, then commit.

    It commits as soon as its COPY ends: the catalogue counter's trigger locks the counter's
    row until then, and the other sessions' triggers wait for that lock. An error aborts the
    COPY, and the session's rows go with it.
    """
    try:
        with engine.connect() as connection:
            skip_word_trigger(connection)
            rows = (row for batch in batches_from(outlet, stop) for row in batch)
            copy_rows(connection, rows, f"id, {COLUMNS}")
            connection.commit()
    except BaseException:
        stop.set()
        raise


def hand_out(
    rows: Iterable[Row],
    first_id: int,
    outlets: list[Outlet],
    stop: threading.Event,
    progress: Progress,
) -> None:
    """Number the rows from FIRST_ID and deal them out to the sessions a batch at a time,
    then None to each; it gives up when STOP is set (a session failed)."""

    def put(outlet: Outlet, item: list[Row] | None) -> None:
        while True:
            if stop.is_set():
                raise Stopped("The seed stopped: a loading session failed.")
            try:
                outlet.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    batch: list[Row] = []
    turn = 0
    for number, row in enumerate(rows, first_id):
        batch.append((number, *row))
        if len(batch) == BATCH_ROWS:
            put(outlets[turn % len(outlets)], batch)
            progress(len(batch))
            batch, turn = [], turn + 1
    if batch:
        put(outlets[turn % len(outlets)], batch)
        progress(len(batch))
    for outlet in outlets:
        put(outlet, None)


def load_in_parallel(
    engine: Engine, rows: Iterable[Row], first_id: int, progress: Progress
) -> None:
    """COPY ROWS with ids from FIRST_ID through SESSIONS sessions at once; this thread makes
    the rows, the sessions' threads send them."""
    outlets: list[Outlet] = [queue.Queue(maxsize=4) for _ in range(SESSIONS)]
    stop = threading.Event()
    loaders = [partial(copy_batches, engine, outlet, stop) for outlet in outlets]
    with threads_running(loaders):
        try:
            hand_out(rows, first_id, outlets, stop, progress)
        except BaseException:
            stop.set()
            raise


def seed_empty(
    engine: Engine, rows: Iterable[Row], first_id: int, count: int, progress: Progress
) -> None:
    """Load into the emptied catalogue; if that fails, take out whatever one of the sessions
    had already committed (the reserved ids are the seed's alone) and rebuild the indexes."""
    try:
        load_in_parallel(engine, rows, first_id, progress)
    except BaseException:
        with engine.connect() as connection:
            connection.execute(
                text("DELETE FROM books WHERE id BETWEEN :first AND :last"),
                {"first": first_id, "last": first_id + count - 1},
            )
            connection.commit()
        build_pending_indexes(engine)
        raise


# --- a catalogue with rows -------------------------------------------------------------------


def seed_in_one_transaction(
    connection: Connection, rows: Iterable[Row], vocabulary: Sequence[str]
) -> None:
    """Drop the indexes, COPY, add the vocabulary and rebuild, all in one transaction."""
    drop_secondary_indexes(connection)
    skip_word_trigger(connection)
    copy_rows(connection, rows)
    add_vocabulary(connection, vocabulary)
    for name, definition in pending_builds(connection):
        build_index(connection, name, definition)
    connection.commit()


def seed_in_batches(connection: Connection, rows: Iterable[Row], size: int) -> None:
    """COPY a batch at a time through the indexes, each batch committed."""
    connection.rollback()  # a fresh transaction per batch, begun where SQLAlchemy sees it
    for batch in batched(rows, size):
        with connection.begin():
            copy_rows(connection, batch)


def batched(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    """ROWS in lists of SIZE (the last one shorter)."""
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def copy_rows(connection: Connection, rows: Iterable[Row], columns: str = COLUMNS) -> None:
    """COPY ROWS on the driver's cursor, in the transaction CONNECTION has begun (one the
    driver began on its own would end, uncommitted, when the connection goes back)."""
    assert connection.in_transaction()
    cursor = connection.connection.driver_connection.cursor()
    with cursor, cursor.copy(f"COPY books ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def add_vocabulary(connection: Connection, vocabulary: Sequence[str]) -> None:
    """The typo dictionary's words for a load that skipped its trigger: the words its rows
    are made of, in one statement instead of splitting every row."""
    connection.execute(
        text(
            "INSERT INTO search_words (word) SELECT unnest(CAST(:words AS text[])) "
            "ON CONFLICT DO NOTHING"
        ),
        {"words": list(vocabulary)},
    )


def fewer_rows_than(connection: Connection, count: int) -> bool:
    capped = text("SELECT count(*) FROM (SELECT 1 FROM books LIMIT :count) AS existing")
    return (connection.scalar(capped, {"count": count}) or 0) < count


def counted(rows: Iterable[Row], progress: Progress, every: int) -> Iterator[Row]:
    """Pass the rows through, reporting progress every EVERY rows."""
    done = 0
    for done, row in enumerate(rows, 1):
        yield row
        if done % every == 0:
            progress(every)
    progress(done % every)


# --- the whole seed ---------------------------------------------------------------------------


def seed_postgres(
    rows: Iterable[Row],
    count: int,
    batch_size: int,
    vocabulary: Sequence[str],
    progress: Progress,
) -> None:
    """Load COUNT ROWS the fastest way the catalogue allows (see the module's notes), then
    analyse the table; VOCABULARY is what ROWS are made of, for the typo dictionary."""
    engine = db.engine
    with one_seed_at_a_time(engine):
        finish_interrupted_seed(engine)
        with engine.connect() as connection:
            first_id = reserve_empty_catalogue(connection, count)
        if first_id is not None:
            seed_empty(engine, rows, first_id, count, progress)
            with engine.connect() as connection:
                add_vocabulary(connection, vocabulary)
                journal_recent_index(connection)
                connection.commit()
            click.echo("Building the indexes.")
            build_pending_indexes(engine)
        else:
            with engine.connect() as connection:
                if fewer_rows_than(connection, count):
                    click.echo("Copying, then rebuilding the indexes, in one transaction.")
                    seed_in_one_transaction(
                        connection, counted(rows, progress, batch_size), vocabulary
                    )
                else:
                    seed_in_batches(connection, counted(rows, progress, batch_size), batch_size)
        with engine.connect() as connection:
            connection.execute(text("ANALYZE books"))
            connection.commit()
        # After an empty catalogue's load it is already where it should be; a load into a
        # catalogue with books may have moved the newest id past where it starts.
        move_recent_index(engine)
