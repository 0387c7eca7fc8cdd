from __future__ import annotations

import click
from flask import abort, send_file
from flask.cli import with_appcontext
from sqlalchemy import select
from werkzeug.wrappers import Response

from bookshelf.covers import bp
from bookshelf.covers.storage import PRUNE_GRACE_SECONDS, CoverStore
from bookshelf.extensions import db
from bookshelf.models import Book

# A file never changes under its name (the name is its hash): caches may keep it for a year.
ONE_YEAR = 365 * 24 * 3600


@bp.get("/<name>")
def image(name: str) -> Response:
    """A cover file; any name that is not `<sha256>.webp` or `<sha256>-thumb.webp` is a 404."""
    path = CoverStore.for_app().path(name)
    if path is None:
        abort(404)
    response = send_file(
        path, mimetype="image/webp", etag=name.removesuffix(".webp"), max_age=ONE_YEAR
    )
    response.cache_control.public = True
    response.cache_control.immutable = True
    return response


@click.command("prune-covers")
@with_appcontext
@click.option(
    "--older-than-hours",
    type=click.FloatRange(min=0),
    default=PRUNE_GRACE_SECONDS / 3600,
    show_default=True,
    help="Keep files younger than this: their upload may not be committed yet.",
)
def prune_covers(older_than_hours: float) -> None:
    """Delete cover files that no book refers to."""
    referenced = db.session.scalars(select(Book.cover).where(Book.cover.is_not(None)).distinct())
    removed = CoverStore.for_app().prune(set(referenced), older_than_hours * 3600)
    click.echo(f"Removed {removed} files no book refers to.")
