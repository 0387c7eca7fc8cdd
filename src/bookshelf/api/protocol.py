"""HTTP around the API's views: content negotiation, URL length, CORS, rate-limit headers."""

from __future__ import annotations

import time

from flask import abort, current_app, request
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from bookshelf.extensions import limiter

# The app refuses longer request targets itself (414 problem+json), well below gunicorn's
# limit_request_line (deploy/gunicorn.conf.py) and nginx's header buffer, so that those
# servers' own HTML error pages are never what a client sees.
MAX_URL_LENGTH = 4096
JSON_TYPES = ("application/json", "application/problem+json")
# What a browser script on an allowed origin may send and read (CORS).
CORS_REQUEST_HEADERS = (
    "Authorization, Content-Type, If-Match, If-None-Match, If-Modified-Since, "
    "If-Unmodified-Since, X-CSRFToken"
)
CORS_EXPOSED_HEADERS = (
    "ETag, Link, Location, Retry-After, RateLimit-Limit, RateLimit-Remaining, "
    "RateLimit-Reset, RateLimit-Policy"
)
CORS_MAX_AGE = "600"


def reject_over_long_urls() -> None:
    """Everywhere, not only under /api/: HTML pages get the same limit, as an HTML 414."""
    environ = request.environ
    length = len(environ.get("PATH_INFO", "")) + 1 + len(environ.get("QUERY_STRING", ""))
    if max(length, len(environ.get("RAW_URI", ""))) > MAX_URL_LENGTH:
        abort(
            414, description=_("The address is longer than %(num)d characters.", num=MAX_URL_LENGTH)
        )


def require_json_acceptable() -> None:
    """The API speaks JSON only: an Accept header that rules it out gets 406, not JSON."""
    if "Accept" not in request.headers or request.method == "OPTIONS":
        return
    if request.accept_mimetypes.best_match(JSON_TYPES) is None:
        abort(
            406,
            description="This API answers with application/json (and application/problem+json "
            "for errors) only.",
        )


def add_cors_headers(response: Response) -> Response:
    """Only for origins named in API_CORS_ORIGINS; with none configured, nothing changes."""
    allowed = current_app.config.get("API_CORS_ORIGINS", ())
    if not allowed:
        return response
    response.vary.add("Origin")  # caches must not hand one origin's answer to another
    origin = request.headers.get("Origin")
    if origin not in allowed:
        return response
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Expose-Headers"] = CORS_EXPOSED_HEADERS
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        response.headers["Access-Control-Allow-Methods"] = response.headers.get(
            "Allow", "GET, HEAD, OPTIONS"
        )
        response.headers["Access-Control-Allow-Headers"] = CORS_REQUEST_HEADERS
        response.headers["Access-Control-Max-Age"] = CORS_MAX_AGE
    return response


def add_rate_limit_headers(response: Response) -> Response:
    """RateLimit-* as named by the IETF httpapi draft: Reset is seconds from now."""
    current = limiter.current_limit
    if current is None:
        return response
    window = current.limit.get_expiry()
    response.headers["RateLimit-Limit"] = str(current.limit.amount)
    response.headers["RateLimit-Remaining"] = str(max(current.remaining, 0))
    response.headers["RateLimit-Reset"] = str(max(int(current.reset_at - time.time()), 1))
    response.headers["RateLimit-Policy"] = f"{current.limit.amount};w={window}"
    return response


def api_rate_limit() -> str:
    return current_app.config.get("API_RATE_LIMIT") or "1 per second"


def api_rate_limit_off() -> bool:
    return not current_app.config.get("API_RATE_LIMIT")
