"""Request and response schemas of the JSON API (marshmallow), documented as OpenAPI 3."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, ClassVar

from flask import url_for
from marshmallow import (
    EXCLUDE,
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from bookshelf.books.queries import DEFAULT_PER_PAGE, MAX_JUMP_PAGE, MAX_PER_PAGE, SORT_ORDERS
from bookshelf.books.rules import BOOK_RULES
from bookshelf.isbn import ISBN_PATTERN, InvalidIsbn, to_isbn13
from bookshelf.models import AUTHOR_MAX
from bookshelf.search.queries import (
    MAX_RESULT_PAGES,
    MAX_TERM_LENGTH,
    YEAR_FILTER_MAX,
    YEAR_FILTER_MIN,
)
from bookshelf.text import strip, text_pattern

# Signed cursors carry up to two sort values (a 150-character title at most) and a page number.
MAX_CURSOR_LENGTH = 1024


ISBN_SHAPE_ERROR = "Not an ISBN: send its 10 or 13 digits (an ISBN-10 may end in X)."


class CalendarRange(validate.Range):
    """Range whose maximum moves with the calendar: asked at each check. The OpenAPI
    document shows the value it had when the document was built."""

    def __init__(self, min: int, maximum: Callable[[], int]) -> None:
        self._maximum = maximum
        super().__init__(min=min, max=maximum())

    @property  # type: ignore[override]
    def max(self) -> int:
        return self._maximum()

    @max.setter
    def max(self, _value: object) -> None:
        pass  # always asked of the calendar


class IsbnCheck(validate.Validator):
    """The check digit and prefix, which no JSON Schema pattern can say."""

    # A wrong shape or length is the pattern's to report (ISBN_SHAPE_ERROR), once.
    MESSAGES: ClassVar[dict[str, str]] = {
        "check digit": "Not a valid ISBN: its check digit does not match.",
        "prefix": "Not a book's ISBN: an ISBN-13 starts with 978 or 979.",
    }

    def __call__(self, value: str) -> str:
        try:
            to_isbn13(value)
        except InvalidIsbn as error:
            if error.reason in self.MESSAGES:
                raise ValidationError(self.MESSAGES[error.reason]) from None
        return value


def rule_validators(name: str) -> list[validate.Validator]:
    """marshmallow validators built from the shared BOOK_RULES (the HTML form uses the same)."""
    rule = BOOK_RULES[name]
    checks: list[validate.Validator] = []
    if rule.isbn:
        checks += [validate.Regexp(ISBN_PATTERN, error=ISBN_SHAPE_ERROR), IsbnCheck()]
    elif rule.max_length is not None:
        checks.append(validate.Length(max=rule.max_length))
        message = "Must not be blank or contain NUL." if rule.required else "Must not contain NUL."
        checks.append(validate.Regexp(text_pattern(rule.required), error=message))
    if rule.minimum is not None and callable(rule.maximum):
        checks.append(CalendarRange(min=rule.minimum, maximum=rule.maximum))
    elif rule.minimum is not None:
        checks.append(validate.Range(min=rule.minimum, max=rule.maximum))
    return checks


class BookInputSchema(Schema):
    """A book as a client sends it (POST and PUT: every required field; PATCH: any subset)."""

    class Meta:
        unknown = RAISE  # a misspelt field is an error, not silently ignored

    title = fields.String(required=True, validate=rule_validators("title"))
    author = fields.String(required=True, validate=rule_validators("author"))
    pages_num = fields.Integer(strict=True, required=True, validate=rule_validators("pages_num"))
    review = fields.String(allow_none=True, validate=rule_validators("review"))
    isbn = fields.String(
        allow_none=True,
        validate=rule_validators("isbn"),
        metadata={
            "format": "isbn",
            "description": "ISBN-10 or ISBN-13, hyphens or spaces allowed; its check digit "
            "must match. Stored and returned as the 13 digits of its ISBN-13. Null: unknown.",
        },
    )
    year = fields.Integer(
        strict=True,
        allow_none=True,
        validate=rule_validators("year"),
        metadata={"description": "Publication year, up to next year. Null: unknown."},
    )

    @post_load
    def strip_text(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        # Validated as sent (so the OpenAPI document is exact), stored without outer blanks.
        return {key: strip(value) for key, value in data.items()}


class BookPatchSchema(BookInputSchema):
    """PATCH: any subset of the fields (used with partial=True)."""


class UtcDateTime(fields.DateTime):
    """RFC 3339 with an offset on every database, always in UTC.

    SQLite keeps CURRENT_TIMESTAMP (UTC) without an offset, so a naive value read back is
    UTC; PostgreSQL returns aware values in the session's time zone.
    """

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if isinstance(value, dt.datetime):
            value = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value
            value = value.astimezone(dt.UTC)
        return super()._serialize(value, attr, obj, **kwargs)


# Response schemas: every field is always present (required), null only where marked.
class UserSummarySchema(Schema):
    id = fields.Integer(required=True)
    username = fields.String(required=True)


class CoverSchema(Schema):
    url = fields.String(
        required=True,
        metadata={"description": "The image for a book page (WebP, at most 480x720)."},
    )
    thumbnail_url = fields.String(
        required=True, metadata={"description": "The image for lists (WebP, at most 160x240)."}
    )


class CoverLinks(fields.Nested):
    """The stored digest (`books.cover`), written out as the URLs of its two files."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if value is None:
            return None
        prefix = url_for("covers.image", name="x")[:-1]
        links = {"url": f"{prefix}{value}.webp", "thumbnail_url": f"{prefix}{value}-thumb.webp"}
        return super()._serialize(links, attr, obj, **kwargs)


class BookSchema(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    author = fields.String(required=True)
    pages_num = fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "Null when unknown (e.g. a book imported without it)."},
    )
    review = fields.String(required=True, allow_none=True)
    isbn = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "The 13 digits of the ISBN-13 (an ISBN-10 sent is converted)."},
    )
    year = fields.Integer(
        required=True, allow_none=True, metadata={"description": "Publication year."}
    )
    date_added = fields.Date(required=True)
    updated_at = UtcDateTime(
        required=True,
        attribute="last_modified",
        metadata={"description": "When the book last changed (also the Last-Modified header)."},
    )
    added_by = fields.Nested(
        UserSummarySchema,
        required=True,
        allow_none=True,
        metadata={"description": "Who added the book; null once that account is deleted."},
    )
    # With added_by null: true when the account was deleted, false when there never was one.
    added_by_deleted = fields.Boolean(required=True)
    cover = CoverLinks(
        CoverSchema,
        required=True,
        allow_none=True,
        metadata={
            "description": "The cover's images (immutable: cached for a year), or null. "
            "Set with PUT /books/{book_id}/cover."
        },
    )
    highlight = fields.Dict(
        keys=fields.String(),
        values=fields.String(allow_none=True),
        metadata={
            "description": "With `q` and `highlight=true`: title, author and a review snippet "
            "as HTML-escaped text, matched words in <mark>."
        },
    )


class UserSchema(Schema):
    id = fields.Integer(required=True)
    username = fields.String(required=True)
    is_admin = fields.Boolean(metadata={"description": "Present only when an admin asks."})
    created_at = UtcDateTime(required=True)
    books_count = fields.Integer(required=True)


class BookListArgsSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # tolerate cache-busters and the like in query strings

    q = fields.String(
        validate=validate.Length(max=MAX_TERM_LENGTH),
        metadata={
            "description": "Full-text search: word prefixes in any form (Russian and English "
            'stemming), Latin or Cyrillic spelling of titles and authors, "quoted phrases"; '
            "ranked results."
        },
    )
    highlight = fields.Boolean(
        load_default=False,
        metadata={"description": "With `q`: add `highlight` (matched words marked) to each book."},
    )
    author = fields.String(
        validate=validate.Length(min=1, max=AUTHOR_MAX),
        metadata={"description": "With `q`: only books by exactly this author."},
    )
    year_from = fields.Integer(
        validate=validate.Range(min=YEAR_FILTER_MIN, max=YEAR_FILTER_MAX),
        metadata={
            "description": "With `q`: only books published in this year or later "
            "(books whose year is unknown are left out)."
        },
    )
    year_to = fields.Integer(
        validate=validate.Range(min=YEAR_FILTER_MIN, max=YEAR_FILTER_MAX),
        metadata={"description": "With `q`: only books published in this year or earlier."},
    )
    sort = fields.String(
        load_default="newest",
        validate=validate.OneOf(list(SORT_ORDERS)),
        metadata={"description": "Order of the list; ignored with `q` (ranked by relevance)."},
    )
    page = fields.Integer(
        load_default=1,
        validate=validate.Range(min=1, max=max(MAX_JUMP_PAGE, MAX_RESULT_PAGES)),
        metadata={"description": "Page number of a jump near the start; past that, follow links."},
    )
    per_page = fields.Integer(
        load_default=DEFAULT_PER_PAGE, validate=validate.Range(min=1, max=MAX_PER_PAGE)
    )
    cursor = fields.String(
        # What the signer produces (base64url and dots): ASCII, so the URL stays short.
        validate=[
            validate.Length(max=MAX_CURSOR_LENGTH),
            validate.Regexp(r"^[A-Za-z0-9_.-]*$", error="Not a cursor of this API."),
        ],
        metadata={
            "description": "Opaque: copy it from `links` (or the `Link` header), never build it. "
            "It carries its sort order, which then wins over `sort`; ignored with `q`. "
            "A cursor this server did not issue is a 404."
        },
    )

    @validates_schema
    def years_in_order(self, data: dict[str, Any], **_: Any) -> None:
        low, high = data.get("year_from"), data.get("year_to")
        if low is not None and high is not None and low > high:
            raise ValidationError("Must not be after year_to.", field_name="year_from")


class PageMetaSchema(Schema):
    total = fields.Integer(
        required=True, metadata={"description": "Exact when total_exact, else an estimate."}
    )
    total_exact = fields.Boolean(required=True)
    page = fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "Null when it is not known (reached from `last`)."},
    )
    per_page = fields.Integer(required=True)


class PageLinksSchema(Schema):
    """Relative URLs; null where there is no such page. Also sent as the `Link` header."""

    self_ = fields.String(data_key="self", attribute="self", required=True)
    first = fields.String(required=True)
    prev = fields.String(required=True, allow_none=True)
    next = fields.String(required=True, allow_none=True)
    last = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "Always set for the catalogue; with `q`, null beyond 1000."},
    )


class BookPageSchema(Schema):
    items = fields.List(fields.Nested(BookSchema), required=True)
    meta = fields.Nested(PageMetaSchema, required=True)
    links = fields.Nested(PageLinksSchema, required=True)


class ProblemSchema(Schema):
    """RFC 9457 problem details."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={
            "description": "Only on 400 and 422 for invalid input: each invalid field's name "
            "(a body field or a query parameter) to its messages. `_schema` holds messages "
            "about the body as a whole (e.g. not a JSON object), `_body` about a body that "
            "is not JSON at all."
        },
    )
