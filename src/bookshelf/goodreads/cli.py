"""`flask import-goodreads FILE --user NAME`: a Goodreads export into a reader's shelves."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext
from flask_babel import force_locale

from bookshelf.goodreads.csvfile import GoodreadsFileError, read_rows
from bookshelf.users.accounts import find_user


@click.command("import-goodreads")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--user", "username", required=True, help="The reader whose shelves receive it.")
@with_appcontext
def import_goodreads(file: Path, username: str) -> None:
    """Import a Goodreads library export (CSV) into a reader's shelves, all or nothing."""
    # Imported here: every app registers this command, and a web worker never runs it.
    from bookshelf.goodreads.importer import GoodreadsImport

    user = find_user(username)
    if user is None:
        raise click.ClickException(f"No user named {username!r}.")
    # The command line has no request to choose a language from: messages are in English.
    with force_locale("en"):
        try:
            rows = read_rows(file.read_bytes())
        except GoodreadsFileError as error:
            raise click.ClickException(f"{file}: {error} Nothing was imported.") from error
        job = GoodreadsImport(user.id, rows)
        with click.progressbar(length=len(rows), label="Importing", file=sys.stderr) as bar:
            summary = job.run(write=True, progress=bar.update)
    click.echo(
        f"Imported {summary.total - len(summary.skipped)} of {summary.total} rows for "
        f"{user.username}: {summary.added} books added, {summary.matched} matched, "
        f"{len(summary.skipped)} skipped."
    )
    for reason, count in summary.skip_reasons:
        click.echo(f"  skipped {count}: {reason}")
    for note, count in summary.notes.most_common():
        click.echo(f"  {count} rows: {note}")
