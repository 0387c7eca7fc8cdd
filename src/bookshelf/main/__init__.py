"""Home page and the health endpoint (outside development answered before Flask:
bookshelf.health)."""

from flask import Blueprint

bp = Blueprint("main", __name__)

from bookshelf.main import routes  # noqa: E402, F401
