from __future__ import annotations

import math

from flask import abort, render_template, request
from flask_babel import gettext as _

from bookshelf.authors import bp
from bookshelf.authors.queries import (
    BOOK_SORTS,
    BOOKS_PER_PAGE,
    CYRILLIC,
    DEFAULT_BOOK_SORT,
    LATIN,
    LETTERS,
    MAX_PAGE,
    author_name,
    authors_starting_with,
    books_by,
    count_books,
)
from bookshelf.text import name_key


def page_number() -> int:
    page = max(request.args.get("page", 1, type=int), 1)
    if page > MAX_PAGE:
        abort(404, description=_("This list shows at most %(num)d pages.", num=MAX_PAGE))
    return page


@bp.get("")
def index() -> tuple[str, int]:
    typed = request.args.get("letter", "").strip()
    letter = typed.upper()[:1] if len(typed) == 1 else ""
    if typed and letter not in LETTERS:
        letter = ""
    status = 400 if typed and not letter else 200
    page = page_number()
    authors, has_next = authors_starting_with(letter, page) if letter else ([], False)
    if letter and page > 1 and not authors:
        abort(404, description=_("That page is past the end of the list."))
    page_html = render_template(
        "authors/index.html",
        alphabets=[LATIN, CYRILLIC],
        letter=letter,
        typed=typed[:10],
        bad_letter=status == 400,
        authors=authors,
        page=page,
        has_next=has_next,
    )
    return page_html, status


@bp.get("/<path:name>")
def show(name: str) -> str:
    key = name_key(name)
    display = author_name(key)
    if display is None:
        abort(404, description=_("No book in the catalogue is by %(name)s.", name=name))
    sort = request.args.get("sort", DEFAULT_BOOK_SORT)
    sort = sort if sort in BOOK_SORTS else DEFAULT_BOOK_SORT
    page = page_number()
    total = count_books(key)
    pages = max(math.ceil(total / BOOKS_PER_PAGE), 1)
    if page > pages:
        abort(404, description=_("That page is past the end of the list."))
    return render_template(
        "authors/show.html",
        key=key,
        name=display,
        total=total,
        books=books_by(key, sort, page),
        sort=sort,
        sorts={k: label for k, (label, _order) in BOOK_SORTS.items()},
        page=page,
        pages=pages,
    )
