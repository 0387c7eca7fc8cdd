from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from bookshelf.extensions import db
from bookshelf.models import SHELVES, Book
from bookshelf.shelves import bp
from bookshelf.shelves.forms import RatingForm, ShelfForm
from bookshelf.shelves.panel import book_page_context, my_books_count
from bookshelf.shelves.service import (
    SHELF_LABELS,
    books_on_shelves,
    place_book,
    rate_book,
    shelf_counts,
    tag_counts,
    unrate_book,
)

UNPROCESSABLE = 422


@bp.app_context_processor
def navigation_count() -> dict[str, object]:
    return {"my_books_count": my_books_count, "shelf_labels": SHELF_LABELS}


def find_book(book_id: int) -> Book:
    book = db.session.get(Book, book_id)
    if book is None:
        abort(404, description=_("There is no book with id %(id)d.", id=book_id))
    return book


def back_to(book: Book, anchor: str) -> Response:
    return redirect(url_for("books.show", book_id=book.id, _anchor=anchor), code=303)


@bp.get("/my-books")
@login_required
def my_books() -> str:
    shelf = request.args.get("shelf") or None
    if shelf is not None and shelf not in SHELVES:
        abort(404, description=_("There is no such shelf."))
    tag = request.args.get("tag", "").strip() or None
    page = max(request.args.get("page", 1, type=int), 1)
    entries, has_next = books_on_shelves(current_user.id, shelf, tag, page)
    if not entries and page > 1:
        abort(404, description=_("That page is past the end of the list."))
    return render_template(
        "shelves/my_books.html",
        entries=entries,
        has_next=has_next,
        page=page,
        shelf=shelf,
        tag=tag,
        counts=shelf_counts(current_user.id),
        tags=tag_counts(current_user.id),
    )


@bp.post("/books/<id:book_id>/shelf")
@login_required
def shelve(book_id: int) -> Response | tuple[str, int]:
    book = find_book(book_id)
    form = ShelfForm()
    if not form.validate():
        flash(_("Your shelves were not changed: please correct the fields marked below."), "error")
        context = book_page_context(book, shelf_form=form)
        return render_template("books/show.html", book=book, **context), UNPROCESSABLE
    entry = place_book(current_user.id, book, form.placement())
    if entry is None:
        flash(_("“%(title)s” is off your shelves.", title=book.title), "success")
    else:
        shelf = SHELF_LABELS[entry.shelf]
        flash(
            _("“%(title)s” is on the shelf “%(shelf)s”.", title=book.title, shelf=shelf), "success"
        )
    return back_to(book, "my-shelf")


@bp.post("/books/<id:book_id>/rating")
@login_required
def rate(book_id: int) -> Response | tuple[str, int]:
    book = find_book(book_id)
    form = RatingForm()
    if not form.validate():
        flash(_("Your rating was not saved: please correct the fields marked below."), "error")
        context = book_page_context(book, rating_form=form)
        return render_template("books/show.html", book=book, **context), UNPROCESSABLE
    rate_book(current_user.id, book, int(form.stars.data), form.review.data)
    flash(_("Your rating of “%(title)s” was saved.", title=book.title), "success")
    return back_to(book, "my-rating")


@bp.delete("/books/<id:book_id>/rating")
@login_required
def unrate(book_id: int) -> Response:
    book = find_book(book_id)
    if unrate_book(current_user.id, book.id):
        flash(_("Your rating of “%(title)s” was removed.", title=book.title), "success")
    return back_to(book, "my-rating")
