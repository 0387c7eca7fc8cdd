"""`flask init-db`, `flask seed-classics` and `flask seed`: schema and data from the shell."""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from math import floor
from typing import Any

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import func, insert, inspect, select, text

from bookshelf.database import is_postgres
from bookshelf.extensions import db
from bookshelf.models import Book
from bookshelf.text import name_key
from bookshelf.users.accounts import create_user, find_user
from bookshelf.users.passwords import password_problem
from bookshelf.users.tokens import issue_token
from bookshelf.wordforms import keys_of, suggestion_words

CLASSICS = [
    {
        "title": "A Tale of Two Cities",
        "author": "Charles Dickens",
        "pages_num": 489,
        "review": "A great classic!",
    },
    {
        "title": "Anna Karenina",
        "author": "Leo Tolstoy",
        "pages_num": 864,
        "review": "Another great classic!",
    },
]

# Latin and Cyrillic words, so that synthetic catalogues exercise search in both scripts.
WORDS = (
    "river night garden winter letter house silent city storm journey shadow light "
    "memory ocean secret mountain road summer stone island "
    "война мир сад зима письмо дом тихий город буря путь тень свет память море тайна гора"
).split()
FIRST_NAMES = "Anna Leo Maria Ivan Olga Peter Jane Mark Elena Fyodor Clara Hugo".split()
LAST_NAMES = "Dickens Tolstoy Austen Chekhov Brontë Gogol Eliot Turgenev Woolf Pushkin".split()


def books_table_has_rows() -> bool:
    # Its own short connection: a lock held by the session would block DROP TABLE later.
    with db.engine.connect() as connection:
        if not inspect(connection).has_table("books"):
            return False
        return connection.scalar(select(Book.id).limit(1)) is not None


def insert_classics() -> None:
    db.session.execute(insert(Book), CLASSICS)
    db.session.commit()


Row = tuple[str, str, int, str, str | None, str]


def synthetic_books(count: int, seed: int) -> Iterator[Row]:
    rng = random.Random(seed)  # noqa: S311  (reproducible sample data, not secrets)
    # Per row, only the random draws: the keys and name keys of the few words and names are
    # worked out once (keys_of() and name_key() per row took a third of the time). The draws
    # are the ones rng.choices() makes, so a seed gives the same books as it always has.
    draw, randint, choice, n_words = rng.random, rng.randint, rng.choice, len(WORDS)
    key = {w: keys_of([w]) for w in [*WORDS, *(n.lower() for n in FIRST_NAMES + LAST_NAMES)]}
    authors = {(f, la): f"{f} {la}" for f in FIRST_NAMES for la in LAST_NAMES}
    author_keys = {name: name_key(name) for name in authors.values()}
    for number in range(1, count + 1):
        picked = [WORDS[floor(draw() * n_words)] for _ in range(randint(2, 4))]
        first, last = choice(FIRST_NAMES), choice(LAST_NAMES)
        review = " ".join([WORDS[floor(draw() * n_words)] for _ in range(randint(5, 15))])
        # The words are known here: no need to split the title again for its keys.
        found = [key[w] for w in (*picked, first.lower(), last.lower()) if key[w]]
        keys = " ".join(dict.fromkeys(found)) or None
        author = authors[first, last]
        pages = randint(40, 1500)
        title = " ".join(picked).capitalize()
        yield f"{title} {number}", author, pages, review, keys, author_keys[author]


def batches(rows: Iterator[Row], size: int) -> Iterator[list]:
    batch: list = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def copy_into_postgres(rows: Iterable[Row]) -> None:
    connection = db.session.connection().connection.driver_connection
    with (
        connection.cursor() as cursor,
        cursor.copy(
            "COPY books (title, author, pages_num, review, search_keys, author_key) FROM STDIN"
        ) as copy,
    ):
        for row in rows:
            copy.write_row(row)


def counted(rows: Iterator[Row], bar: Any, every: int) -> Iterator[Row]:
    """Pass the rows through, moving the progress bar every EVERY rows."""
    done = 0
    for done, row in enumerate(rows, 1):
        yield row
        if done % every == 0:
            bar.update(every)
    bar.update(done % every)


# Building an index once is several times faster than updating it row by row (the GIN index
# most of all), so a seed at least as large as the table drops the secondary indexes, copies,
# and recreates them, all in one transaction: other sessions wait, never see them missing.
SECONDARY_INDEXES = """
    SELECT quote_ident(c.relname) AS name, pg_get_indexdef(i.indexrelid) AS definition
    FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid
    WHERE i.indrelid = 'books'::regclass
      AND NOT EXISTS (SELECT 1 FROM pg_constraint AS k WHERE k.conindid = i.indexrelid)"""
INDEX_BUILD_MEMORY = "256MB"


def drop_postgres_indexes_for(count: int) -> list[str]:
    """Drop the secondary indexes when the COUNT new rows outnumber the old; their DDL."""
    capped = select(func.count()).select_from(select(Book.id).limit(count).subquery())
    if (db.session.scalar(capped) or 0) >= count:
        return []
    indexes = db.session.execute(text(SECONDARY_INDEXES)).all()
    for index in indexes:
        db.session.execute(text(f"DROP INDEX {index.name}"))
    return [index.definition for index in indexes]


def recreate_postgres_indexes(definitions: list[str]) -> None:
    # SET LOCAL ends with this transaction; the server default is sized for many sessions.
    db.session.execute(text(f"SET LOCAL maintenance_work_mem = '{INDEX_BUILD_MEMORY}'"))
    for definition in definitions:
        db.session.execute(text(definition))


@contextmanager
def seed_vocabulary_instead_of_word_trigger() -> Iterator[None]:
    """Fill the typo dictionary from the seed's own word lists, not from a million rows.

    Synthetic titles and authors use only WORDS, FIRST_NAMES and LAST_NAMES (plus numbers,
    which the dictionary leaves out), so the result is the same as the trigger's, for one
    insert instead of splitting every row. Inside the seed's transaction, like the drop.
    """
    db.session.execute(text("ALTER TABLE books DISABLE TRIGGER books_search_words_insert"))
    yield
    db.session.execute(text("ALTER TABLE books ENABLE TRIGGER books_search_words_insert"))
    vocabulary = suggestion_words(" ".join([*WORDS, *FIRST_NAMES, *LAST_NAMES]))
    db.session.execute(
        text(
            "INSERT INTO search_words (word) SELECT unnest(CAST(:words AS text[])) "
            "ON CONFLICT DO NOTHING"
        ),
        {"words": vocabulary},
    )


def insert_into_sqlite(batch: list[Row]) -> None:
    keys = ("title", "author", "pages_num", "review", "search_keys", "author_key")
    db.session.execute(insert(Book), [dict(zip(keys, row, strict=True)) for row in batch])


@click.command("init-db")
@with_appcontext
@click.option("--yes", is_flag=True, help="Destroy the existing books without asking.")
def init_db(yes: bool) -> None:
    """Recreate the schema and seed the two classic novels."""
    # Imported here: Alembic and Mako cost every web worker 11 MB and only the CLI needs them.
    from flask_migrate import downgrade, upgrade

    if books_table_has_rows() and not yes:
        raise click.ClickException(
            "The database already holds books; init-db would delete them all. "
            "Run again with --yes to do that."
        )
    downgrade(revision="base")
    upgrade()
    insert_classics()
    click.echo("Initialised the database with 2 books.")


@click.command("seed-classics")
@with_appcontext
def seed_classics() -> None:
    """Add the two classics if the catalogue is empty (what `make run` does)."""
    if books_table_has_rows():
        click.echo("The catalogue already has books; nothing to seed.")
        return
    insert_classics()
    click.echo("Seeded 2 classics.")


@click.command("create-admin")
@with_appcontext
@click.argument("username")
def create_admin(username: str) -> None:
    """Make USERNAME an admin; create the account (asking for a password) if it is new."""
    user = find_user(username)
    if user is not None:
        user.is_admin = True
        db.session.commit()
        click.echo(f"{user.username} is now an admin.")
        return
    password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    problem = password_problem(password)
    if problem is not None:
        raise click.ClickException(problem)
    user = create_user(username, password, is_admin=True)
    click.echo(f"Created the admin {user.username}.")


@click.command("create-token")
@with_appcontext
@click.argument("username")
@click.argument("name", default="command line")
def create_token(username: str, name: str) -> None:
    """Print a new personal API token for USERNAME (shown once; only its hash is kept)."""
    user = find_user(username)
    if user is None:
        raise click.ClickException(f"There is no user {username!r}.")
    _record, token = issue_token(user, name)
    click.echo(token)


@click.command("seed")
@with_appcontext
@click.option("--count", default=1000, show_default=True, type=click.IntRange(1, 50_000_000))
@click.option("--batch-size", default=10_000, show_default=True, type=click.IntRange(1))
@click.option("--seed", "random_seed", default=1, show_default=True, help="Random seed.")
def seed(count: int, batch_size: int, random_seed: int) -> None:
    """Insert COUNT synthetic books, in batches (COPY on PostgreSQL)."""
    postgres = is_postgres()
    write_batch = copy_into_postgres if postgres else insert_into_sqlite
    started = time.perf_counter()
    dropped = drop_postgres_indexes_for(count) if postgres else []
    rows = synthetic_books(count, random_seed)
    with click.progressbar(length=count, label="Seeding books") as bar:
        if dropped:
            # One transaction and one COPY: the server parses while Python generates.
            with seed_vocabulary_instead_of_word_trigger():
                copy_into_postgres(counted(rows, bar, batch_size))
        else:
            for batch in batches(rows, batch_size):
                write_batch(batch)
                db.session.commit()
                bar.update(len(batch))
    if dropped:
        click.echo(f"Rebuilding {len(dropped)} indexes.")
        recreate_postgres_indexes(dropped)
        db.session.commit()
    if postgres:
        db.session.execute(db.text("ANALYZE books"))
        db.session.commit()
    elapsed = time.perf_counter() - started
    click.echo(f"Inserted {count} books in {elapsed:.1f} s ({count / elapsed:,.0f} rows/s).")


def register_cli(app: Flask) -> None:
    from bookshelf.goodreads.cli import import_goodreads

    for command in (init_db, seed_classics, create_admin, create_token, seed, import_goodreads):
        app.cli.add_command(command)
