"""Author pages (an author's books) and the author index by initial letter."""

from flask import Blueprint

bp = Blueprint("authors", __name__, url_prefix="/authors")

from bookshelf.authors import routes  # noqa: E402, F401  (routes attach themselves to bp)
