from __future__ import annotations

from flask import abort, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from markupsafe import Markup

from bookshelf.models import AUTHOR_MAX
from bookshelf.search import bp
from bookshelf.search.highlight import book_highlight
from bookshelf.search.queries import MAX_RESULT_PAGES, SORTS, SearchResults, search_books
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
    return {book.id: book_highlight(book, results.terms) for book in results.books}


def broader_searches(term: str) -> list[str]:
    """Searches that find more: without the quotes, or each word on its own."""
    terms = parse(term)
    words = [w for t in terms for w in t.words]
    broader = [" ".join(words)] if any(t.is_phrase for t in terms) else []
    if len(words) > 1:
        broader += words
    return list(dict.fromkeys(broader))[:6]


@bp.get("/search")
def search() -> str:
    term = request.args.get("term", "").strip()
    page = max(request.args.get("page", 1, type=int), 1)
    sort = request.args.get("sort", "relevance")
    sort = sort if sort in SORTS else "relevance"
    author = request.args.get("author", "").strip()[:AUTHOR_MAX] or None
    if page > MAX_RESULT_PAGES:
        abort(
            404,
            description=_("Search shows at most %(num)d pages of results.", num=MAX_RESULT_PAGES),
        )
    results = search_books(term, page, sort=sort, author=author) if term else None
    suggestion = None
    if results is not None and results.total < FEW_MATCHES and page == 1:
        suggestion = suggestion_for(term)
    return render_template(
        "search/results.html",
        term=term,
        sort=sort,
        author=author,
        sort_labels=SORT_LABELS,
        results=results,
        marks=highlights(results) if results else {},
        suggestion=suggestion,
        broader=broader_searches(term) if results is not None and not results.books else [],
    )
