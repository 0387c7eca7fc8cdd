from __future__ import annotations

from flask import abort, render_template, request
from flask_babel import gettext as _

from bookshelf.search import bp
from bookshelf.search.queries import MAX_RESULT_PAGES, search_books


@bp.get("/search")
def search() -> str:
    term = request.args.get("term", "").strip()
    page = max(request.args.get("page", 1, type=int), 1)
    if page > MAX_RESULT_PAGES:
        abort(
            404,
            description=_("Search shows at most %(num)d pages of results.", num=MAX_RESULT_PAGES),
        )
    results = search_books(term, page) if term else None
    return render_template("search/results.html", term=term, results=results)
