"""The newest books' own full-text index (PostgreSQL): built by `flask seed`, the migration and
`flask search-index`, moved as the catalogue grows, and used by a search whose id floor lies
among the newest books, which finds the same books with it as without it."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import downgrade, upgrade
from sqlalchemy import event, text

from bookshelf import seeding
from bookshelf.extensions import db
from bookshelf.search import queries, recent_index
from bookshelf.search.terms import parse
from bookshelf_fixtures import ON_POSTGRES
from bookshelf_helpers import add_books, make_rows, needles

pytestmark = ON_POSTGRES

INDEXES = "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'books' ORDER BY 1"
RECENT = "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_books_search_recent'"
TITLE = 'class="book-title" href="/books/'


@pytest.fixture(autouse=True)
def no_index_left_behind(app: Flask) -> Iterator[None]:
    # The PostgreSQL test database lives for the whole session and is only truncated between
    # tests: an index one test built would move under another test's seed.
    yield
    with app.app_context():
        for statement in recent_index.DROP_ALL:
            db.session.execute(text(statement))
        db.session.commit()


@pytest.fixture
def recent_books(monkeypatch: pytest.MonkeyPatch) -> int:
    # A catalogue of hundreds behaves like one of millions: a boundary 40 ids below the newest.
    monkeypatch.setattr(recent_index, "RECENT_BOOKS", 40)
    return 40


def fetch(app: Flask, statement: str) -> list[tuple[Any, ...]]:
    with app.app_context():
        return [tuple(row) for row in db.session.execute(text(statement))]


def run(app: Flask, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def recent_definition(app: Flask) -> str | None:
    rows = fetch(app, RECENT)
    return rows[0][0] if rows else None


def test_a_seed_builds_it_beside_the_other_indexes(
    app: Flask, recent_books: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    others = fetch(app, INDEXES)
    moves: list[object] = []
    # Built from the seed's journal with the others, not by the move at the end.
    monkeypatch.setattr(seeding, "move_recent_index", moves.append)
    run(app, "seed", "--count", "200")
    assert len(moves) == 1
    # The boundary sits RECENT_BOOKS below the newest of the 200 ids.
    assert recent_definition(app) == (
        "CREATE INDEX ix_books_search_recent ON public.books USING gin (search_vector) "
        "WHERE (id >= 161)"
    )
    assert [i for i in fetch(app, INDEXES) if i[0] != "ix_books_search_recent"] == others
    assert fetch(app, "SELECT * FROM pending_index_builds") == []


def test_a_small_catalogue_has_none_and_a_growing_one_moves_it(
    app: Flask, recent_books: int
) -> None:
    add_books(app, make_rows(60))  # ids 1-60: at most twice RECENT_BOOKS
    assert "small enough for one full-text index" in run(app, "search-index")
    assert recent_definition(app) is None
    add_books(app, make_rows(40))  # 100 ids
    assert "now starts at id 61" in run(app, "search-index")
    add_books(app, make_rows(10))  # it covers 50 ids: not yet half as many again
    assert "already starts at id 61" in run(app, "search-index")
    add_books(app, make_rows(20))  # 70 ids: moved up
    assert "now starts at id 91" in run(app, "search-index")
    assert recent_definition(app).endswith("WHERE (id >= 91)")
    assert [name for (name, _) in fetch(app, INDEXES) if "recent" in name] == [
        "ix_books_search_recent"
    ]  # the replacement took the old one's name; nothing is left behind
    assert fetch(app, "SELECT count(*) FROM pg_index WHERE NOT indisvalid") == [(0,)]
    with app.app_context():
        db.session.execute(text("DELETE FROM books WHERE id <= 60"))  # 70 ids left
        db.session.commit()
    assert "small enough for one full-text index" in run(app, "search-index")
    assert recent_definition(app) is None


def test_a_move_that_died_half_way_leaves_nothing_behind(app: Flask, recent_books: int) -> None:
    add_books(app, make_rows(100))
    # What a run killed during its build, or between the swap and the drop, leaves.
    with app.app_context():
        for name in (recent_index.REPLACEMENT, recent_index.RETIRED):
            db.session.execute(text(recent_index.definition(5, name)))
        db.session.commit()
    assert "now starts at id 61" in run(app, "search-index")
    assert [name for (name, _) in fetch(app, INDEXES) if "recent" in name] == [
        "ix_books_search_recent"
    ]


def test_it_waits_for_no_seed_and_no_seed_waits_for_it(app: Flask, recent_books: int) -> None:
    add_books(app, make_rows(100))
    with app.app_context(), db.engine.connect() as other:
        other.execute(text("SELECT pg_advisory_lock(:key)"), {"key": seeding.INDEXES_LOCK})
        result = app.test_cli_runner().invoke(args=["search-index"])
        other.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": seeding.INDEXES_LOCK})
    assert result.exit_code == 1
    assert "Another `flask seed` or `flask search-index` is running" in result.output
    assert recent_definition(app) is None
    assert "now starts at id 61" in run(app, "search-index")


def test_it_finishes_the_builds_an_interrupted_seed_left(app: Flask, recent_books: int) -> None:
    add_books(app, make_rows(100))
    indexes = fetch(app, INDEXES)
    with app.app_context(), db.engine.connect() as connection:
        seeding.drop_secondary_indexes(connection)  # a seed killed before it rebuilt them
        connection.commit()
    output = run(app, "search-index")
    assert "Rebuilt 10 indexes that an interrupted seed had dropped." in output
    assert "now starts at id 61" in output
    assert [i for i in fetch(app, INDEXES) if i[0] != "ix_books_search_recent"] == indexes
    assert fetch(app, "SELECT * FROM pending_index_builds") == []


def test_the_migration_builds_it_and_takes_it_away(app: Flask, recent_books: int) -> None:
    add_books(app, make_rows(100))
    with app.app_context():
        downgrade(revision="0016_version_per_transaction")
        assert recent_definition(app) is None
        upgrade()
    assert recent_definition(app).endswith("WHERE (id >= 61)")


@pytest.mark.usefixtures("small_windows")
def test_a_search_with_a_floor_among_the_newest_reads_their_index(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recent_index, "RECENT_BOOKS", 125)
    add_books(app, needles(300, every=10))
    run(app, "search-index")  # starts at id 176
    statements: list[tuple[str, Any]] = []
    with app.app_context():

        def remember(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
            statements.append((statement, params))

        event.listen(db.engine, "before_cursor_execute", remember)
        try:
            with_index = client.get("/search?term=needle&sort=newest").get_data(as_text=True)
        finally:
            event.remove(db.engine, "before_cursor_execute", remember)
        floored = [(s, p) for s, p in statements if "b.id >= %(floor)s" in s]
        assert len(floored) == 1
        statement, params = floored[0]
        # Two needles among the 20 newest: the newest 6 expected above 300 - 2 * 6 * 10.
        assert params["floor"] == 180
        with db.engine.connect() as connection:
            # A table this small would be read whole, or along its primary key: the choice
            # left is between the two full-text indexes (each beside the BRIN index or not).
            connection.execute(text("ANALYZE books"))
            connection.execute(text("SET LOCAL enable_seqscan = off"))
            connection.execute(text("SET LOCAL enable_indexscan = off"))
            plan = "\n".join(connection.exec_driver_sql("EXPLAIN " + statement, params).scalars())
        assert "ix_books_search_recent" in plan
        assert "ix_books_search_vector" not in plan
    titles = [f"Book {n:03d}" for n in range(300, 240, -10)]
    assert with_index.count(TITLE) == 6 and all(t in with_index for t in titles)
    with app.app_context():
        db.session.execute(text("DROP INDEX ix_books_search_recent"))
        db.session.commit()
    without = client.get("/search?term=needle&sort=newest").get_data(as_text=True)
    assert without == with_index


def mixed_rates(count: int, layout: int) -> tuple[list[dict[str, object]], list[int]]:
    """COUNT books whose reviews hold "needle" at a rate that changes along the ids (denser
    or sparser below the newest), with the ids of the needles."""
    rng = random.Random(layout)
    # The newest sixth sets the rate the floor is placed by (two to four needles among the 20
    # newest books): the older ones may fall short of it or exceed it.
    rates = [rng.choice((0.02, 0.05, 0.1, 0.2)) for _ in range(5)] + [rng.choice((0.1, 0.15))]
    rows, ids = [], []
    for n, row in enumerate(make_rows(count), 1):
        needle = rng.random() < rates[(n - 1) * len(rates) // count]
        rows.append({**row, "review": "needle" if needle else "hay"})
        if needle:
            ids.append(n)
    return rows, ids


@pytest.mark.usefixtures("small_windows")
@pytest.mark.parametrize("layout", range(8))
def test_the_floor_finds_the_same_newest_matches_as_reading_them_all(
    app: Flask, monkeypatch: pytest.MonkeyPatch, layout: int
) -> None:
    monkeypatch.setattr(recent_index, "RECENT_BOOKS", 125)
    rows, needles_ = mixed_rates(300, layout)
    add_books(app, rows)
    run(app, "search-index")
    with app.app_context():
        found = queries.candidates(parse("needle"), ranked=False)
    assert [c.id for c in found] == sorted(needles_, reverse=True)[: queries.COUNT_CAP + 1]
