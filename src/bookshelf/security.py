"""Security headers on every response (what Flask-Talisman would add, in a few lines)."""

from __future__ import annotations

from flask import Flask, abort, request
from flask_babel import gettext as _
from werkzeug.wrappers import Response

# No inline scripts or styles anywhere: every asset is a file under /static.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def reject_nul_characters() -> None:
    """No NUL in form fields or query strings: no column can store it, no person types it."""
    if request.path.startswith("/api/"):
        return  # the API's schemas say which strings they take
    for values in (request.args, request.form):
        if any("\x00" in value for value in values.values()):
            abort(400, description=_("The request contains a NUL character."))


def register_security_headers(app: Flask) -> None:
    app.before_request(reject_nul_characters)

    production = not (app.config["BOOKSHELF_DEVELOPMENT"] or app.testing)

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if production and request.is_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
