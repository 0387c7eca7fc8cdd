"""People: accounts, passwords, signed-in sessions, sign-up, the user list and profile pages."""

from flask import Blueprint

bp = Blueprint("users", __name__, url_prefix="/users")

from bookshelf.users import routes  # noqa: E402, F401
