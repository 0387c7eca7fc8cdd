"""HTTP caching of the catalogue as a visitor sees it: ETags keyed by the catalogue version.

Every write a visitor's page can show bumps one number in the database (migration 0012), so
a visitor's page is a function of that number and of the request: the address, the language,
the display cookies, the release. The ETag is a hash of exactly those. It is worked out before
Flask sees the request (CatalogueTags, a WSGI middleware): a client or nginx that sends it back
gets 304 after one primary-key read, whichever worker or server answers, without routing
hooks, session, view or template. A tag is only ever issued with a 200 that set no cookie, so a
match means this very request was answered that way at this version; that is also why the 304
may skip the app's checks (URL length, NUL characters): they passed for the same request.

Who gets what (add_cache_headers):
- no cookie at all: `public, max-age=0, s-maxage=N`, so a shared cache may keep the page N
  seconds (SHARED_CACHE_SECONDS) and browsers always revalidate;
- display cookies only (language, list preferences, the reading list, any cookie the app
  does not read): the same ETag, but `private, no-cache`;
- a session (signed in, or a visitor's pending message), a remember cookie, an API token, or
  a response that sets a cookie: `private, no-cache` and no ETag, on every page, unless the
  view chose something stricter (no-store, see bookshelf.no_store).
`Vary: Cookie, Accept-Language` on every catalogue response keeps one person's copy from
another.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from functools import cached_property
from typing import Any

from flask import Flask, current_app, has_request_context, request, session
from sqlalchemy.engine import Engine
from werkzeug.datastructures import LanguageAccept, MIMEAccept
from werkzeug.exceptions import HTTPException
from werkzeug.http import parse_accept_header, parse_cookie, parse_etags, quote_etag
from werkzeug.routing import RequestRedirect
from werkzeug.wrappers import Response

from bookshelf.database import raw_fetchone, read_engine_of
from bookshelf.i18n import DEFAULT_LANGUAGE, LANGUAGE_COOKIE, page_locale
from bookshelf.revision import current_commit

# The views whose answer depends only on the catalogue and the request (for a visitor).
CATALOGUE_VIEWS = frozenset(
    {
        "main.home",
        "books.index",
        "books.show",
        "search.search",
        "authors.index",
        "authors.show",
        "api.books",
    }
)
# Cookies those views read that only change how the page looks: part of the key.
DISPLAY_COOKIES = (LANGUAGE_COOKIE, "book_list_prefs")
VERSION_SQL = "SELECT version FROM catalogue_count WHERE id = 1"
PRIVATE = "private, no-cache"
VARY = ("Cookie", "Accept-Language")
TAG_KEY = "bookshelf.catalogue_etag"
# The views that read the version in their own first statement (bookshelf.books.queries), so a
# request that sends no If-None-Match costs them no extra read: the tag is finished after the
# view, from the version its statement saw. Any other catalogue view reads it here, first.
VERSION_IN_VIEW = frozenset({"books.index", "books.show"})
PENDING_KEY = "bookshelf.catalogue_etag_digest"
VERSION_KEY = "bookshelf.catalogue_version_seen"
API_TYPES = ("application/json", "application/problem+json")

StartResponse = Callable[..., Any]


def catalogue_version(engine: Engine) -> int | None:
    """The number every catalogue write bumps; None before migration 0012, or when the
    database does not answer (the view then meets the failure and answers it as usual)."""
    row, _dropped = raw_fetchone(engine, VERSION_SQL)
    return None if row is None else int(row[0])


def shared_cache_control(app: Flask) -> str:
    """For a request without cookies: browsers revalidate, shared caches keep it a moment."""
    return f"public, max-age=0, s-maxage={app.config['SHARED_CACHE_SECONDS']}"


def personal_cookies(app: Flask) -> tuple[str, str]:
    """Cookies that may make an answer this person's own: a session or a remember cookie."""
    remember = app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    return app.config["SESSION_COOKIE_NAME"], remember


class CatalogueTags:
    """WSGI middleware: the catalogue ETag of a visitor's request, and 304 when it matches."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]], app: Flask) -> None:
        self.wsgi_app = wsgi_app
        self.app = app
        self.enabled = not app.config["BOOKSHELF_DEVELOPMENT"]  # templates change uncommitted
        self.personal = personal_cookies(app)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        tag = self.tag_for(environ) if self.enabled else None
        if tag is None:
            return self.wsgi_app(environ, start_response)
        environ[TAG_KEY] = tag
        if parse_etags(environ.get("HTTP_IF_NONE_MATCH")).contains_weak(tag):
            cookies = "HTTP_COOKIE" in environ
            headers = [
                ("ETag", quote_etag(tag, weak=True)),
                ("Cache-Control", PRIVATE if cookies else shared_cache_control(self.app)),
                ("Vary", ", ".join(VARY)),
            ]
            start_response("304 NOT MODIFIED", headers)
            return []
        return self.wsgi_app(environ, start_response)

    @cached_property
    def engine(self) -> Engine:
        return read_engine_of(self.app)

    def tag_for(self, environ: dict[str, Any]) -> str | None:
        """The tag of a visitor's GET of a catalogue view; None for anything else, or when the
        view itself will read the version (then the request keeps the rest of the tag)."""
        if environ.get("REQUEST_METHOD") not in {"GET", "HEAD"} or "HTTP_AUTHORIZATION" in environ:
            return None
        cookies = parse_cookie(environ.get("HTTP_COOKIE"))
        if any(name in cookies for name in self.personal):
            return None
        endpoint = self.endpoint(environ)
        if endpoint not in CATALOGUE_VIEWS:
            return None
        api = endpoint.startswith("api.")
        if api and not self.api_may_answer(environ):
            return None
        digest = self.digest(environ, cookies, api)
        if endpoint in VERSION_IN_VIEW and "HTTP_IF_NONE_MATCH" not in environ:
            environ[PENDING_KEY] = digest
            return None
        version = catalogue_version(self.engine)
        return None if version is None else f"{version}-{digest}"

    def digest(self, environ: dict[str, Any], cookies: Any, api: bool) -> str:
        """Everything but the version that a visitor's catalogue answer varies on."""
        language = (
            DEFAULT_LANGUAGE  # the API's one language (bookshelf.i18n.select_locale)
            if api
            else page_locale(
                cookies.get(LANGUAGE_COOKIE),
                parse_accept_header(environ.get("HTTP_ACCEPT_LANGUAGE"), LanguageAccept),
            )
        )
        parts = [
            self.app.config["BOOKSHELF_VERSION"],
            current_commit() or "",
            language,
            environ.get("wsgi.url_scheme", ""),
            environ.get("HTTP_HOST", ""),
            environ.get("SCRIPT_NAME", ""),
            environ.get("PATH_INFO", ""),
            environ.get("QUERY_STRING", ""),
            *(cookies.get(name, "") for name in DISPLAY_COOKIES),
        ]
        digest = hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogateescape"))
        return digest.hexdigest()[:24]

    def endpoint(self, environ: dict[str, Any]) -> str | None:
        try:
            endpoint, _args = self.app.url_map.bind_to_environ(environ).match()
        except (HTTPException, RequestRedirect):
            return None
        return str(endpoint)

    def api_may_answer(self, environ: dict[str, Any]) -> bool:
        """Only when the API would answer 200 regardless of who asks: JSON acceptable (else
        406, bookshelf.api.protocol) and no rate limit to count the request against."""
        if self.app.config.get("API_RATE_LIMIT"):
            return False
        accept = environ.get("HTTP_ACCEPT")
        return accept is None or bool(parse_accept_header(accept, MIMEAccept).best_match(API_TYPES))


def note_version(version: int | None) -> None:
    """A catalogue statement saw this version. The tag takes the earliest a request saw: what
    the page shows is that version or newer, so a client holding the tag revalidates to a full
    page after any later write, and never keeps a page older than its tag says."""
    if version is None or not has_request_context():
        return
    seen = request.environ.get(VERSION_KEY)
    request.environ[VERSION_KEY] = version if seen is None else min(seen, version)


def view_tag(environ: dict[str, Any]) -> str | None:
    digest, version = environ.get(PENDING_KEY), environ.get(VERSION_KEY)
    return None if digest is None or version is None else f"{version}-{digest}"


def add_cache_headers(response: Response) -> Response:
    """After every view: the ETag and Cache-Control for the catalogue, private elsewhere."""
    sets_cookie = "Set-Cookie" in response.headers or session.modified
    tag = request.environ.get(TAG_KEY) or view_tag(request.environ)
    catalogue = request.endpoint in CATALOGUE_VIEWS
    if catalogue:
        response.vary.update(VARY)
    if tag is not None and response.status_code == 200 and not sets_cookie:
        response.set_etag(tag, weak=True)
        private = bool(request.cookies)
        response.headers["Cache-Control"] = (
            PRIVATE if private else shared_cache_control(current_app)
        )
        return response
    personal = "Authorization" in request.headers or any(
        name in request.cookies for name in personal_cookies(current_app)
    )
    # A catalogue page without a tag (an error, development) is not shared either.
    if (sets_cookie or personal or catalogue) and "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = PRIVATE
    return response


def register_http_cache(app: Flask) -> None:
    app.after_request(add_cache_headers)
    # Innermost: ProxyFix (outside) has already set the scheme and host the tag covers.
    app.wsgi_app = CatalogueTags(app.wsgi_app, app)  # type: ignore[method-assign]
