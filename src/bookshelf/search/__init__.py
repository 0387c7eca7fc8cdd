"""Full-text search: word forms, transliteration, typo suggestions, on PostgreSQL and SQLite."""

from flask import Blueprint

from bookshelf.search.sqlite import register_sqlite_functions

bp = Blueprint("search", __name__)
register_sqlite_functions()

from bookshelf.search import indexing, routes  # noqa: E402, F401
