"""Conditional requests on books: a strong ETag and a Last-Modified date.

The ETag is a hash of exactly what a GET returns: it changes whenever any field a client sees
changes, and two servers compute the same tag for the same book. Last-Modified is the book's
`updated_at`, which the app sets on every insert and update (books that predate it count from
the day they were added, at midnight UTC). HTTP dates have one-second resolution, so two changes
within a second share a date: the ETag is the exact validator, the date the coarse one.

Precedence follows RFC 9110 section 13.2.2: If-None-Match decides and If-Modified-Since is
ignored when both are sent; likewise If-Match over If-Unmodified-Since. A date that is not a
valid HTTP-date is ignored, as if the header were absent.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from flask import abort, request
from werkzeug.http import http_date
from werkzeug.wrappers import Response

from bookshelf.models import Book


def book_etag(book: Book) -> str:
    """The quoted strong entity tag of the book's JSON representation."""
    from bookshelf.api.schemas import BookSchema

    body = json.dumps(BookSchema().dump(book), sort_keys=True, separators=(",", ":"))
    return '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'


def last_modified(book: Book) -> dt.datetime:
    """The book's modification time, cut to the whole second an HTTP-date can carry."""
    return book.last_modified.replace(microsecond=0)


def validator_headers(book: Book) -> dict[str, str]:
    return {"ETag": book_etag(book), "Last-Modified": http_date(last_modified(book))}


def not_modified(book: Book) -> Response | None:
    """304 when the client's copy is current: If-None-Match (weak comparison), else the date."""
    etag = book_etag(book)
    if request.if_none_match:
        current = request.if_none_match.contains_weak(etag.strip('"'))
    elif request.if_modified_since is not None:
        current = last_modified(book) <= request.if_modified_since
    else:
        current = False
    if not current:
        return None
    # The ETag only: a 304 carries no other representation metadata (RFC 9110, 15.4.5).
    response = Response(status=304)
    response.headers["ETag"] = etag
    return response


def check_if_match(book: Book) -> None:
    """A write that names the version it expects changes nothing if the book moved on (412)."""
    if request.if_match:
        if not request.if_match.contains(book_etag(book).strip('"')):
            abort(
                412,
                description="The book changed since you read it (If-Match does not match its "
                "ETag): GET it again, then retry.",
            )
        return
    since = request.if_unmodified_since
    if since is not None and last_modified(book) > since:
        abort(
            412,
            description="The book changed after the If-Unmodified-Since date: GET it again, "
            "then retry.",
        )
    # Neither header: not required, so clients that send none keep working.
