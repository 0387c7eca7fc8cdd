"""The reading list: a shopping-cart style cookie, signed, for anyone, signed in or not."""

from flask import Blueprint

bp = Blueprint("reading_list", __name__, url_prefix="/reading-list")

from bookshelf.reading_list import routes  # noqa: E402, F401
