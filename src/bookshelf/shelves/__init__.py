"""A signed-in reader's own books: exclusive shelves with dates, named shelves, star ratings."""

from flask import Blueprint

bp = Blueprint("shelves", __name__)

from bookshelf.shelves import routes  # noqa: E402, F401
