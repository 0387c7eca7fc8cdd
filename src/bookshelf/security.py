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


# Set on every response unless the view set its own.
SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)
# Production over HTTPS only: a browser that saw it would refuse plain HTTP to the host.
HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


def sends_hsts(app: Flask) -> bool:
    """HSTS in production only: a development or test server on localhost must not make the
    browser refuse plain HTTP to localhost for a year."""
    return not (app.config["BOOKSHELF_DEVELOPMENT"] or app.testing)


def security_headers(app: Flask, https: bool) -> tuple[tuple[str, str], ...]:
    """Every security header, for an answer made without Flask (bookshelf.health)."""
    return (*SECURITY_HEADERS, HSTS) if https and sends_hsts(app) else SECURITY_HEADERS


def register_security_headers(app: Flask) -> None:
    app.before_request(reject_nul_characters)

    production = sends_hsts(app)
    # Built once here rather than five setdefault calls a response (each one a scan of the
    # headers): one scan for the names a view already set, which keep the view's value.
    plain = tuple((name.lower(), name, value) for name, value in SECURITY_HEADERS)
    secure = (*plain, (HSTS[0].lower(), *HSTS))
    plain_items = [(name, value) for _, name, value in plain]
    secure_items = [(name, value) for _, name, value in secure]

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        headers = response.headers
        if production and request.is_secure:
            wanted, items = secure, secure_items
        else:
            wanted, items = plain, plain_items
        present = set(headers.keys(lower=True))
        if any(lower in present for lower, _, _ in wanted):
            items = [(name, value) for lower, name, value in wanted if lower not in present]
        headers.extend(items)
        return response
