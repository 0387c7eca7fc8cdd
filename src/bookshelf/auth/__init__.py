"""Signing in and out (Flask-Login), account recovery, throttling and the account pages.

Accounts themselves (finding, creating, passwords, signed-in sessions) live in bookshelf.users:
this package uses them, and users never imports auth.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("auth", __name__)

__all__ = ["bp"]


from bookshelf.auth import account, recovery, routes  # noqa: E402, F401
