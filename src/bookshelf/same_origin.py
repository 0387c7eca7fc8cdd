"""CSRF defence for a form that is shown on cacheable pages, where no token can be.

A token ties a form to a session, and a session is a cookie: the catalogue's pages would stop
being the same for everyone. Browsers say where a request comes from instead: Fetch Metadata
(`Sec-Fetch-Site`, sent by every current browser) and, before it, `Origin` on every POST.
Another site's form is refused on either; a request with neither header (an old browser, a
script) still needs the usual token.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import request
from flask_wtf.csrf import CSRFError

from bookshelf.extensions import csrf


def protect_same_origin() -> None:
    """Raise CSRFError unless the browser vouches for this site, or a valid token is sent."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        if site != "same-origin":
            raise CSRFError("The request came from another site.")
        return
    origin = request.headers.get("Origin")
    if origin is not None:
        if origin != f"{request.scheme}://{request.host}":
            raise CSRFError("The request came from another site.")
        return
    csrf.protect()


def same_origin_only(view: Callable[..., Any]) -> Callable[..., Any]:
    """A view exempt from the session's token, guarded by protect_same_origin instead."""

    @wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        protect_same_origin()
        return view(*args, **kwargs)

    return csrf.exempt(checked)
