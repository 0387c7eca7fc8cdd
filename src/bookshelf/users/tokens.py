"""Personal API tokens: issued on the profile page, used as `Authorization: Bearer <token>`."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select

from bookshelf.extensions import db
from bookshelf.models import ApiToken, User

TOKEN_PREFIX = "bks_"  # noqa: S105  (marks our tokens, e.g. for secret scanners)
LAST_USED_RESOLUTION = dt.timedelta(minutes=5)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User, name: str) -> tuple[ApiToken, str]:
    """A new token for `user`; the plain token is returned once and never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = ApiToken(user_id=user.id, name=name, token_hash=hash_token(token), prefix=token[:12])
    db.session.add(record)
    db.session.commit()
    return record, token


def user_for_token(token: str) -> User | None:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    record = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if record is None or record.revoked_at is not None:
        return None
    now = dt.datetime.now(dt.UTC)
    last_used = record.last_used_at
    if last_used is not None and last_used.tzinfo is None:
        last_used = last_used.replace(tzinfo=dt.UTC)  # SQLite returns naive datetimes
    # Record use at most every few minutes: a write on every API read would cost too much.
    if last_used is None or now - last_used > LAST_USED_RESOLUTION:
        record.last_used_at = now
        db.session.commit()
    return record.user


def active_tokens(user: User) -> list[ApiToken]:
    query = (
        select(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.id)
    )
    return list(db.session.scalars(query))


def revoke_token(user: User, token_id: int) -> bool:
    record = db.session.get(ApiToken, token_id)
    if record is None or record.user_id != user.id or record.revoked_at is not None:
        return False
    record.revoked_at = dt.datetime.now(dt.UTC)
    db.session.commit()
    return True
