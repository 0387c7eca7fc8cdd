"""API views: the same queries, rules and ownership checks as the HTML pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, g, request, url_for
from flask.views import MethodView
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Unauthorized

from bookshelf.api import bp
from bookshelf.api.schemas import (
    BookInputSchema,
    BookListArgsSchema,
    BookPageSchema,
    BookPatchSchema,
    BookSchema,
    UserSchema,
)
from bookshelf.books.queries import AnchorNotFound, catalogue_size, list_books
from bookshelf.books.routes import get_book
from bookshelf.extensions import csrf, db
from bookshelf.models import Book, User
from bookshelf.search.queries import search_books
from bookshelf.users.tokens import user_for_token

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
ERROR_RESPONSES = {
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "UNPROCESSABLE_ENTITY",
}


def writes(*statuses: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Document a write: needs a Bearer token, and may answer with these problem responses."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        for status in statuses:
            view = bp.alt_response(status, response=ERROR_RESPONSES[status])(view)
        return bp.doc(security=[{"bearerAuth": []}])(view)

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
    if request.method in {"POST", "PUT", "PATCH"} and not request.is_json:
        abort(415, description="Send the body as JSON with `Content-Type: application/json`.")


def require_user() -> User:
    if not current_user.is_authenticated:
        raise unauthorized("This needs a personal API token (create one on your profile page).")
    return current_user


def page_links(
    args: dict[str, Any], number: int, has_next: bool, last_id: int | None
) -> dict[str, str | None]:
    def link(**changes: Any) -> str:
        query = {k: v for k, v in {**base, **changes}.items() if v is not None}
        return url_for("api.books", **query)

    base = {k: args.get(k) for k in ("q", "sort", "per_page")}
    if args.get("q"):  # ranked results: numbered pages
        return {
            "self_": link(page=number),
            "first": link(),
            "prev": link(page=number - 1) if number > 1 else None,
            "next": link(page=number + 1) if has_next else None,
            "last": None,
        }
    # Keyset pages: "next" continues after the last book shown, at any depth, at the same cost.
    return {
        "self_": link(page=number, after=args.get("after")),
        "first": link(),
        "prev": None,
        "next": link(page=number + 1, after=last_id) if has_next else None,
        "last": None,
    }


@bp.route("/books", endpoint="books")
class Books(MethodView):
    @bp.arguments(BookListArgsSchema, location="query")
    @bp.response(200, BookPageSchema)
    @bp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List books: keyset pagination, or ranked full-text search with `q`."""
        per_page = args["per_page"]
        if args.get("q"):
            results = search_books(args["q"], args["page"], per_page)
            books, number, has_next = results.books, results.page, results.has_next
            total, exact = results.total, results.total_exact
        else:
            try:
                page = list_books(
                    args["sort"], per_page, page=args["page"], after=args.get("after")
                )
            except AnchorNotFound:
                abort(404, description="`after` names a book that no longer exists.")
            books, number, has_next = page.books, page.number or 1, page.has_next
            size = catalogue_size()
            total, exact = size.count, size.exact
        return {
            "items": books,
            "meta": {"total": total, "total_exact": exact, "page": number, "per_page": per_page},
            "links": page_links(args, number, has_next, books[-1].id if books else None),
        }

    @bp.arguments(BookInputSchema)
    @bp.response(201, BookSchema, headers={"Location": {"schema": {"type": "string"}}})
    @writes(401, 415, 422)
    def post(self, data: dict[str, Any]) -> tuple[Book, int, dict[str, str]]:
        """Add a book (it records who added it)."""
        book = Book(added_by_id=require_user().id)
        book.update(data)
        db.session.add(book)
        db.session.commit()
        return book, 201, {"Location": url_for("api.book", book_id=book.id)}


@bp.route("/books/<id:book_id>", endpoint="book")
class BookResource(MethodView):
    @bp.response(200, BookSchema)
    @bp.alt_response(404, response="NOT_FOUND")
    def get(self, book_id: int) -> Book:
        """One book."""
        return get_book(book_id)

    @bp.arguments(BookInputSchema)
    @bp.response(200, BookSchema)
    @writes(401, 403, 404, 415, 422)
    def put(self, data: dict[str, Any], book_id: int) -> Book:
        """Replace a book (owner or admin)."""
        require_user()
        book = get_book(book_id, check_owner=True)
        book.update({"review": None, **data})
        db.session.commit()
        return book

    @bp.arguments(BookPatchSchema(partial=True))
    @bp.response(200, BookSchema)
    @writes(401, 403, 404, 415, 422)
    def patch(self, data: dict[str, Any], book_id: int) -> Book:
        """Change some fields of a book (owner or admin)."""
        require_user()
        book = get_book(book_id, check_owner=True)
        book.update(data)
        db.session.commit()
        return book

    @bp.response(204)
    @writes(401, 403, 404)
    def delete(self, book_id: int) -> tuple[str, int]:
        """Delete a book (owner or admin)."""
        require_user()
        book = get_book(book_id, check_owner=True)
        db.session.delete(book)
        db.session.commit()
        return "", 204


@bp.route("/users/<id:user_id>", endpoint="user", methods=["GET"])
@bp.response(200, UserSchema)
@bp.alt_response(404, response="NOT_FOUND")
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
