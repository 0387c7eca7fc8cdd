"""Book covers: checked and re-encoded uploads (images), files by content hash (storage),
the route that serves them and the command that prunes the unused ones (routes)."""

from __future__ import annotations

import os

import flask
from flask import Blueprint, Flask, current_app

bp = Blueprint("covers", __name__, url_prefix="/covers")

# The views that take a cover: the add and edit forms (POST /books, PATCH|PUT /books/<id>)
# and the API's PUT /api/v1/books/<id>/cover. Only they accept bodies past MAX_CONTENT_LENGTH.
COVER_ENDPOINTS = frozenset({"books.create", "books.update", "api.book_cover"})
# Bodies that can carry an image. A URL-encoded form cannot, and keeps the usual limit.
COVER_BODY_TYPES = frozenset(
    {"multipart/form-data", "application/octet-stream", "image/jpeg", "image/png", "image/webp"}
)
# A 5 MiB image plus the form's other fields (a review of 20,000 characters is 80 KB at most).
MAX_COVER_REQUEST_LENGTH = 5 * 1024 * 1024 + 256 * 1024


class Request(flask.Request):
    """Flask's request, with the larger body limit on the routes that take a cover.

    Decided by the matched route, before any hook reads the body (CSRF reads the form first).
    """

    @property
    def is_cover_upload(self) -> bool:
        return self.endpoint in COVER_ENDPOINTS and self.mimetype in COVER_BODY_TYPES

    @property
    def max_content_length(self) -> int | None:
        if self._max_content_length is None and self.is_cover_upload and current_app:
            return int(current_app.config["MAX_COVER_REQUEST_LENGTH"])
        return super().max_content_length

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value


def register_covers(app: Flask) -> None:
    from bookshelf.covers.routes import prune_covers  # the views attach themselves to bp

    # Under the instance folder, which lives outside every release (see config.py).
    app.config.setdefault("COVERS_FOLDER", os.path.join(app.instance_path, "covers"))
    app.config.setdefault("MAX_COVER_REQUEST_LENGTH", MAX_COVER_REQUEST_LENGTH)
    app.request_class = Request
    app.register_blueprint(bp)
    app.cli.add_command(prune_covers)
