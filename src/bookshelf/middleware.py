"""WSGI middleware: the plain `app(environ, start_response)` interface, put to work.

HTML forms can only send GET and POST, so a POST with a form field `_method=PATCH|PUT|DELETE`
is turned into that method before Flask routes it.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

OVERRIDABLE_METHODS = frozenset({"PATCH", "PUT", "DELETE"})
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
# Forms larger than this are not inspected; Flask's MAX_CONTENT_LENGTH answers them with 413.
MAX_INSPECTED_BODY = 1024 * 1024

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class MethodOverrideMiddleware:
    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "POST":
            method = self._form_method(environ)
            if method:
                environ["bookshelf.original_method"] = "POST"
                environ["REQUEST_METHOD"] = method
        return self.app(environ, start_response)

    @staticmethod
    def _form_method(environ: dict[str, Any]) -> str | None:
        content_type = environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
        if content_type != FORM_CONTENT_TYPE:
            return None
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return None
        if not 0 < length <= MAX_INSPECTED_BODY:
            return None
        body = environ["wsgi.input"].read(length)
        # Put the body back so Flask can parse the form as usual.
        environ["wsgi.input"] = io.BytesIO(body)
        for key, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
            if key == "_method":
                method = value.strip().upper()
                return method if method in OVERRIDABLE_METHODS else None
        return None
