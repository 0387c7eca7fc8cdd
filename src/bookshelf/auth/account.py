"""The account pages of the signed-in user: devices, password, email address, deletion."""

from __future__ import annotations

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from bookshelf.auth import bp
from bookshelf.auth.sessions import end_other_sessions, end_session


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
    flash(_("Signed out everywhere else (%(num)d sessions).", num=count), "success")
    return to_profile()
