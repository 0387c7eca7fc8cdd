from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user
from werkzeug.security import check_password_hash
from werkzeug.wrappers import Response

from bookshelf.auth import bp
from bookshelf.auth.forms import LoginForm
from bookshelf.auth.throttle import clear_failures, record_failure, seconds_blocked
from bookshelf.extensions import limiter
from bookshelf.safe_redirect import local_target
from bookshelf.shelves.panel import merge_visitor_list
from bookshelf.users.accounts import find_user, start_session
from bookshelf.users.sessions import end_session

# Checked when the username is unknown, so both failures take the same time.
_DUMMY_HASH = "scrypt:32768:8:1$k9Gq3iX0$" + "0" * 128


def login_rate_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(login_rate_limit, methods=["POST"])
def login() -> str | Response | tuple[str, int]:
    form = LoginForm(next=request.args.get("next", ""))
    if current_user.is_authenticated and request.method == "GET":
        return redirect(local_target(form.next.data) or url_for("main.home"))
    if not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render_template("auth/login.html", form=form), status
    username = form.username.data or ""
    wait = seconds_blocked(username)
    if wait:
        return throttled(form, wait)
    user = find_user(username)
    password = form.password.data or ""
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
    if user is None or not user.check_password(password):
        record_failure(username)
        # One message for both cases: it must not tell which usernames exist.
        flash(_("Unknown username or wrong password."), "error")
        return render_template("auth/login.html", form=form), 401
    clear_failures(username)
    start_session(user, remember=form.remember.data)
    flash(_("Welcome back, %(name)s!", name=user.username), "success")
    response = redirect(local_target(form.next.data) or url_for("main.home"))
    return merge_visitor_list(user.id, response)


def throttled(form: LoginForm, wait: int) -> Response:
    minutes = -(-wait // 60)
    flash(
        _(
            "Too many failed sign-ins for this username. Try again in %(num)d min. "
            "or reset the password.",
            num=minutes,
        ),
        "error",
    )
    response = current_app.make_response((render_template("auth/login.html", form=form), 429))
    response.headers["Retry-After"] = str(wait)
    return response


@bp.post("/logout")
@login_required
def logout() -> Response:
    # Clear first: logout_user() leaves a note in the session telling Flask-Login to delete
    # the remember cookie, and clearing after it would erase that note.
    end_session(current_user, current_user.session_id)
    session.clear()
    logout_user()
    flash(_("You have been signed out."), "success")
    return redirect(url_for("main.home"), code=302)
