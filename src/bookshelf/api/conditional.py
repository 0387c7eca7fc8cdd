"""Conditional requests on books: a strong ETag from the representation itself.

Books have no modification time (only the date they were added), so the validator is a hash
of exactly what a GET returns: it changes whenever any field a client sees changes, and two
servers compute the same tag for the same book. No Last-Modified is sent: a day-resolution
`date_added` is not a modification time, and a wrong one would let caches keep stale copies.
"""

from __future__ import annotations

import hashlib
import json

from flask import abort, request
from werkzeug.wrappers import Response

from bookshelf.models import Book


def book_etag(book: Book) -> str:
    """The quoted strong entity tag of the book's JSON representation."""
    from bookshelf.api.schemas import BookSchema

    body = json.dumps(BookSchema().dump(book), sort_keys=True, separators=(",", ":"))
    return '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'


def not_modified(book: Book) -> Response | None:
    """304 when the client's If-None-Match already names this version (weak comparison)."""
    etag = book_etag(book)
    if request.if_none_match and request.if_none_match.contains_weak(etag.strip('"')):
        response = Response(status=304)
        response.headers["ETag"] = etag
        return response
    return None


def check_if_match(book: Book) -> None:
    """A write that names the version it expects changes nothing if the book moved on (412)."""
    if not request.if_match:
        return  # not required: clients that send no If-Match keep working
    if not request.if_match.contains(book_etag(book).strip('"')):
        abort(
            412,
            description="The book changed since you read it (If-Match does not match its "
            "ETag): GET it again, then retry.",
        )
