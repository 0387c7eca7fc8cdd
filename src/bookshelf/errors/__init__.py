"""Error pages that keep the site layout, and rollback after database errors."""

from __future__ import annotations

from flask import Flask, g, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError, RequestEntityTooLarge
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Response

from bookshelf.extensions import db
from bookshelf.models import Visitor

PROBLEM_JSON = "application/problem+json"

TITLES = {
    400: _l("Bad request"),
    403: _l("Forbidden"),
    404: _l("Not found"),
    405: _l("Method not allowed"),
    413: _l("Too large"),
    414: _l("Address too long"),
    422: _l("Cannot process this"),
    429: _l("Too many requests"),
    500: _l("Something went wrong"),
    503: _l("Temporarily unavailable"),
}

# Said when the code that stopped the request gave no reason of its own: the framework's
# defaults are English only and written for developers ("The requested URL was not found on
# the server. If you entered the URL manually…").
MESSAGES = {
    400: _l("The request could not be understood. Go back and try again."),
    403: _l("You may not do this."),
    404: _l("There is no page at this address."),
    405: _l("This page cannot be opened this way."),
    413: _l("What was sent is too large."),
    414: _l("This address is too long."),
    422: _l("What was sent could not be used."),
    429: _l("Too many requests. Wait a little and try again."),
}
# The routes that take a cover accept more than the rest (bookshelf.covers), and say how much.
COVER_TOO_LARGE = _l("The upload is too large: a cover image may be up to 5 MB.")


def page_message(error: HTTPException) -> str:
    """The reason shown on an error page: the one given when aborting, else ours, translated."""
    given = error.description
    if given and given != type(error).description:
        return given
    return str(MESSAGES.get(error.code or 0, ""))


def wants_problem_json() -> bool:
    return request.path.startswith("/api/")


def problem(status: int, detail: str, errors: object = None) -> Response:
    """An RFC 9457 problem details response, for the JSON API."""
    body: dict[str, object] = {
        "type": "about:blank",
        "title": HTTP_STATUS_CODES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_JSON
    return response


def field_errors(error: HTTPException) -> object:
    """webargs puts messages under their location ({"json": {...}}); the client wants the fields."""
    messages = getattr(error, "data", {}).get("messages") if hasattr(error, "data") else None
    if isinstance(messages, dict) and len(messages) == 1:
        (only,) = messages.values()
        return only if isinstance(only, dict) else {"_body": only}
    return messages


def render_error(status: int, message: str) -> tuple[str, int]:
    title = TITLES.get(status, _l("Error"))
    return render_template("errors/error.html", status=status, title=title, message=message), status


def handle_http_exception(error: HTTPException) -> Response | HTTPException:
    if error.code is None or error.code < 400:
        return error
    if (
        isinstance(error, RequestEntityTooLarge)
        and getattr(request, "is_cover_upload", False)
        and error.description == RequestEntityTooLarge.description
    ):
        error.description = str(COVER_TOO_LARGE)
    if wants_problem_json():
        errors = field_errors(error)
        detail = "Some fields are invalid; see `errors`." if errors else error.description or ""
        response = problem(error.code, detail, errors)
    else:
        response = make_response(render_error(error.code, page_message(error)))
    # Keep the headers the error carries, such as Allow on 405 and Retry-After on 429.
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def handle_csrf_error(error: CSRFError) -> tuple[str, int] | Response:
    if wants_problem_json():
        return problem(400, "A browser session writing to the API must send X-CSRFToken.")
    return render_error(
        400,
        _("This form has expired or did not come from this site. Reload the page and try again."),
    )


def failure_response(status: int, message: str) -> tuple[str, int] | Response:
    """After a failed request: roll back, and answer without touching the database again."""
    db.session.rollback()
    # The signed-in user is expired by the rollback: showing their name in the layout would
    # query the very database that may just have failed. The page is drawn as for a visitor.
    g._login_user = Visitor()
    if wants_problem_json():
        return problem(status, message)
    return render_error(status, message)


def handle_database_unavailable(error: OperationalError) -> tuple[str, int] | Response:
    return failure_response(
        503, _("The database is not answering right now. Try again in a moment.")
    )


def handle_server_error(error: InternalServerError) -> tuple[str, int] | Response:
    return failure_response(500, _("An unexpected error happened; it has been logged."))


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(OperationalError, handle_database_unavailable)
    app.register_error_handler(InternalServerError, handle_server_error)
