from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from bookshelf.extensions import db
from bookshelf.models import Book, User
from bookshelf.users import bp
from bookshelf.users.accounts import create_user, find_user, start_session
from bookshelf.users.forms import SignupForm

USERS_PER_PAGE = 50
PROFILE_BOOKS = 50


def book_counts(user_ids: list[int]) -> dict[int, int]:
    query = (
        select(Book.added_by_id, func.count())
        .where(Book.added_by_id.in_(user_ids))
        .group_by(Book.added_by_id)
    )
    return {user_id: count for user_id, count in db.session.execute(query)}


@bp.get("")
def index() -> str:
    after = request.args.get("after", 0, type=int)
    users = list(
        db.session.scalars(
            select(User).where(User.id > after).order_by(User.id).limit(USERS_PER_PAGE + 1)
        )
    )
    has_next = len(users) > USERS_PER_PAGE
    users = users[:USERS_PER_PAGE]
    return render_template(
        "users/index.html",
        users=users,
        counts=book_counts([u.id for u in users]),
        next_after=users[-1].id if has_next else None,
    )


@bp.get("/<int:user_id>")
def show(user_id: int) -> str:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404, description=_("There is no user with id %(id)d.", id=user_id))
    books = db.session.scalars(
        select(Book)
        .where(Book.added_by_id == user.id)
        .order_by(Book.id.desc())
        .limit(PROFILE_BOOKS)
    ).all()
    return render_template(
        "users/show.html", user=user, books=books, count=book_counts([user.id]).get(user.id, 0)
    )


@bp.get("/new")
def new() -> str:
    return render_template("users/new.html", form=SignupForm())


@bp.post("")
def create() -> Response | tuple[str, int]:
    form = SignupForm()
    if form.validate() and find_user(form.username.data or "") is not None:
        form.username.errors.append(_("That username is taken."))
    if form.errors:
        return render_template("users/new.html", form=form), 422
    try:
        user = create_user(form.username.data or "", form.password.data or "")
    except IntegrityError:  # taken by a concurrent sign-up a moment ago
        db.session.rollback()
        form.username.errors.append(_("That username is taken."))
        return render_template("users/new.html", form=form), 422
    start_session(user)
    flash(_("Welcome, %(name)s! Your account is ready.", name=user.username), "success")
    return redirect(url_for("users.show", user_id=user.id), code=302)
