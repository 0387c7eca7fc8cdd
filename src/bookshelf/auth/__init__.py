"""Signing in and out (Flask-Login), with a rate limit on password guesses."""

from __future__ import annotations

from flask import Blueprint

from bookshelf.extensions import db
from bookshelf.models import User

bp = Blueprint("auth", __name__)


def load_user(user_id: str) -> User | None:
    try:
        return db.session.get(User, int(user_id))
    except ValueError:
        return None


from bookshelf.auth import routes  # noqa: E402, F401
