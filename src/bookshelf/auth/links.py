"""Single-use links sent by email: password resets and address checks.

The token travels only in the mail; the database keeps its SHA-256, an expiry and when it was
used, so a leaked table opens no account and a used or old link opens nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import func, select, update

from bookshelf.extensions import db
from bookshelf.models import AccountToken, User

RESET = "reset"
VERIFY_EMAIL = "verify-email"
LIFETIME = {RESET: dt.timedelta(minutes=30), VERIFY_EMAIL: dt.timedelta(hours=24)}
# More links than this per account and hour are not sent: nobody needs them, a pest might.
LINKS_PER_HOUR = 3
TOKEN_MAX = 100


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def recent_links(user: User, purpose: str) -> int:
    since = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    query = select(func.count()).where(
        AccountToken.user_id == user.id,
        AccountToken.purpose == purpose,
        AccountToken.created_at > since,
    )
    return db.session.scalar(query) or 0


def issue_link(user: User, purpose: str, email: str | None = None) -> str | None:
    """A new token for `user`, or None when too many were sent this hour."""
    if recent_links(user, purpose) >= LINKS_PER_HOUR:
        return None
    token = secrets.token_urlsafe(32)
    now = dt.datetime.now(dt.UTC)
    record = AccountToken(
        user_id=user.id,
        purpose=purpose,
        token_hash=_hash(token),
        email=email,
        created_at=now,
        expires_at=now + LIFETIME[purpose],
    )
    db.session.add(record)
    db.session.commit()
    return token


def find_link(token: str, purpose: str) -> AccountToken | None:
    """The unused, unexpired link for `token`, or None."""
    if not token or len(token) > TOKEN_MAX:
        return None
    record = db.session.scalar(
        select(AccountToken).where(
            AccountToken.token_hash == _hash(token), AccountToken.purpose == purpose
        )
    )
    if record is None or record.used_at is not None:
        return None
    if _aware(record.expires_at) <= dt.datetime.now(dt.UTC):
        return None
    return record


def use_up(record: AccountToken) -> None:
    """Mark this link and every other open link of the same kind for the user as used."""
    db.session.execute(
        update(AccountToken)
        .where(
            AccountToken.user_id == record.user_id,
            AccountToken.purpose == record.purpose,
            AccountToken.used_at.is_(None),
        )
        .values(used_at=dt.datetime.now(dt.UTC))
    )
