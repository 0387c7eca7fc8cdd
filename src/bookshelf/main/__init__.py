"""Home page. (/healthz is answered in front of Flask: bookshelf.health.)"""

from flask import Blueprint

bp = Blueprint("main", __name__)

from bookshelf.main import routes  # noqa: E402, F401
