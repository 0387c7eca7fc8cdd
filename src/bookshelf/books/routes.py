from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.datastructures import CombinedMultiDict, MultiDict
from werkzeug.exceptions import Forbidden, HTTPException, NotFound
from werkzeug.wrappers import Response

from bookshelf.books import bp
from bookshelf.books.forms import BookForm
from bookshelf.books.preferences import ListPreferences, load_preferences, save_preferences
from bookshelf.books.queries import (
    MAX_JUMP_PAGE,
    SORT_ORDERS,
    AnchorNotFound,
    catalogue_size,
    list_books,
)
from bookshelf.books.service import BookNotFound, NotAllowed, get_book
from bookshelf.errors import handle_http_exception
from bookshelf.extensions import db
from bookshelf.ids import parse_id
from bookshelf.isbn import hyphenated
from bookshelf.models import Book
from bookshelf.shelves.panel import book_page_context

UNPROCESSABLE = 422


@bp.errorhandler(BookNotFound)
def book_not_found(error: BookNotFound) -> Response | HTTPException:
    return handle_http_exception(NotFound(_("There is no book with id %(id)d.", id=error.book_id)))


@bp.errorhandler(NotAllowed)
def not_allowed(_error: NotAllowed) -> Response | HTTPException:
    return handle_http_exception(
        Forbidden(_("Only the person who added this book, or an admin, may change it."))
    )


@bp.get("")
def index() -> str | Response:
    saved = load_preferences()
    chosen = ListPreferences.valid(
        request.args.get("sort", saved.sort), request.args.get("per_page", saved.per_page, type=int)
    )
    sort, per_page = chosen.sort, chosen.per_page
    page = max(request.args.get("page", 1, type=int), 1)
    after = request.args.get("after", type=parse_id)
    before = request.args.get("before", type=parse_id)
    last = request.args.get("last", type=int) == 1
    if after is None and before is None and not last and page > MAX_JUMP_PAGE:
        abort(
            404,
            description=_("Pages past %(num)d are reached with Next and Last.", num=MAX_JUMP_PAGE),
        )
    try:
        books_page = list_books(
            sort, per_page, page=page, after=after, before=before, last=last, summary=True
        )
    except AnchorNotFound:
        flash(_("The list changed while you were reading it; here is its first page."), "warning")
        return redirect(url_for("books.index", sort=sort, per_page=per_page))
    if not books_page.books and page > 1:
        abort(404, description=_("That page is past the end of the list."))
    # The size comes with the rows (one statement), or on its own for an empty list.
    size = books_page.catalogue_size or catalogue_size()
    if last and after is None and before is None:
        # The last page holds what is left over, so that its number is the number of pages.
        books_page = books_page.last_rows(size.last_page_size(per_page))
    response = make_response(
        render_template(
            "books/index.html",
            books_page=books_page,
            size=size,
            pages_total=size.pages(per_page),
            sort=sort,
            sort_orders=SORT_ORDERS,
            per_page=per_page,
        )
    )
    return save_preferences(response, chosen) if chosen != saved else response


@bp.get("/new")
@login_required
def new() -> str:
    return render_template("books/new.html", form=BookForm())


@bp.post("")
@login_required
def create() -> tuple[str, int] | Response:
    form = BookForm()
    if not form.validate():
        flash(_("The book was not saved: please correct the fields marked below."), "error")
        return render_template("books/new.html", form=form), UNPROCESSABLE
    book = Book(added_by_id=current_user.id)
    form.apply_to(book)
    db.session.add(book)
    db.session.commit()
    flash(_("“%(title)s” was added.", title=book.title), "success")
    return redirect(url_for("books.show", book_id=book.id), code=302)


@bp.get("/<id:book_id>")
def show(book_id: int) -> str:
    book = get_book(book_id, check_owner=False)
    return render_template("books/show.html", book=book, **book_page_context(book))


@bp.get("/<id:book_id>/edit")
@login_required
def edit(book_id: int) -> str:
    book = get_book(book_id, check_owner=True)
    form = BookForm(obj=book).for_book(book)
    if book.isbn:
        form.isbn.data = hyphenated(book.isbn)  # as printed on the book, not the stored digits
    return render_template("books/edit.html", book=book, form=form)


@bp.route("/<id:book_id>", methods=["PATCH", "PUT"])
@login_required
def update(book_id: int) -> tuple[str, int] | Response:
    book = get_book(book_id, check_owner=True)
    form = BookForm(formdata=CombinedMultiDict([request.files, submitted_fields(book)]))
    form.for_book(book)
    if not form.validate():
        flash(_("The changes were not saved: please correct the fields marked below."), "error")
        return render_template("books/edit.html", book=book, form=form), UNPROCESSABLE
    form.apply_to(book)
    db.session.commit()
    flash(_("“%(title)s” was updated.", title=book.title), "success")
    # 303: the browser follows with GET whatever method it sent.
    return redirect(url_for("books.show", book_id=book.id), code=303)


@bp.delete("/<id:book_id>")
@login_required
def delete(book_id: int) -> Response:
    book = get_book(book_id, check_owner=True)
    db.session.delete(book)
    db.session.commit()
    flash(_("“%(title)s” was deleted.", title=book.title), "success")
    return redirect(url_for("books.index"), code=303)


def submitted_fields(book: Book) -> MultiDict[str, str]:
    """PUT replaces every field; PATCH changes only the fields it sends."""
    if request.method == "PUT":
        return request.form
    fields = MultiDict(
        {
            "title": book.title,
            "author": book.author,
            "pages_num": "" if book.pages_num is None else str(book.pages_num),
            "review": book.review or "",
            "isbn": book.isbn or "",
            "year": "" if book.year is None else str(book.year),
        }
    )
    for key in request.form:
        fields.setlist(key, request.form.getlist(key))
    return fields
