"""Full-text search: the notes' search form, ranked, on PostgreSQL and SQLite."""

from flask import Blueprint

bp = Blueprint("search", __name__)

from bookshelf.search import routes  # noqa: E402, F401
