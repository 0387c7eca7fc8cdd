"""WSGI middleware: the plain `app(environ, start_response)` interface, put to work.

HTML forms can only send GET and POST, so a POST with a form field `_method=PATCH|PUT|DELETE`
is turned into that method before Flask routes it. A multipart form (one that uploads a file)
is read only as far as its first file: `_method` comes before it in the form.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import NEED_DATA, Data, Field, File, MultipartDecoder

OVERRIDABLE_METHODS = frozenset({"PATCH", "PUT", "DELETE"})
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
MULTIPART_CONTENT_TYPE = "multipart/form-data"
# How much of a multipart body is read to find `_method` (the fields before the first file).
MULTIPART_HEAD = 64 * 1024
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
        content_type, options = parse_options_header(environ.get("CONTENT_TYPE", ""))
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return None
        if content_type == MULTIPART_CONTENT_TYPE and length > 0 and options.get("boundary"):
            return _multipart_method(environ, options["boundary"].encode("latin-1"), length)
        if content_type != FORM_CONTENT_TYPE:
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


def _multipart_method(environ: dict[str, Any], boundary: bytes, length: int) -> str | None:
    """`_method` from the head of a multipart body; the head is put back in front of the rest."""
    stream = environ["wsgi.input"]
    head = stream.read(min(length, MULTIPART_HEAD))
    environ["wsgi.input"] = io.BufferedReader(_Rejoined(head, stream))
    decoder = MultipartDecoder(boundary)
    decoder.receive_data(head)
    name, value = None, b""
    try:
        while True:
            event = decoder.next_event()
            if isinstance(event, Field):
                name, value = event.name, b""
            elif isinstance(event, Data) and name is not None:
                value += event.data
                if not event.more_data and name == "_method":
                    method = value.decode("latin-1").strip().upper()
                    return method if method in OVERRIDABLE_METHODS else None
            elif isinstance(event, File) or event is NEED_DATA:
                return None  # a file part, or the end of the head: no override
            elif not isinstance(event, Data):
                name = None  # preamble or epilogue
    except ValueError:  # not valid multipart: Flask will say so
        return None


class _Rejoined(io.RawIOBase):
    """Bytes already read from a stream, followed by the rest of that stream."""

    def __init__(self, head: bytes, rest: Any) -> None:
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            count = min(len(buffer), len(self._head))
            buffer[:count] = self._head[:count]
            self._head = self._head[count:]
            return count
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
