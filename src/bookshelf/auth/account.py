"""The account pages of the signed-in user: devices, password, email address, deletion."""

from __future__ import annotations

from flask import flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user
from sqlalchemy import update
from werkzeug.wrappers import Response

from bookshelf.auth import bp
from bookshelf.auth.forms import DeleteAccountForm, PasswordChangeForm
from bookshelf.extensions import db
from bookshelf.models import Book
from bookshelf.reading_list.cookie import COOKIE_NAME as READING_LIST_COOKIE
from bookshelf.signed_cookies import delete_cookie
from bookshelf.users.sessions import end_other_sessions, end_session


def to_profile() -> Response:
    return redirect(url_for("users.show", user_id=current_user.id), code=303)


@bp.delete("/account/sessions/<id:session_id>")
@login_required
def end_device_session(session_id: int) -> Response:
    if session_id == current_user.session_id:
        flash(_("Use “Sign out” to end the session on this device."), "warning")
    elif end_session(current_user, session_id):
        flash(_("That device was signed out."), "success")
    else:
        flash(_("That session has already ended."), "warning")
    return to_profile()


@bp.post("/account/sessions/others")
@login_required
def end_other_devices() -> Response:
    count = end_other_sessions(current_user)
    flash(_("Signed out everywhere else. Sessions ended: %(num)d.", num=count), "success")
    return to_profile()


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> str | Response | tuple[str, int]:
    form = PasswordChangeForm()
    if not form.validate_on_submit():
        return render_template("account/password.html", form=form), 422 if form.errors else 200
    if not current_user.check_password(form.current.data or ""):
        form.current.errors.append(_("That is not your current password."))
        return render_template("account/password.html", form=form), 422
    current_user.set_password(form.password.data or "")
    db.session.commit()
    # Whoever else holds a session may be the reason for the change: they all end.
    end_other_sessions(current_user)
    flash(_("Your password was changed. Every other device was signed out."), "success")
    return to_profile()


@bp.route("/account/delete", methods=["GET", "POST"])
@login_required
def delete_account() -> str | Response | tuple[str, int]:
    form = DeleteAccountForm()
    if not form.validate_on_submit():
        return render_template("account/delete.html", form=form), 422 if form.errors else 200
    if not current_user.check_password(form.current.data or ""):
        form.current.errors.append(_("That is not your current password."))
        return render_template("account/delete.html", form=form), 422
    user = current_user._get_current_object()
    # The catalogue keeps the books; they say they came from an account that no longer exists.
    db.session.execute(
        update(Book)
        .where(Book.added_by_id == user.id)
        .values(added_by_id=None, added_by_deleted=True)
    )
    # Sessions, API tokens and email links go with the row (ON DELETE CASCADE).
    db.session.delete(user)
    db.session.commit()
    session.clear()
    logout_user()
    flash(_("Your account was deleted."), "success")
    response = redirect(url_for("main.home"), code=303)
    delete_cookie(response, READING_LIST_COOKIE)  # the reading shelf lives in this cookie
    return response
