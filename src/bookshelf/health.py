"""GET /healthz: is this worker up, which release is it, and does its database answer.

deployhook and the load balancer ask it every second or so, and it uses none of what a page
does (session, sign-in, language, templates, routing hooks), so outside development it is
answered in front of Flask, as a small WSGI layer: the app's request machinery cost more than
the check itself, as measured. The answer carries the same security headers as every response
of the app. In development the Flask view answers it (bookshelf.main.routes), so the debugger
and `flask routes` see it like any other page; both give the same report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cached_property
from typing import Any

from flask import Flask
from sqlalchemy.engine import Engine

from bookshelf.database import raw_fetchone, read_engine_of
from bookshelf.revision import current_commit
from bookshelf.security import security_headers

HEALTH_PATH = "/healthz"

StartResponse = Callable[..., Any]


def database_answers(engine: Engine) -> bool:
    """SELECT 1, answered. On PostgreSQL on the read pool (autocommit, no reset, no ping) and
    the driver's own cursor: one round trip, where the session cost three (BEGIN, SELECT 1,
    ROLLBACK). That pool does not ping, so a connection the server dropped (a restart) is
    replaced and asked once more: the answer is about the database, not about an old
    connection to it."""
    for _attempt in range(2):
        row, dropped = raw_fetchone(engine, "SELECT 1")
        if not dropped:
            return row == (1,)
    return False


def health_report(app: Flask, engine: Engine) -> tuple[dict[str, str | None], bool]:
    """The answer's body, and whether the database answered."""
    healthy = database_answers(engine)
    status = "ok" if healthy else "unavailable"
    body = {
        "status": status,
        "version": app.config["BOOKSHELF_VERSION"],
        "commit": current_commit(),
        "database": status,
    }
    return body, healthy


class HealthCheck:
    """WSGI middleware: GET and HEAD of /healthz; anything else goes on to the app."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]], app: Flask) -> None:
        self.wsgi_app = wsgi_app
        self.app = app

    @cached_property
    def engine(self) -> Engine:
        return read_engine_of(self.app)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD")
        if environ.get("PATH_INFO") != HEALTH_PATH or method not in {"GET", "HEAD"}:
            return self.wsgi_app(environ, start_response)
        body, healthy = health_report(self.app, self.engine)
        data = (self.app.json.dumps(body) + "\n").encode()
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(data))),
            ("Cache-Control", "no-store"),  # a stale "ok" would hide an outage
            *security_headers(self.app, https=environ.get("wsgi.url_scheme") == "https"),
        ]
        start_response("200 OK" if healthy else "503 SERVICE UNAVAILABLE", headers)
        return [] if method == "HEAD" else [data]


def register_health_check(app: Flask) -> None:
    if not app.config["BOOKSHELF_DEVELOPMENT"]:
        app.wsgi_app = HealthCheck(app.wsgi_app, app)  # type: ignore[method-assign]
