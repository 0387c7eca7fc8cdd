"""Language choice: the switcher's cookie first, then the browser's Accept-Language; the API
is always English."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from babel import dates as babel_dates
from flask import Blueprint, current_app, redirect, request, url_for
from flask_babel import get_locale
from werkzeug.wrappers import Response

from bookshelf.errors import wants_problem_json
from bookshelf.safe_redirect import local_target

LANGUAGES = {"en": "English", "ru": "Русский"}
DEFAULT_LANGUAGE = "en"
LANGUAGE_COOKIE = "lang"
ONE_YEAR = 365 * 24 * 3600

bp = Blueprint("i18n", __name__)


@lru_cache(maxsize=4096)
def _format_date(value: dt.date, locale: str) -> str:
    return babel_dates.format_date(value, format="medium", locale=locale)


def format_date(value: dt.date | dt.datetime | None) -> str:
    """The `dateformat` filter, memoised per date and language (a list repeats few dates)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.date()
    return _format_date(value, str(get_locale()))


def select_locale() -> str:
    # The API's one rule for language: its problem documents are English, whatever
    # Accept-Language or the cookie says. Clients are programs: they branch on `status` and
    # the stable `type`/`title`, and a `detail` that changed with the caller's browser would
    # only make logs and bug reports harder to match. Pages follow the reader.
    if wants_problem_json():
        return DEFAULT_LANGUAGE
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES.keys()) or DEFAULT_LANGUAGE


@bp.post("/language")
def set_language() -> Response:
    response = redirect(local_target(request.form.get("next")) or url_for("main.home"), code=303)
    language = request.form.get("language")
    if language in LANGUAGES:
        response.set_cookie(
            LANGUAGE_COOKIE,
            language,
            max_age=ONE_YEAR,
            httponly=True,
            samesite="Lax",
            secure=current_app.config["SESSION_COOKIE_SECURE"],  # like every cookie we set
        )
    return response
