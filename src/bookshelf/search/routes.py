from __future__ import annotations

from flask import abort, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from markupsafe import Markup

from bookshelf.models import AUTHOR_MAX
from bookshelf.search import bp
from bookshelf.search.highlight import Matcher, book_highlight
from bookshelf.search.queries import (
    MAX_RESULT_PAGES,
    SORTS,
    YEAR_FILTER_MAX,
    YEAR_FILTER_MIN,
    Filters,
    SearchResults,
    search_books,
)
from bookshelf.search.suggest import suggestion_for
from bookshelf.search.terms import parse

SORT_LABELS = {
    "relevance": lazy_gettext("Relevance"),
    "newest": lazy_gettext("Newest"),
    "title": lazy_gettext("Title"),
}
# Below this many matches a reader may well have mistyped: a suggestion is looked for.
FEW_MATCHES = 3


def highlights(results: SearchResults) -> dict[int, dict[str, Markup | None]]:
    matches = Matcher(results.terms)
    return {book.id: book_highlight(book, matches) for book in results.books}


def broader_searches(term: str) -> list[str]:
    """Searches that find more: without the quotes, or each word on its own."""
    terms = parse(term)
    words = [w for t in terms for w in t.words]
    broader = [" ".join(words)] if any(t.is_phrase for t in terms) else []
    if len(words) > 1:
        broader += words
    return list(dict.fromkeys(broader))[:6]


def year_bound(name: str) -> int | None:
    """A year from the query string: None when absent or empty, ValueError when not a year."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not YEAR_FILTER_MIN <= int(raw) <= YEAR_FILTER_MAX:
        raise ValueError(
            _(
                "Enter a year from %(low)d to %(high)d, in digits.",
                low=YEAR_FILTER_MIN,
                high=YEAR_FILTER_MAX,
            )
        )
    return int(raw)


def read_filters() -> tuple[Filters, str | None]:
    """The author and year filters asked for, and what is wrong with them, if anything."""
    author = request.args.get("author", "").strip()[:AUTHOR_MAX] or None
    try:
        year_from, year_to = year_bound("year_from"), year_bound("year_to")
    except ValueError as error:
        return Filters(author), str(error)
    if year_from is not None and year_to is not None and year_from > year_to:
        return Filters(author), _("The first year must not be after the last one.")
    return Filters(author, year_from, year_to), None


@bp.get("/search")
def search() -> tuple[str, int]:
    term = request.args.get("term", "").strip()
    page = max(request.args.get("page", 1, type=int), 1)
    sort = request.args.get("sort", "relevance")
    sort = sort if sort in SORTS else "relevance"
    filters, filter_error = read_filters()
    if page > MAX_RESULT_PAGES:
        abort(
            404,
            description=_("Search shows at most %(num)d pages of results.", num=MAX_RESULT_PAGES),
        )
    results = None
    if term and filter_error is None:
        results = search_books(term, page, sort=sort, filters=filters)
    suggestion = None
    if results is not None and results.total < FEW_MATCHES and page == 1:
        suggestion = suggestion_for(term)
    page_html = render_template(
        "search/results.html",
        term=term,
        sort=sort,
        author=filters.author,
        filters=filters,
        filter_error=filter_error,
        # What the reader typed, shown back as typed when it was not a year.
        year_inputs={k: request.args.get(k, "").strip()[:10] for k in ("year_from", "year_to")},
        sort_labels=SORT_LABELS,
        results=results,
        marks=highlights(results) if results else {},
        suggestion=suggestion,
        broader=broader_searches(term) if results is not None and not results.books else [],
    )
    return page_html, 400 if filter_error else 200
