from __future__ import annotations

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from bookshelf.extensions import db
from bookshelf.ids import parse_id
from bookshelf.models import Book
from bookshelf.reading_list import bp
from bookshelf.reading_list.cookie import MAX_BOOKS, load_reading_list, save_reading_list
from bookshelf.safe_redirect import local_target
from bookshelf.same_origin import same_origin_only


def books_in_order(book_ids: list[int]) -> list[Book]:
    found = {b.id: b for b in db.session.scalars(select(Book).where(Book.id.in_(book_ids)))}
    return [found[book_id] for book_id in book_ids if book_id in found]


@bp.get("")
def index() -> Response:
    book_ids, rewrite = load_reading_list()
    books = books_in_order(book_ids) if book_ids else []
    response = make_response(render_template("reading_list/index.html", books=books))
    still_there = [book.id for book in books]
    if rewrite or still_there != book_ids:
        save_reading_list(response, still_there)  # deleted books drop out silently
    return response


# The book page's button has no token (the page has no session: it is the same for every
# visitor, and cacheable); the browser's word on where the form came from stands in for it.
@bp.post("")
@same_origin_only
def add() -> Response:
    book_ids, _rewrite = load_reading_list()
    target = local_target(request.form.get("next")) or url_for("reading_list.index")
    book_id = request.form.get("book_id", type=parse_id)
    book = db.session.get(Book, book_id) if book_id else None
    if book is None:
        flash(_("That book does not exist (any more)."), "error")
        return redirect(target, code=303)
    if book.id in book_ids:
        flash(_("“%(title)s” is already on your reading list.", title=book.title), "warning")
    elif len(book_ids) >= MAX_BOOKS:
        flash(_("Your reading list is full (%(num)d books).", num=MAX_BOOKS), "warning")
    else:
        book_ids.append(book.id)
        flash(_("“%(title)s” is on your reading list.", title=book.title), "success")
    return save_reading_list(redirect(target, code=303), book_ids)


@bp.delete("/<id:book_id>")
def remove(book_id: int) -> Response:
    book_ids, _rewrite = load_reading_list()
    if book_id in book_ids:
        book_ids.remove(book_id)
        flash(_("Removed from your reading list."), "success")
    return save_reading_list(redirect(url_for("reading_list.index"), code=303), book_ids)


@bp.delete("")
def clear() -> Response:
    flash(_("Your reading list is now empty."), "success")
    return save_reading_list(redirect(url_for("reading_list.index"), code=303), [])
