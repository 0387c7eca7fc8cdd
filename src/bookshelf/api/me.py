"""The signed-in reader's own shelves under /api/v1/me: the same rules as the book page."""

from __future__ import annotations

import math
from typing import Any

from flask import abort, url_for
from flask.views import MethodView
from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate
from werkzeug.wrappers import Response

from bookshelf.api import bp
from bookshelf.api.routes import operation, require_user
from bookshelf.api.schemas import BookSchema, PageLinksSchema, UtcDateTime
from bookshelf.errors import problem
from bookshelf.extensions import db
from bookshelf.models import SHELVES, TAG_MAX, TAGS_PER_BOOK_MAX, Book, ShelfEntry
from bookshelf.shelves.service import (
    MY_BOOKS_PER_PAGE,
    Placement,
    ShelfError,
    books_on_shelves,
    count_on_shelves,
    entry_for,
    parse_tags,
    place_book,
    shelf_counts,
    tag_counts,
)

# From a shelved book to reading it back and taking it off the shelves again.
ENTRY_LINKS = {
    name: {"operationId": name, "parameters": {"book_id": "$response.body#/book/id"}}
    for name in ("getMyShelfEntry", "unshelveBook")
}
# No control characters (a tab, a newline, NUL) in a shelf name.
TAG_PATTERN = "^[^\\u0000-\\u001f]*$"
SHELF_DESCRIPTION = "`want` (Want to read), `reading` or `read`."


class FlatList(fields.List):
    """A list whose item errors read "Item 2: ..." in one list of messages, as `errors` promises
    (marshmallow would nest them in an object keyed by index)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[Any]:
        try:
            return super()._deserialize(value, attr, data, **kwargs)
        except ValidationError as error:
            if not isinstance(error.messages, dict):
                raise
            flat = [
                f"Item {index}: {message}"
                for index, messages in error.messages.items()
                for message in (messages if isinstance(messages, list) else [messages])
            ]
            raise ValidationError(flat) from error


class ShelfCountsSchema(Schema):
    want = fields.Integer(required=True)
    reading = fields.Integer(required=True)
    read = fields.Integer(required=True)


class TagCountSchema(Schema):
    name = fields.String(required=True)
    count = fields.Integer(required=True)


class MyShelvesSchema(Schema):
    shelves = fields.Nested(ShelfCountsSchema, required=True)
    tags = fields.List(
        fields.Nested(TagCountSchema),
        required=True,
        metadata={"description": "The reader's own named shelves, with how many books each."},
    )


class ShelfEntrySchema(Schema):
    book = fields.Nested(BookSchema, required=True)
    shelf = fields.String(
        required=True, validate=validate.OneOf(SHELVES), metadata={"description": SHELF_DESCRIPTION}
    )
    started_on = fields.Date(required=True, allow_none=True)
    finished_on = fields.Date(required=True, allow_none=True)
    tags = fields.List(
        fields.String(),
        required=True,
        attribute="tag_names",
        metadata={"description": "The reader's own named shelves the book is on."},
    )
    added_at = UtcDateTime(required=True, metadata={"description": "When it was first shelved."})


class ShelfEntryPageMetaSchema(Schema):
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)


class ShelfEntryPageSchema(Schema):
    items = fields.List(fields.Nested(ShelfEntrySchema), required=True)
    meta = fields.Nested(ShelfEntryPageMetaSchema, required=True)
    links = fields.Nested(PageLinksSchema, required=True)


class ShelfEntryArgsSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # tolerate cache-busters and the like in query strings

    shelf = fields.String(
        validate=validate.OneOf(SHELVES), metadata={"description": SHELF_DESCRIPTION}
    )
    tag = fields.String(
        validate=validate.Length(max=TAG_MAX),
        metadata={"description": "Only books on this named shelf (case does not matter)."},
    )
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000))
    per_page = fields.Integer(
        load_default=MY_BOOKS_PER_PAGE, validate=validate.Range(min=1, max=100)
    )


class ShelfEntryInputSchema(Schema):
    class Meta:
        unknown = RAISE

    shelf = fields.String(
        required=True, validate=validate.OneOf(SHELVES), metadata={"description": SHELF_DESCRIPTION}
    )
    started_on = fields.Date(allow_none=True, load_default=None)
    finished_on = fields.Date(allow_none=True, load_default=None)
    tags = FlatList(
        fields.String(validate=[validate.Length(max=TAG_MAX), validate.Regexp(TAG_PATTERN)]),
        load_default=list,
        validate=validate.Length(max=TAGS_PER_BOOK_MAX),
        metadata={
            "description": "The reader's own shelf names; blanks are dropped, and names that "
            "differ only in case are one shelf."
        },
    )


def shelf_problem(error: ShelfError) -> Response:
    return problem(422, "Some fields are invalid; see `errors`.", {error.field: [error.message]})


def find_book(book_id: int) -> Book:
    book = db.session.get(Book, book_id)
    if book is None:
        abort(404, description=f"There is no book with id {book_id}.")
    return book


@bp.route("/me/shelves", endpoint="my_shelves", methods=["GET"])
@bp.response(200, MyShelvesSchema)
@operation("getMyShelves", auth=True)
def my_shelves() -> dict[str, Any]:
    """How many books are on each of your shelves, and your own named shelves."""
    user = require_user()
    tags = [{"name": name, "count": count} for name, count in tag_counts(user.id)]
    return {"shelves": shelf_counts(user.id), "tags": tags}


@bp.route("/me/shelves/books", endpoint="my_shelved_books", methods=["GET"])
@bp.arguments(ShelfEntryArgsSchema, location="query")
@bp.response(200, ShelfEntryPageSchema)
@operation("listMyShelvedBooks", 404, 422, auth=True)
def my_shelved_books(args: dict[str, Any]) -> dict[str, Any]:
    """Your shelved books, the latest shelved first; filter by `shelf` and `tag`."""
    user = require_user()
    shelf, tag, page, per_page = args.get("shelf"), args.get("tag"), args["page"], args["per_page"]
    entries, has_next = books_on_shelves(user.id, shelf, tag, page, per_page)
    total = count_on_shelves(user.id, shelf, tag)
    if not entries and page > 1:
        abort(404, description="That page is past the end of the list.")
    last = max(math.ceil(total / per_page), 1)

    def link(number: int) -> str:
        return url_for("api.my_shelved_books", shelf=shelf, tag=tag, page=number, per_page=per_page)

    links = {
        "self": link(page),
        "first": link(1),
        "prev": link(page - 1) if page > 1 else None,
        "next": link(page + 1) if has_next else None,
        "last": link(last),
    }
    return {
        "items": entries,
        "meta": {"total": total, "page": page, "per_page": per_page},
        "links": links,
    }


@bp.route("/me/shelves/books/<id:book_id>", endpoint="my_shelf_entry")
class MyShelfEntry(MethodView):
    @bp.response(200, ShelfEntrySchema)
    @operation("getMyShelfEntry", 404, auth=True)
    def get(self, book_id: int) -> ShelfEntry:
        """Which of your shelves the book is on (404 when it is on none)."""
        entry = entry_for(require_user().id, find_book(book_id).id)
        if entry is None:
            abort(404, description=f"Book {book_id} is not on your shelves.")
        return entry

    @bp.arguments(ShelfEntryInputSchema)
    @bp.response(200, ShelfEntrySchema)
    @bp.alt_response(201, schema=ShelfEntrySchema, description="Put on a shelf for the first time.")
    @bp.doc(responses={200: {"links": ENTRY_LINKS}, 201: {"links": ENTRY_LINKS}})
    @operation("shelveBook", 404, 415, 422, auth=True)
    def put(self, data: dict[str, Any], book_id: int) -> Response | tuple[ShelfEntry, int]:
        """Put the book on one of your shelves, with dates and named shelves (all replaced).

        A start date goes with `reading` or `read`, a finish date with `read` only, not before
        the start and not in the future; a 422 names the field that breaks a rule."""
        user = require_user()
        book = find_book(book_id)
        try:
            tags = parse_tags(",".join(data["tags"]))
            placement = Placement(data["shelf"], data["started_on"], data["finished_on"], tags)
            new = entry_for(user.id, book.id) is None
            entry = place_book(user.id, book, placement)
        except ShelfError as error:
            return shelf_problem(error)
        assert entry is not None  # a shelf was given
        return entry, 201 if new else 200

    @bp.response(204)
    @operation("unshelveBook", 404, auth=True)
    def delete(self, book_id: int) -> tuple[str, int]:
        """Take the book off your shelves (its named shelves go with it). Idempotent: 204 also
        when it was on none; 404 only for a book that does not exist."""
        user = require_user()
        book = find_book(book_id)
        place_book(user.id, book, Placement(None))
        return "", 204
