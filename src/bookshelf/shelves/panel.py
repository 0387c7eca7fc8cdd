"""What the book page shows of the signed-in reader's shelves and ratings, and the merge of a
visitor's reading-list cookie at sign-in."""

from __future__ import annotations

from typing import Any

from flask import flash
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from bookshelf.extensions import db
from bookshelf.models import Book, ShelfEntry
from bookshelf.reading_list.cookie import COOKIE_NAME, load_reading_list
from bookshelf.shelves.forms import RatingForm, ShelfForm
from bookshelf.shelves.service import entry_for, merge_reading_list, rating_for, reader_reviews
from bookshelf.signed_cookies import delete_cookie


def book_page_context(
    book: Book, shelf_form: ShelfForm | None = None, rating_form: RatingForm | None = None
) -> dict[str, Any]:
    """The book page's reader parts: forms filled from what is stored unless given (with the
    input a reader sent back after an error)."""
    # A reader's review comes with their rating: a book nobody rated has none to look up.
    reviews = reader_reviews(book.id) if book.rating_count else []
    context: dict[str, Any] = {"reader_reviews": reviews}
    if not current_user.is_authenticated:
        return context
    entry = entry_for(current_user.id, book.id)
    rating = rating_for(current_user.id, book.id)
    if shelf_form is None:
        shelf_form = ShelfForm(formdata=None, data=shelf_data(entry))
    if rating_form is None:
        stars = str(rating.stars) if rating else None
        rating_form = RatingForm(
            formdata=None, data={"stars": stars, "review": rating.review if rating else ""}
        )
    context.update(shelf_form=shelf_form, rating_form=rating_form, my_rating=rating, entry=entry)
    return context


def shelf_data(entry: ShelfEntry | None) -> dict[str, Any]:
    if entry is None:
        return {"shelf": ""}
    return {
        "shelf": entry.shelf,
        "started_on": entry.started_on,
        "finished_on": entry.finished_on,
        "tags": ", ".join(tag.name for tag in entry.tags),
    }


def my_books_count() -> int | None:
    """For the navigation: how many books the signed-in reader has on their shelves."""
    if not current_user.is_authenticated:
        return None
    return db.session.scalar(
        select(func.count()).select_from(ShelfEntry).where(ShelfEntry.user_id == current_user.id)
    )


def merge_visitor_list(user_id: int, response: Response) -> Response:
    """At sign-in: the browser's reading list goes onto Want to read, and the cookie goes."""
    book_ids, rewrite = load_reading_list()
    if book_ids:
        added = merge_reading_list(user_id, book_ids)
        if added:
            flash(
                ngettext(
                    "%(num)d book from this browser’s reading list is now on Want to read.",
                    "%(num)d books from this browser’s reading list are now on Want to read.",
                    added,
                ),
                "success",
            )
    if book_ids or rewrite:
        delete_cookie(response, COOKIE_NAME)
    return response
