"""Small signed cookies (reading list, list preferences): tamper-evident, never trusted blindly."""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.wrappers import Response

ONE_YEAR = 365 * 24 * 3600
MAX_COOKIE_BYTES = 4000  # browsers drop cookies over ~4 KB anyway


class UnreadableCookie(ValueError):
    """Present, but tampered with, oversized or malformed."""


def _serializer(salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=salt)


def read_signed_cookie(name: str, salt: str) -> Any | None:
    """The cookie's value; None when absent. Raises UnreadableCookie when it can't be trusted."""
    raw = request.cookies.get(name)
    if raw is None:
        return None
    if len(raw) > MAX_COOKIE_BYTES:
        raise UnreadableCookie(name)
    try:
        return _serializer(salt).loads(raw)
    except (BadSignature, UnicodeError, ValueError) as error:
        raise UnreadableCookie(name) from error


def write_signed_cookie(response: Response, name: str, salt: str, value: Any) -> None:
    response.set_cookie(
        name,
        _serializer(salt).dumps(value),
        max_age=ONE_YEAR,
        httponly=True,
        samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )


def delete_cookie(response: Response, name: str) -> None:
    # The same cookie (name, path), emptied, with max_age=0: the browser drops it at once.
    response.set_cookie(
        name,
        "",
        max_age=0,
        httponly=True,
        samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )
