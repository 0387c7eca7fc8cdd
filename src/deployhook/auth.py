"""Operator sign-in: a form for the operator token, then a signed session cookie.

The cookie is Flask's own signed session, keyed by a value derived from the operator token,
so rotating the token signs everybody out. It is HttpOnly, SameSite=Strict, Secure whenever
the request came over TLS (directly, or through a trusted proxy), and lasts 12 hours. Every
state-changing request from a session carries a CSRF token that must match the session's.
Scripts keep using ``Authorization: Bearer <token>``, which a browser never sends by itself,
so Bearer requests need no CSRF token.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Flask, Request, g, request, session
from flask.sessions import SecureCookieSessionInterface

from . import appstate

log = logging.getLogger(__name__)

SESSION_HOURS = 12
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
_NAME_RE = re.compile(r"[\w .@+-]{1,64}")


@dataclass(frozen=True)
class Operator:
    """Who is making this request, for the audit log."""

    name: str
    via: str  # "session" or "bearer"


class TLSAwareSessions(SecureCookieSessionInterface):
    """Marks the cookie Secure whenever the request arrived over https."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(request and request.is_secure)


def _derive(token: str, purpose: bytes) -> bytes:
    return hmac.new(token.encode(), purpose, hashlib.sha256).digest()


def configure_sessions(app: Flask, token: str | None) -> None:
    """Session cookie settings; without a token there is nothing to sign in to."""
    app.session_interface = TLSAwareSessions()
    app.config.update(
        SECRET_KEY=_derive(token, b"deployhook session key") if token else None,
        SESSION_COOKIE_NAME="deployhook_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
    )


def _fingerprint(token: str) -> str:
    # Stored in the session instead of anything token-like, so a copied cookie says nothing
    # about the token, and a new token makes every old session invalid.
    return _derive(token, b"deployhook session owner").hex()[:32]


def bearer_ok(req: Request, token: str) -> bool:
    """True when the request carries ``Authorization: Bearer <token>``."""
    header = req.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return False
    given = header[len("Bearer ") :].strip()
    return bool(given) and hmac.compare_digest(given.encode(), token.encode())


def current_operator(token: str) -> Operator | None:
    """The signed-in operator (session or Bearer), or None."""
    if bearer_ok(request, token):
        return Operator("API token", "bearer")
    if session.get("owner") != _fingerprint(token):
        return None
    started = session.get("at", 0)
    if not isinstance(started, (int, float)) or time.time() - started > SESSION_HOURS * 3600:
        return None
    return Operator(str(session.get("name", "operator")), "session")


def csrf_token() -> str:
    """This session's CSRF token, made on first use (the sign-in form needs one too)."""
    value = session.get("csrf")
    if not isinstance(value, str):
        value = secrets.token_urlsafe(32)
        session["csrf"] = value
    return value


def csrf_ok() -> bool:
    """The form field or header matches the session's token."""
    expected = session.get("csrf")
    given = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    return (
        isinstance(expected, str)
        and bool(given)
        and hmac.compare_digest(given.encode(), expected.encode())
    )


def valid_name(name: str) -> bool:
    """An operator name fit for the audit log: letters, digits, space and ``.@+-_``."""
    return _NAME_RE.fullmatch(name) is not None


def sign_in(token: str, given: str, name: str) -> bool:
    """Check the token; on success start a fresh session (new CSRF token, no fixation)."""
    if not given or not hmac.compare_digest(given.encode(), token.encode()):
        log.warning("failed operator sign-in from %s", request.remote_addr)
        return False
    session.clear()
    session.permanent = True
    session.update(owner=_fingerprint(token), name=name, at=time.time())
    csrf_token()
    log.info("operator %r signed in from %s", name, request.remote_addr)
    return True


def sign_out() -> None:
    """Forget the session (the cookie is emptied on the response)."""
    session.clear()


def remember(operator: Operator) -> None:
    """Keep the operator for this request (views and the audit log read it)."""
    g.operator = operator


def operator_name() -> str:
    """Name for the audit log."""
    op: Any = g.get("operator")
    return op.name if isinstance(op, Operator) else "unknown"


def needs_csrf() -> bool:
    """State-changing requests from a browser session must carry the CSRF token."""
    op: Any = g.get("operator")
    return request.method not in ("GET", "HEAD", "OPTIONS") and not (
        isinstance(op, Operator) and op.via == "bearer"
    )


def token_of_app() -> str | None:
    """The configured operator token (None: operator views disabled)."""
    return appstate.config().operator_token
