"""Signing in and out (Flask-Login), sessions, passwords and the account pages."""

from __future__ import annotations

from flask import Blueprint

from bookshelf.auth.sessions import load_user

bp = Blueprint("auth", __name__)

__all__ = ["bp", "load_user"]


from bookshelf.auth import account, recovery, routes  # noqa: E402, F401
