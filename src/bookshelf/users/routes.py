from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from bookshelf.extensions import db
from bookshelf.ids import parse_id
from bookshelf.models import USERNAME_MAX, ApiToken, Book, User
from bookshelf.no_store import no_store
from bookshelf.shelves.panel import merge_visitor_list
from bookshelf.stats.service import bars, reading_by_month
from bookshelf.users import bp
from bookshelf.users.accounts import create_user, find_lookalike, find_user, start_session
from bookshelf.users.forms import SignupForm, TokenForm
from bookshelf.users.sessions import user_sessions
from bookshelf.users.tokens import active_tokens, issue_token, revoke_token

USERS_PER_PAGE = 50
NEW_TOKEN = "new_api_token"  # noqa: S105  (a session key, not a secret)
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
    after = request.args.get("after", 0, type=parse_id)
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


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404, description=_("There is no user with id %(id)d.", id=user_id))
    return user


def get_own_account(user_id: int) -> User:
    user = get_user(user_id)
    if user.id != current_user.id:
        abort(403, description=_("Only the owner of this account may manage its tokens."))
    return user


def reading_stats_context(user_id: int) -> dict[str, object]:
    """The owner's books and pages per month, with the bars of both charts."""
    months = reading_by_month(user_id)
    return {
        "stats": months,
        "book_bars": bars(months, "books"),
        "page_bars": bars(months, "pages"),
        "stats_locale": str(get_locale() or "en"),
    }


@bp.get("/<id:user_id>")
def show(user_id: int) -> str | Response:
    user = get_user(user_id)
    own = current_user.is_authenticated and current_user.id == user.id
    newest_first = select(Book).where(Book.added_by_id == user.id).order_by(Book.id.desc())
    books = db.session.scalars(newest_first.limit(PROFILE_BOOKS)).all()
    page = render_template(
        "users/show.html",
        user=user,
        books=books,
        count=book_counts([user.id]).get(user.id, 0),
        tokens=active_tokens(user) if own else None,
        devices=user_sessions(user) if own else None,
        token_form=TokenForm() if own else None,
        **(reading_stats_context(user.id) if own else {}),
    )
    if not own:
        return page
    # The owner's view lists devices, addresses and tokens: no cache may keep it.
    return no_store(page)


@bp.post("/<id:user_id>/tokens")
@login_required
def create_token(user_id: int) -> tuple[str, int] | Response:
    user = get_own_account(user_id)
    form = TokenForm()
    if not form.validate():
        flash(_("Give the token a name (up to 60 characters)."), "error")
        return redirect(url_for("users.show", user_id=user.id), code=303)
    record, token = issue_token(user, form.name.data or "")
    # Post-redirect-get: a reload of the next page must not create a second token. The token
    # rides in the (signed, HttpOnly) session for one redirect and is removed when shown.
    session[NEW_TOKEN] = {"id": record.id, "token": token}
    return redirect(url_for("users.new_token", user_id=user.id), code=303)


@bp.get("/<id:user_id>/tokens/new")
@login_required
def new_token(user_id: int) -> Response:
    user = get_own_account(user_id)
    pending = session.pop(NEW_TOKEN, None)
    record = db.session.get(ApiToken, pending["id"]) if pending else None
    if record is None or record.user_id != user.id:
        flash(_("A new token is shown only once. Revoke it if you did not copy it."), "warning")
        return redirect(url_for("users.show", user_id=user.id), code=303)
    page = render_template(
        "users/token_created.html", user=user, record=record, token=pending["token"]
    )
    return no_store(page)


@bp.delete("/<id:user_id>/tokens/<id:token_id>")
@login_required
def delete_token(user_id: int, token_id: int) -> Response:
    user = get_own_account(user_id)
    if revoke_token(user, token_id):
        flash(_("The token was revoked."), "success")
    else:
        flash(_("That token does not exist or was already revoked."), "warning")
    return redirect(url_for("users.show", user_id=user.id), code=303)


@bp.get("/new")
def new() -> str:
    return render_template("users/new.html", form=SignupForm())


def check_username(form: SignupForm) -> None:
    name = form.username.data or ""
    if len(User.key_for(name)) > USERNAME_MAX:
        form.username.errors.append(_("That username is too long once normalised."))
    elif find_user(name) is not None:
        form.username.errors.append(_("That username is taken."))
    elif find_lookalike(name) is not None:
        form.username.errors.append(
            _("That username looks too much like an existing one. Please choose another.")
        )


@bp.post("")
def create() -> Response | tuple[str, int]:
    form = SignupForm()
    if form.validate():
        check_username(form)
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
    response = redirect(url_for("users.show", user_id=user.id), code=302)
    return merge_visitor_list(user.id, response)
