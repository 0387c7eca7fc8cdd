"""Books on the conventional CRUD routes (index, new, create, show, edit, update, delete)."""

from flask import Blueprint

bp = Blueprint("books", __name__, url_prefix="/books")

from bookshelf.books import routes  # noqa: E402, F401  (routes attach themselves to bp)
