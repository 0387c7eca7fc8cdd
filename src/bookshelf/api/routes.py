"""API views: the same queries, rules and ownership checks as the HTML pages."""

from __future__ import annotations

import http
from collections.abc import Callable
from typing import Any

from flask import abort, g, request, url_for
from flask.views import MethodView
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Forbidden, HTTPException, NotFound, Unauthorized
from werkzeug.wrappers import Response

from bookshelf.api import bp
from bookshelf.api.conditional import check_if_match, not_modified, validator_headers
from bookshelf.api.pagination import (
    BadCursor,
    decode_cursor,
    keyset_page,
    link_header,
    search_page,
)
from bookshelf.api.protocol import (
    add_cors_headers,
    add_rate_limit_headers,
    api_rate_limit,
    api_rate_limit_off,
    require_json_acceptable,
)
from bookshelf.api.schemas import (
    BookInputSchema,
    BookListArgsSchema,
    BookPageSchema,
    BookPatchSchema,
    BookSchema,
    UserSchema,
)
from bookshelf.books.service import BookNotFound, NotAllowed, get_book
from bookshelf.covers.images import ACCEPTED_MIME_TYPES, MAX_BYTES, CoverRejected, process_cover
from bookshelf.covers.storage import CoverStore
from bookshelf.errors import handle_http_exception
from bookshelf.extensions import csrf, db, limiter
from bookshelf.models import Book, User
from bookshelf.search.queries import Filters
from bookshelf.users.tokens import user_for_token

# Per client address; off unless API_RATE_LIMIT is set (e.g. "300 per minute").
limiter.limit(api_rate_limit, exempt_when=api_rate_limit_off)(bp)
bp.before_request(require_json_acceptable)
bp.after_request(add_rate_limit_headers)
bp.after_request(add_cors_headers)

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# Any request may meet these: a malformed body or Authorization header, an Accept without
# JSON, an over-long URL or body, the rate limit (when one is configured).
COMMON_ERRORS = (400, 401, 406, 413, 414, 429)
BOOK_ID_FROM_BODY = {"book_id": "$response.body#/id"}
VALIDATOR_HEADERS = {
    "ETag": {
        "description": "Strong validator of this book's representation.",
        "schema": {"type": "string"},
    },
    "Last-Modified": {
        "description": "When the book last changed, as an HTTP-date (whole seconds, GMT).",
        "schema": {"type": "string"},
    },
}
LINK_HEADER = {
    "Link": {
        "description": "The `links` of the body, as RFC 8288 web links.",
        "schema": {"type": "string"},
    }
}
CATALOGUE_ETAG_HEADER = {
    "ETag": {
        "description": "Weak validator of this page of the catalogue, absent for a request "
        "with a token or a session cookie; send it as If-None-Match to get 304 while "
        "nothing in the catalogue changed.",
        "schema": {"type": "string"},
    },
}


def operation(
    operation_id: str, *statuses: int, write: bool = False, auth: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Name an operation and document every problem (problem+json) it can answer with.

    `write`: a change that needs a token; `auth`: any request that needs one (the reader's own
    data, read or written).
    """

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        for status in sorted({*COMMON_ERRORS, *statuses}):
            view = bp.alt_response(status, response=http.HTTPStatus(status).name)(view)
        doc: dict[str, Any] = {"operationId": operation_id}
        if write or auth:
            doc["security"] = [{"bearerAuth": []}]
        return bp.doc(**doc)(view)

    return decorate


def unauthorized(detail: str) -> Unauthorized:
    return Unauthorized(description=detail, www_authenticate=WWWAuthenticate("bearer"))


@bp.before_request
def authenticate() -> None:
    """A Bearer token signs the request in for this request only; otherwise the session does."""
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized("Send the token as `Authorization: Bearer <token>`.")
        user = user_for_token(token.strip())
        if user is None:
            raise unauthorized("This API token is unknown or has been revoked.")
        g._login_user = user  # Flask-Login's current_user, without touching the session
    elif request.method not in SAFE_METHODS:
        require_user()
        # Signed in with the browser's session cookie: the same CSRF rule as the HTML forms.
        csrf.protect()
    # A cover's body is an image, checked by its own view.
    json_body = request.method in {"POST", "PUT", "PATCH"} and request.endpoint != "api.book_cover"
    if json_body and not request.is_json:
        abort(415, description="Send the body as JSON with `Content-Type: application/json`.")


# Not translated, like every message of the API: see bookshelf.i18n.select_locale.
@bp.errorhandler(BookNotFound)
def book_not_found(error: BookNotFound) -> Response | HTTPException:
    return handle_http_exception(NotFound(f"There is no book with id {error.book_id}."))


@bp.errorhandler(NotAllowed)
def not_allowed(_error: NotAllowed) -> Response | HTTPException:
    return handle_http_exception(
        Forbidden("Only the person who added this book, or an admin, may change it.")
    )


def require_user() -> User:
    if not current_user.is_authenticated:
        raise unauthorized("This needs a personal API token (create one on your profile page).")
    return current_user


def book_response(book: Book, status: int = 200) -> tuple[Book, int, dict[str, str]]:
    return book, status, validator_headers(book)


@bp.route("/books", endpoint="books")
class Books(MethodView):
    @bp.arguments(BookListArgsSchema, location="query")
    @bp.response(200, BookPageSchema, headers={**LINK_HEADER, **CATALOGUE_ETAG_HEADER})
    @bp.alt_response(304, response="NOT_MODIFIED")
    @operation("listBooks", 404, 422)
    def get(self, args: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        """List books: keyset pagination (follow `links`), or ranked full-text search with `q`.
        Send the ETag back as If-None-Match to get 304 while the catalogue is unchanged."""
        if args.get("q"):
            filters = Filters(args.get("author"), args.get("year_from"), args.get("year_to"))
            page = search_page(
                args["q"], args["per_page"], args["page"], args["highlight"], filters
            )
        else:
            try:
                cursor = decode_cursor(args["cursor"]) if args.get("cursor") else None
            except BadCursor:
                abort(
                    404,
                    description="This cursor was not issued by this server; "
                    "start again from `links.first`.",
                )
            page = keyset_page(args["sort"], args["per_page"], args["page"], cursor)
        body = {"items": page.books, "meta": page.meta, "links": page.links}
        return body, {"Link": link_header(page.links)}

    @bp.arguments(BookInputSchema)
    @bp.response(
        201,
        BookSchema,
        headers={"Location": {"schema": {"type": "string"}}, **VALIDATOR_HEADERS},
    )
    @bp.doc(
        responses={
            201: {
                "links": {
                    name: {"operationId": name, "parameters": BOOK_ID_FROM_BODY}
                    for name in (
                        "getBook",
                        "updateBook",
                        "replaceBook",
                        "deleteBook",
                        "shelveBook",
                    )
                }
            }
        }
    )
    @operation("createBook", 415, 422, write=True)
    def post(self, data: dict[str, Any]) -> tuple[Book, int, dict[str, str]]:
        """Add a book (it records who added it)."""
        book = Book(added_by_id=require_user().id)
        book.update(data)
        db.session.add(book)
        db.session.commit()
        book, status, headers = book_response(book, 201)
        return book, status, {**headers, "Location": url_for("api.book", book_id=book.id)}


@bp.route("/books/<id:book_id>", endpoint="book")
class BookResource(MethodView):
    @bp.response(200, BookSchema, headers=VALIDATOR_HEADERS)
    @bp.alt_response(304, response="NOT_MODIFIED")
    @operation("getBook", 404)
    def get(self, book_id: int) -> Response | tuple[Book, int, dict[str, str]]:
        """One book. Send its ETag as If-None-Match (or its Last-Modified as If-Modified-Since)
        to get 304 while it is unchanged."""
        book = get_book(book_id, check_owner=False)
        return not_modified(book) or book_response(book)

    @bp.arguments(BookInputSchema)
    @bp.response(200, BookSchema, headers=VALIDATOR_HEADERS)
    @operation("replaceBook", 403, 404, 412, 415, 422, write=True)
    def put(self, data: dict[str, Any], book_id: int) -> tuple[Book, int, dict[str, str]]:
        """Replace a book (owner or admin); with If-Match, only the version named (else 412).

        If-Unmodified-Since works likewise with a date (If-Match wins when both are sent).
        """
        require_user()
        book = get_book(book_id, check_owner=True)
        check_if_match(book)
        book.update({"review": None, "isbn": None, "year": None, **data})
        db.session.commit()
        return book_response(book)

    @bp.arguments(BookPatchSchema(partial=True))
    @bp.response(200, BookSchema, headers=VALIDATOR_HEADERS)
    @operation("updateBook", 403, 404, 412, 415, 422, write=True)
    def patch(self, data: dict[str, Any], book_id: int) -> tuple[Book, int, dict[str, str]]:
        """Change some fields of a book (owner or admin); honours If-Match and If-Unmodified-Since
        (412)."""
        require_user()
        book = get_book(book_id, check_owner=True)
        check_if_match(book)
        book.update(data)
        db.session.commit()
        return book_response(book)

    @bp.response(204)
    @operation("deleteBook", 403, 404, 412, write=True)
    def delete(self, book_id: int) -> tuple[str, int]:
        """Delete a book (owner or admin); honours If-Match and If-Unmodified-Since (412)."""
        require_user()
        book = get_book(book_id, check_owner=True)
        check_if_match(book)
        db.session.delete(book)
        db.session.commit()
        return "", 204


# The format is read from the image itself, never from the header. The document lists the one
# raw body type that generated clients (openapi-python-client) turn into a typed parameter, and
# whose union with a second type they cannot yet generate; the others are described in words.
RAW_IMAGE_TYPES = ("application/octet-stream", *ACCEPTED_MIME_TYPES)
COVER_BODY = {
    "required": True,
    "description": "The image itself: JPEG, PNG or WebP, at most 5 MB and 40 megapixels. "
    "Also accepted with Content-Type image/jpeg, image/png or image/webp, or as the field "
    "`file` of a multipart/form-data body.",
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
}


def uploaded_image() -> bytes:
    """The image bytes of a cover upload: the body itself, or the multipart field `file`."""
    if request.mimetype in RAW_IMAGE_TYPES:
        return request.get_data(cache=False)
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            abort(422, description="Send the image in the multipart field `file`.")
        return upload.stream.read(MAX_BYTES + 1)
    abort(
        415,
        description="Send the image as the body (application/octet-stream, image/jpeg, "
        "image/png or image/webp) or in the field `file` of multipart/form-data.",
    )


@bp.route("/books/<id:book_id>/cover", endpoint="book_cover")
class BookCover(MethodView):
    @bp.doc(requestBody=COVER_BODY)
    @bp.response(200, BookSchema, headers=VALIDATOR_HEADERS)
    @operation("putBookCover", 403, 404, 412, 415, 422, write=True)
    def put(self, book_id: int) -> tuple[Book, int, dict[str, str]]:
        """Set or replace a book's cover (owner or admin). The image is checked and re-encoded:
        413 above 5 MB, 422 for anything that is not a whole JPEG, PNG or WebP image of at
        most 40 megapixels. The same image always gets the same URLs."""
        require_user()
        book = get_book(book_id, check_owner=True)
        check_if_match(book)
        try:
            processed = process_cover(uploaded_image())
        except CoverRejected as rejected:
            abort(413 if rejected.too_large else 422, description=str(rejected.message))
        book.cover = CoverStore.for_app().save(processed)
        db.session.commit()
        return book_response(book)

    @bp.response(204)
    @operation("deleteBookCover", 403, 404, 412, write=True)
    def delete(self, book_id: int) -> tuple[str, int]:
        """Remove a book's cover (owner or admin). Its files stay while another book shows the
        same image; `flask prune-covers` deletes the ones no book refers to."""
        require_user()
        book = get_book(book_id, check_owner=True)
        check_if_match(book)
        book.cover = None
        db.session.commit()
        return "", 204


@bp.route("/users/<id:user_id>", endpoint="user", methods=["GET"])
@bp.response(200, UserSchema)
@operation("getUser", 404)
def user(user_id: int) -> dict[str, Any]:
    """A user and how many books they added."""
    found = db.session.get(User, user_id)
    if found is None:
        abort(404, description=f"There is no user with id {user_id}.")
    count = db.session.scalar(select(func.count()).where(Book.added_by_id == found.id))
    body = {
        "id": found.id,
        "username": found.username,
        "created_at": found.created_at,
        "books_count": count,
    }
    if current_user.is_admin:  # who holds admin rights is no one else's business
        body["is_admin"] = found.is_admin
    return body
