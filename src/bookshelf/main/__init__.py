"""Home page and the health endpoint."""

from flask import Blueprint

bp = Blueprint("main", __name__)

from bookshelf.main import routes  # noqa: E402, F401
