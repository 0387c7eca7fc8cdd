"""People: sign-up, the list of users and their profile pages."""

from flask import Blueprint

bp = Blueprint("users", __name__, url_prefix="/users")

from bookshelf.users import routes  # noqa: E402, F401
