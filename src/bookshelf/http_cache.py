"""HTTP caching of the catalogue as a visitor sees it: ETags keyed by the catalogue version.

Every write a visitor's page can show bumps one number in the database (migration 0012), so
a visitor's page is a function of that number and of the request: the page's address, the
language, the display cookies, the release. The ETag is a hash of exactly those, checked
before the view runs: a client (or nginx) sending it back gets 304 after one primary-key read,
whichever worker or server answers. A tag is only ever issued with a 200 that set no cookie,
so a match means this very request was answered that way at this version.

Who gets what:
- no cookie at all: `public, max-age=0, s-maxage=N`, so a shared cache may keep the page N
  seconds (SHARED_CACHE_SECONDS) and browsers always revalidate;
- display cookies only (language, list preferences, the reading list): the same ETag, but
  `private, no-cache`;
- a session (signed in, or a visitor's pending message), a remember cookie, an API token, or
  a response that sets a cookie: `private, no-cache` and no ETag, on every page, unless the
  view chose something stricter (no-store, see bookshelf.no_store).
`Vary: Cookie, Accept-Language` on every catalogue response keeps one person's copy from
another.
"""

from __future__ import annotations

import hashlib

from flask import Flask, current_app, g, request, session
from sqlalchemy import text
from werkzeug.wrappers import Response

from bookshelf.extensions import db
from bookshelf.i18n import select_locale
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
# Cookies read by those views that only change how the page looks: part of the key.
DISPLAY_COOKIES = ("lang", "book_list_prefs")
PRIVATE = "private, no-cache"
VARY = ("Cookie", "Accept-Language")


def catalogue_version() -> int | None:
    """The number every catalogue write bumps; None before migration 0012."""
    return db.session.scalar(text("SELECT version FROM catalogue_count WHERE id = 1"))


def is_personal_request() -> bool:
    """A request whose answer may be this person's own: never shared, never tagged."""
    cookies = request.cookies
    return (
        "Authorization" in request.headers
        or current_app.config["SESSION_COOKIE_NAME"] in cookies
        or current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in cookies
    )


def page_etag(version: int) -> str:
    """The tag: the version in clear (for logs), a hash of everything else the page depends on."""
    parts = [
        current_app.config["BOOKSHELF_VERSION"],
        current_commit() or "",
        select_locale(),
        request.host_url,
        request.path,
        request.query_string.decode("latin-1"),
        *(request.cookies.get(name, "") for name in DISPLAY_COOKIES),
    ]
    digest = hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:24]
    return f"{version}-{digest}"


def answer_if_unchanged() -> Response | None:
    """Before the view: 304 if the client's copy is current, without running the view."""
    if request.method not in {"GET", "HEAD"} or request.endpoint not in CATALOGUE_VIEWS:
        return None
    if current_app.config["BOOKSHELF_DEVELOPMENT"] or is_personal_request():
        return None  # in development, templates change without a new commit
    if request.endpoint.startswith("api."):
        from bookshelf.api.protocol import require_json_acceptable

        require_json_acceptable()  # a 406 stays a 406
    version = catalogue_version()
    if version is None:
        return None
    g.catalogue_etag = page_etag(version)
    if request.if_none_match and request.if_none_match.contains_weak(g.catalogue_etag):
        return Response(status=304)  # headers follow in add_cache_headers
    return None


def add_cache_headers(response: Response) -> Response:
    """After every view: the ETag and Cache-Control for the catalogue, private elsewhere."""
    sets_cookie = "Set-Cookie" in response.headers or session.modified
    tag = g.get("catalogue_etag")
    if request.endpoint in CATALOGUE_VIEWS:
        response.vary.update(VARY)
    if tag is not None and response.status_code in {200, 304} and not sets_cookie:
        response.set_etag(tag, weak=True)
        if request.cookies:
            response.headers["Cache-Control"] = PRIVATE
        else:
            shared = current_app.config["SHARED_CACHE_SECONDS"]
            response.headers["Cache-Control"] = f"public, max-age=0, s-maxage={shared}"
        return response
    # A catalogue page without a tag (an error, development) is not shared either.
    unshared = sets_cookie or is_personal_request() or request.endpoint in CATALOGUE_VIEWS
    if unshared and "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = PRIVATE
    return response


def register_http_cache(app: Flask) -> None:
    # After the URL-length and NUL checks: a refused request is never answered with 304.
    app.before_request(answer_if_unchanged)
    app.after_request(add_cache_headers)
