"""`flask init-db`, `flask seed-classics`, `flask seed` and `flask search-index`: schema and
data from the shell."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from math import floor

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import insert, inspect, select

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
    # Imported here: only this command loads books in bulk, and a web worker would carry it.
    from bookshelf.seeding import SeedError, batched, seed_postgres

    started = time.perf_counter()
    rows = synthetic_books(count, random_seed)
    with click.progressbar(length=count, label="Seeding books") as bar:
        if is_postgres():
            try:
                seed_postgres(rows, count, batch_size, seed_vocabulary(), bar.update)
            except SeedError as error:
                raise click.ClickException(str(error)) from error
        else:
            for batch in batched(rows, batch_size):
                insert_into_sqlite(batch)
                db.session.commit()
                bar.update(len(batch))
    elapsed = time.perf_counter() - started
    click.echo(f"Inserted {count} books in {elapsed:.1f} s ({count / elapsed:,.0f} rows/s).")


@click.command("search-index")
@with_appcontext
def search_index() -> None:
    """Create or move the newest books' full-text index (PostgreSQL), while the app runs."""
    if not is_postgres():
        click.echo("Only PostgreSQL has a separate index for the newest books; nothing to do.")
        return
    from bookshelf.search.recent_index import RECENT_BOOKS
    from bookshelf.seeding import SeedError, refresh_recent_index

    try:
        done = refresh_recent_index(db.engine)
    except SeedError as error:
        raise click.ClickException(str(error)) from error
    if done.wanted is None:
        click.echo(
            f"The catalogue is small enough for one full-text index (ids span at most "
            f"{2 * RECENT_BOOKS:,}); the newest books have none of their own."
        )
    else:
        action = "now starts" if done.changes else "already starts"
        click.echo(f"The newest books' full-text index {action} at id {done.wanted:,}.")


def seed_vocabulary() -> list[str]:
    """The typo dictionary's words of every synthetic book: titles and authors use only WORDS,
    FIRST_NAMES and LAST_NAMES (plus numbers, which the dictionary leaves out)."""
    return suggestion_words(" ".join([*WORDS, *FIRST_NAMES, *LAST_NAMES]))


def register_cli(app: Flask) -> None:
    from bookshelf.goodreads.cli import import_goodreads

    for command in (
        init_db,
        seed_classics,
        create_admin,
        create_token,
        seed,
        search_index,
        import_goodreads,
    ):
        app.cli.add_command(command)
