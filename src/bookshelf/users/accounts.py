"""Finding, creating and signing in accounts: one place for sign-up, sign-in and the CLI."""

from __future__ import annotations

from flask import session
from flask_login import login_user
from sqlalchemy import select

from bookshelf.extensions import db
from bookshelf.models import User
from bookshelf.users.names import skeleton
from bookshelf.users.sessions import create_session


def find_user(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username_key == User.key_for(username)))


def find_lookalike(username: str) -> User | None:
    """An account whose name looks like `username` (Unicode confusables), if any."""
    query = select(User).where(User.username_skeleton == skeleton(username)).limit(1)
    return db.session.scalar(query)


def create_user(username: str, password: str, is_admin: bool = False) -> User:
    user = User(
        username=username,
        username_key=User.key_for(username),
        username_skeleton=skeleton(username),
        is_admin=is_admin,
    )
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


def start_session(user: User, remember: bool = False) -> None:
    # A fresh session on sign-in: nothing from before carries over but the flashes.
    flashes = session.get("_flashes")
    session.clear()
    if flashes:
        session["_flashes"] = flashes
    create_session(user)
    login_user(user, remember=remember)
