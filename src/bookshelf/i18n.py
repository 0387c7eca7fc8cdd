"""Language choice: the switcher's cookie first, then the browser's Accept-Language; the API
is always English."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from babel import dates as babel_dates
from babel import numbers as babel_numbers
from babel.support import NullTranslations
from flask import Blueprint, Flask, current_app, g, redirect, request, url_for
from flask_babel import format_number, get_locale, get_translations
from werkzeug.datastructures import LanguageAccept
from werkzeug.wrappers import Response

from bookshelf.errors import wants_problem_json
from bookshelf.safe_redirect import local_target

LANGUAGES = {"en": "English", "ru": "Русский"}
DEFAULT_LANGUAGE = "en"
LANGUAGE_COOKIE = "lang"
ONE_YEAR = 365 * 24 * 3600

bp = Blueprint("i18n", __name__)


def N_(message: str) -> str:
    """Marks a message for `make i18n-extract` where it is defined; the page that shows it
    translates it with its own `_()`, once, instead of a lazy string per use."""
    return message


def _request_state() -> object | None:
    """Flask-Babel's per-request namespace on `g`, or None outside a request."""
    try:
        return g._flask_babel
    except (AttributeError, RuntimeError):  # no locale asked for yet; no app context
        return None


def current_translations() -> NullTranslations:
    """The request's catalogue, looked up once per request and language.

    Flask-Babel resolves the domain, the locale and its cache for every string (five proxy
    look-ups on `g` each time), and a list page translates a string per row. This keeps the
    result next to Flask-Babel's own locale on `g`, keyed by that locale object, so that
    force_locale() or refresh(), which replace it, still get the right catalogue.
    """
    state = _request_state()
    locale = getattr(state, "babel_locale", None)
    if locale is not None:
        cached = getattr(state, "bookshelf_translations", None)
        if cached is not None and cached[0] is locale:
            return cached[1]
    translations = get_translations()
    state = _request_state()  # get_translations() may have just created it
    if state is not None and getattr(state, "babel_locale", None) is not None:
        state.bookshelf_translations = (state.babel_locale, translations)  # type: ignore[attr-defined]
    return translations


def current_locale_name() -> str:
    state = _request_state()
    locale = getattr(state, "babel_locale", None)
    return str(locale if locale is not None else get_locale())


def install_template_gettext(app: Flask) -> None:
    """The templates' `_`, `gettext` and `ngettext` through current_translations(), with
    Jinja's new-style escaping and %-formatting as Flask-Babel installs them."""
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: current_translations().ugettext(s),
        ngettext=lambda s, p, n: current_translations().ungettext(s, p, n),
        pgettext=lambda c, s: current_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: current_translations().unpgettext(c, s, p, n),
        newstyle=True,
    )


def page_count(value: int | None) -> str:
    """The `pagecount` filter: "312 pages", "1 page" or "pages unknown" in the page's language.

    A list shows it for every book. As a filter it is one Python call; the template's ngettext
    goes through Jinja's context call, Markup and escaped %-formatting each time.
    """
    translations = current_translations()
    if value is None:
        return translations.ugettext("pages unknown")
    return translations.ungettext("%(num)d page", "%(num)d pages", value) % {"num": value}


@dataclass(frozen=True)
class Formats:
    """What the catalogue's pages need of a language's CLDR data, and nothing else."""

    medium_date: str  # str.format pattern of {day}, {month} and {year}, as Babel's "medium"
    months: tuple[str, ...]  # abbreviated, in the form a date uses (Russian: genitive)
    group: str  # digit-group separator
    decimal: str  # decimal separator


# Babel's CLDR data for a language costs each worker 4.3 MB once anything asks for it (the
# second language 1.5 MB more), and a list page needs only a date, a count and a rating per
# book from it: these are those pieces for the two languages, as Babel 2.18 has them, and
# tests compare them with Babel (so a release that changes them fails there instead of
# changing pages). Any other language or format still goes to Babel.
FORMATS = {
    "en": Formats(
        "{month} {day}, {year}",
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
        group=",",
        decimal=".",
    ),
    "ru": Formats(
        "{day} {month} {year}\u202fг.",
        (
            "янв.",
            "февр.",
            "мар.",
            "апр.",
            "мая",
            "июн.",
            "июл.",
            "авг.",
            "сент.",
            "окт.",
            "нояб.",
            "дек.",
        ),
        group="\xa0",
        decimal=",",
    ),
}


@lru_cache(maxsize=4096)
def _format_date(value: dt.date, locale: str) -> str:
    formats = FORMATS.get(locale)
    if formats is None:
        return babel_dates.format_date(value, format="medium", locale=locale)
    month = formats.months[value.month - 1]
    return formats.medium_date.format(day=value.day, month=month, year=value.year)


def format_date(value: dt.date | dt.datetime | None) -> str:
    """The `dateformat` filter, memoised per date and language (a list repeats few dates)."""
    return format_date_in(value, current_locale_name())


def format_date_in(value: dt.date | dt.datetime | None, locale: str) -> str:
    """format_date in a language already looked up (a list's lines, bookshelf.book_lines)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.date()
    return _format_date(value, locale)


@lru_cache(maxsize=16)
def _group_symbol(locale: str) -> str:
    formats = FORMATS.get(locale)
    return formats.group if formats else babel_numbers.get_group_symbol(locale)


ONE_DECIMAL = Decimal("0.1")


@lru_cache(maxsize=256)
def one_decimal(value: float, locale: str) -> str:
    """A rating average with one decimal ("4.5", "4,5"), rounded as Babel's "0.0" rounds
    (the decimal context's half-even, from the float's shortest repr)."""
    formats = FORMATS.get(locale)
    if formats is None or not 0 <= value < 1000:  # no sign, no group separator to write
        return babel_numbers.format_decimal(value, format="0.0", locale=locale)
    return f"{Decimal(str(value)).quantize(ONE_DECIMAL):f}".replace(".", formats.decimal)


def format_integer(value: object) -> str:
    """The `numberformat` filter: counts and page numbers grouped as the page's language
    writes them ("12,345", "12 345"). Both languages group whole numbers by threes, so an
    integer needs only the locale's separator; Babel's pattern machinery, a few times per
    page, cost more than the rest of a list's counts. Anything else goes to Babel."""
    if type(value) is int:
        return f"{value:,}".replace(",", _group_symbol(current_locale_name()))
    return format_number(value)


def select_locale() -> str:
    # The API's one rule for language: its problem documents are English, whatever
    # Accept-Language or the cookie says. Clients are programs: they branch on `status` and
    # the stable `type`/`title`, and a `detail` that changed with the caller's browser would
    # only make logs and bug reports harder to match. Pages follow the reader.
    if wants_problem_json():
        return DEFAULT_LANGUAGE
    return page_locale(request.cookies.get(LANGUAGE_COOKIE), request.accept_languages)


def page_locale(chosen: str | None, accepted: LanguageAccept) -> str:
    """A page's language: the switcher's cookie, else the browser's preference, else English.
    Also used before Flask sees the request (bookshelf.http_cache)."""
    if chosen in LANGUAGES:
        return chosen
    return accepted.best_match(LANGUAGES.keys()) or DEFAULT_LANGUAGE


@bp.get("/language")
def set_language() -> Response:
    """The footer's language links: remember the choice in a cookie and go back.

    A GET, and exempt from CSRF by design: it changes nothing but the visitor's own display
    preference, which they can change back with one click, and anyone may link to a page in
    either language anyway. A form with a token here would give every page a session and a
    session cookie, making the whole catalogue personal and uncacheable.
    """
    response = redirect(local_target(request.args.get("next")) or url_for("main.home"), code=303)
    # Never kept by a cache: the redirect carries this visitor's cookie.
    response.headers["Cache-Control"] = "no-store"
    language = request.args.get("language")
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
