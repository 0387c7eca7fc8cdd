"""Signed-in sessions kept in the database, so that each one can be ended from anywhere.

Flask-Login's "alternative id" pattern: `User.get_id()` returns a random per-session key
instead of the user id, so both Flask's session cookie and the remember cookie carry that key,
and the user loader finds the session row by its hash. Deleting the row ends every copy of
both cookies at once. Visitors without cookies never reach the loader, so they cost no query.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

from flask import current_app, request
from sqlalchemy import delete, select

from bookshelf.extensions import db
from bookshelf.models import User, UserSession

# last_seen_at is written at most this often: a write per page view would cost too much,
# and idle expiry is counted in days.
LAST_SEEN_RESOLUTION = dt.timedelta(minutes=5)
KEY_MAX = 100


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(moment: dt.datetime) -> dt.datetime:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


_BROWSERS = [("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"),
             ("Chromium/", "Chromium"), ("Chrome/", "Chrome"), ("Safari/", "Safari"),
             ("curl/", "curl")]  # fmt: skip
_SYSTEMS = [("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"),
            ("Windows", "Windows"), ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"),
            ("Linux", "Linux")]  # fmt: skip


def describe_agent(user_agent: str) -> str:
    """ "Firefox on Linux": enough to recognise a device, without keeping the whole header."""
    browser = next((name for marker, name in _BROWSERS if marker in user_agent), "")
    system = next((name for marker, name in _SYSTEMS if marker in user_agent), "")
    if browser and system:
        return f"{browser} · {system}"
    return browser or system or re.sub(r"[^\w ./-]", "", user_agent)[:40]


def create_session(user: User) -> None:
    """A new session row for `user`; the key goes into the cookies via user.get_id()."""
    key = secrets.token_urlsafe(32)
    now = _now()
    record = UserSession(
        user_id=user.id,
        key_hash=_hash(key),
        created_at=now,
        last_seen_at=now,
        user_agent=describe_agent(request.headers.get("User-Agent", ""))[:120],
        ip=(request.remote_addr or "")[:45],
    )
    db.session.add(record)
    db.session.commit()
    user.session_key, user.session_id = key, record.id


def _expired(record: UserSession, now: dt.datetime) -> bool:
    idle = dt.timedelta(days=current_app.config["SESSION_IDLE_DAYS"])
    absolute = dt.timedelta(days=current_app.config["SESSION_ABSOLUTE_DAYS"])
    return now - _aware(record.last_seen_at) > idle or now - _aware(record.created_at) > absolute


def load_user(key: str) -> User | None:
    """Flask-Login's user loader: the user of a live session, or None (and the row goes)."""
    if not key or len(key) > KEY_MAX:
        return None
    record = db.session.scalar(select(UserSession).where(UserSession.key_hash == _hash(key)))
    if record is None:
        return None
    now = _now()
    if _expired(record, now):
        db.session.delete(record)
        db.session.commit()
        return None
    if now - _aware(record.last_seen_at) > LAST_SEEN_RESOLUTION:
        record.last_seen_at = now
        db.session.commit()
    user = record.user
    user.session_key, user.session_id = key, record.id
    return user


def end_session(user: User, session_id: int | None) -> bool:
    """Delete one of `user`'s sessions; False when it was not theirs or is already gone."""
    query = delete(UserSession).where(UserSession.id == session_id, UserSession.user_id == user.id)
    ended = db.session.execute(query).rowcount > 0
    db.session.commit()
    return ended


def end_other_sessions(user: User) -> int:
    """Every session of `user` but the current one; how many ended."""
    query = delete(UserSession).where(UserSession.user_id == user.id)
    if user.session_id is not None:
        query = query.where(UserSession.id != user.session_id)
    count = db.session.execute(query).rowcount
    db.session.commit()
    return count


def user_sessions(user: User) -> list[UserSession]:
    query = (
        select(UserSession)
        .where(UserSession.user_id == user.id)
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
    )
    return list(db.session.scalars(query))
