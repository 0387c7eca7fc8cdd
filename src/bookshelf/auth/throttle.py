"""Failed sign-ins per username, in the database: every process and every address counts.

The per-address limit (Flask-Limiter) stops one machine guessing many passwords; this one stops
many machines guessing one account's password. Unknown names are counted like known ones, so
the answer never tells which usernames exist.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from flask import current_app
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from bookshelf.extensions import db
from bookshelf.models import LoginFailures, User


def _key(username: str) -> str:
    return hashlib.sha256(User.key_for(username).encode()).hexdigest()


def _window() -> dt.timedelta:
    return dt.timedelta(minutes=current_app.config["ACCOUNT_LOGIN_WINDOW_MINUTES"])


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _current(username: str) -> LoginFailures | None:
    """The row for this name while its window lasts; an expired row counts as none."""
    row = db.session.get(LoginFailures, _key(username))
    if row is None or dt.datetime.now(dt.UTC) - _aware(row.window_start) > _window():
        return None
    return row


def seconds_blocked(username: str) -> int:
    """How long sign-ins for this name stay refused; 0 when they are allowed."""
    row = _current(username)
    if row is None or row.failures < current_app.config["ACCOUNT_LOGIN_FAILURES"]:
        return 0
    ends = _aware(row.window_start) + _window()
    return max(1, int((ends - dt.datetime.now(dt.UTC)).total_seconds()))


def record_failure(username: str) -> None:
    now = dt.datetime.now(dt.UTC)
    row = db.session.get(LoginFailures, _key(username))
    if row is None:
        db.session.add(LoginFailures(key_hash=_key(username), window_start=now, failures=1))
    elif now - _aware(row.window_start) > _window():
        row.window_start, row.failures = now, 1
    else:
        row.failures += 1
    try:
        db.session.commit()
    except IntegrityError:  # another process counted the first failure a moment ago
        db.session.rollback()
        record_failure(username)
    # Old windows of names nobody tries any more need no row.
    db.session.execute(delete(LoginFailures).where(LoginFailures.window_start < now - _window()))
    db.session.commit()


def clear_failures(username: str) -> None:
    db.session.execute(delete(LoginFailures).where(LoginFailures.key_hash == _key(username)))
    db.session.commit()
