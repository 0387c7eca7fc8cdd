"""Request and response schemas of the JSON API (marshmallow), documented as OpenAPI 3."""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, fields, post_load, validate

from bookshelf.books.queries import DEFAULT_PER_PAGE, MAX_JUMP_PAGE, MAX_PER_PAGE, SORT_ORDERS
from bookshelf.books.rules import BOOK_RULES, strip, text_pattern
from bookshelf.ids import MAX_ID
from bookshelf.search.queries import MAX_RESULT_PAGES, MAX_TERM_LENGTH


def rule_validators(name: str) -> list[validate.Validator]:
    """marshmallow validators built from the shared BOOK_RULES (the HTML form uses the same)."""
    rule = BOOK_RULES[name]
    checks: list[validate.Validator] = []
    if rule.max_length is not None:
        checks.append(validate.Length(max=rule.max_length))
        message = "Must not be blank or contain NUL." if rule.required else "Must not contain NUL."
        checks.append(validate.Regexp(text_pattern(rule), error=message))
    if rule.minimum is not None:
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

    @post_load
    def strip_text(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        # Validated as sent (so the OpenAPI document is exact), stored without outer blanks.
        return {key: strip(value) for key, value in data.items()}


class BookPatchSchema(BookInputSchema):
    """PATCH: any subset of the fields (used with partial=True)."""


class UserSummarySchema(Schema):
    id = fields.Integer()
    username = fields.String()


class BookSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    author = fields.String()
    pages_num = fields.Integer()
    review = fields.String(allow_none=True)
    date_added = fields.Date()
    added_by = fields.Nested(UserSummarySchema, allow_none=True)
    highlight = fields.Dict(
        keys=fields.String(),
        values=fields.String(allow_none=True),
        metadata={
            "description": "With `q` and `highlight=true`: title, author and a review snippet "
            "as HTML-escaped text, matched words in <mark>."
        },
    )


class UserSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    is_admin = fields.Boolean()
    created_at = fields.DateTime()
    books_count = fields.Integer()


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
    sort = fields.String(
        load_default="newest",
        validate=validate.OneOf(list(SORT_ORDERS)),
        metadata={"description": "Order of the list; ignored with `q` (ranked by relevance)."},
    )
    page = fields.Integer(
        load_default=1,
        validate=validate.Range(min=1, max=max(MAX_JUMP_PAGE, MAX_RESULT_PAGES)),
        metadata={"description": "Page number; deep pages are reached with `after`."},
    )
    per_page = fields.Integer(
        load_default=DEFAULT_PER_PAGE, validate=validate.Range(min=1, max=MAX_PER_PAGE)
    )
    after = fields.Integer(
        validate=validate.Range(min=1, max=MAX_ID),
        metadata={
            "description": "Continue after this book id (keyset pagination; see links.next)."
        },
    )


class PageMetaSchema(Schema):
    total = fields.Integer(metadata={"description": "Exact when total_exact, else an estimate."})
    total_exact = fields.Boolean()
    page = fields.Integer(allow_none=True)
    per_page = fields.Integer()


class PageLinksSchema(Schema):
    self_ = fields.String(data_key="self")
    first = fields.String()
    prev = fields.String(allow_none=True)
    next = fields.String(allow_none=True)
    last = fields.String(allow_none=True)


class BookPageSchema(Schema):
    items = fields.List(fields.Nested(BookSchema))
    meta = fields.Nested(PageMetaSchema)
    links = fields.Nested(PageLinksSchema)


class ProblemSchema(Schema):
    """RFC 9457 problem details."""

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(),
        metadata={"description": "Field name to list of messages (400 and 422)."},
    )
