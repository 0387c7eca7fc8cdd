"""Responses that carry a secret (new tokens, reset forms, the owner's profile)."""

from __future__ import annotations

from flask import current_app
from werkzeug.wrappers import Response


def no_store(body: str, status: int = 200) -> Response:
    """Kept by no cache, the browser's own included: the next person at the computer
    must not find the page again with the Back button or in the cache."""
    response = current_app.make_response((body, status))
    response.headers["Cache-Control"] = "no-store"
    return response
