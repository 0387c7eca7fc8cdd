"""Password reset by email, and adding a verified email address to an account."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response

from bookshelf.auth import bp
from bookshelf.auth.forms import EmailForm, ResetForm, ResetRequestForm
from bookshelf.auth.links import RESET, VERIFY_EMAIL, find_link, issue_link, use_up
from bookshelf.auth.mail import send_mail
from bookshelf.auth.throttle import clear_failures
from bookshelf.extensions import db, limiter
from bookshelf.models import User
from bookshelf.no_store import no_store
from bookshelf.users.sessions import end_other_sessions

RESET_IN_SESSION = "reset_token"


def reset_rate_limit() -> str:
    return current_app.config["RESET_RATE_LIMIT"]


def invalid_link() -> Response:
    return no_store(render_template("account/link_invalid.html"), 400)


@bp.route("/account/reset", methods=["GET", "POST"])
@limiter.limit(reset_rate_limit, methods=["POST"])
def request_reset() -> str | Response | tuple[str, int]:
    form = ResetRequestForm()
    if not form.validate_on_submit():
        return render_template("account/reset_request.html", form=form), 422 if form.errors else 200
    user = db.session.scalar(select(User).where(User.email == form.email.data))
    if user is not None:
        send_reset_mail(user)
    # The same words either way: this page must not tell which addresses have accounts.
    flash(
        _("If an account has that verified address, a link to reset its password is on its way."),
        "success",
    )
    return redirect(url_for("auth.login"), code=303)


def send_reset_mail(user: User) -> None:
    token = issue_link(user, RESET)
    if token is None or user.email is None:
        return
    link = url_for("auth.open_reset_link", token=token, _external=True)
    body = _(
        "Hello %(name)s,\n\nsomeone (we hope you) asked to reset the password of your Bookshelf "
        "account. Choose a new one here within 30 minutes:\n\n%(link)s\n\nIf it was not you, "
        "ignore this message: your password stays as it is.",
        name=user.username,
        link=link,
    )
    send_mail(user.email, _("Reset your Bookshelf password"), body)


@bp.get("/account/reset/<token>")
def open_reset_link(token: str) -> Response:
    if find_link(token, RESET) is None:
        return invalid_link()
    # Out of the address bar (history, Referer, screenshots) and into the signed session.
    session[RESET_IN_SESSION] = token
    return redirect(url_for("auth.reset_password"), code=303)


@bp.route("/account/reset/new", methods=["GET", "POST"])
def reset_password() -> Response:
    record = find_link(session.get(RESET_IN_SESSION, ""), RESET)
    if record is None:
        return invalid_link()
    form = ResetForm()
    if not form.validate_on_submit():
        page = render_template("account/reset.html", form=form, user=record.user)
        return no_store(page, 422 if form.errors else 200)
    user = record.user
    user.set_password(form.password.data or "")
    use_up(record)
    db.session.commit()
    session.pop(RESET_IN_SESSION, None)
    user.session_id = None
    end_other_sessions(user)  # with no current session: every session
    clear_failures(user.username)  # the guesses were against the old password
    flash(_("Your password was changed. Sign in with the new one."), "success")
    return redirect(url_for("auth.login"), code=303)


@bp.route("/account/email", methods=["GET", "POST"])
@login_required
def change_email() -> str | Response | tuple[str, int]:
    form = EmailForm()
    if not form.validate_on_submit():
        return render_template("account/email.html", form=form), 422 if form.errors else 200
    if not current_user.check_password(form.current.data or ""):
        form.current.errors.append(_("That is not your current password."))
        return render_template("account/email.html", form=form), 422
    address = form.email.data or ""
    token = issue_link(current_user, VERIFY_EMAIL, email=address)
    if token is not None:
        link = url_for("auth.verify_email", token=token, _external=True)
        body = _(
            "Hello %(name)s,\n\nto use this address for your Bookshelf account, open:\n\n"
            "%(link)s\n\nIf you did not ask for this, ignore this message.",
            name=current_user.username,
            link=link,
        )
        send_mail(address, _("Confirm your email address for Bookshelf"), body)
    flash(
        _("We sent a link to %(email)s. Follow it to confirm the address.", email=address),
        "success",
    )
    return redirect(url_for("users.show", user_id=current_user.id), code=303)


@bp.get("/account/email/<token>")
def verify_email(token: str) -> Response:
    record = find_link(token, VERIFY_EMAIL)
    if record is None:
        return invalid_link()
    taken = db.session.scalar(select(User.id).where(User.email == record.email))
    use_up(record)
    if taken is not None and taken != record.user_id:
        db.session.commit()
        flash(_("That address already belongs to another account."), "error")
    else:
        record.user.email = record.email
        db.session.commit()
        flash(_("Your email address is confirmed."), "success")
    return redirect(url_for("users.show", user_id=record.user_id), code=303)
