"""Goodreads library import and export for a reader's shelves."""

from flask import Blueprint

bp = Blueprint("goodreads", __name__)

from bookshelf.goodreads import routes  # noqa: E402, F401
