"""Readers' 1-5 star ratings and short reviews: the page, the lists, sorting, the database."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bookshelf.extensions import db
from bookshelf.models import Book, Rating, User
from bookshelf_helpers import add_books, create_account, csrf_token, flashes, make_rows, sign_in

TITLE = re.compile(r'class="book-title" href="/books/\d+">([^<]+)</a>')


def rate(client: FlaskClient, book_id: int, stars: str | None, review: str = ""):
    data = {"review": review, "csrf_token": csrf_token(client, f"/books/{book_id}")}
    if stars is not None:
        data["stars"] = stars
    return client.post(f"/books/{book_id}/rating", data=data)


def sign_in_as(app: Flask, client: FlaskClient, name: str) -> None:
    client.delete_cookie("session")
    client.delete_cookie("remember_token")
    create_account(app, name)
    sign_in(client, name)


def book_stats(app: Flask, book_id: int) -> tuple[int, int, float]:
    with app.app_context():
        book = db.session.get(Book, book_id)
        return book.rating_count, book.rating_sum, book.rating_avg


def test_rating_average_count_list_and_sort(app: Flask, client: FlaskClient) -> None:
    ids = add_books(app, make_rows(3))
    sign_in_as(app, client, "anna")
    response = rate(client, ids[0], "4", "  Slow start, great end.  ")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/books/{ids[0]}#my-rating"
    rate(client, ids[1], "2")
    sign_in_as(app, client, "boris")
    rate(client, ids[0], "5")
    rate(client, ids[0], "3")  # changes boris's rating, not a second one
    assert book_stats(app, ids[0]) == (2, 7, 3.5)

    page = client.get(f"/books/{ids[0]}").get_data(as_text=True)
    assert "3.5 out of 5" in page and "2 ratings" in page
    assert 'value="3" checked' in page  # boris's own choice is shown
    assert "Slow start, great end." in page and ">anna</a>, 4 stars" in page
    listing = client.get("/books?sort=rating").get_data(as_text=True)
    assert TITLE.findall(listing) == ["Book 001", "Book 002", "Book 003"]
    assert "3.5 out of 5 (2 ratings)" in listing
    assert "Book 003</a>" in listing and "out of 5 (0" not in listing  # unrated: no score

    client.set_cookie("lang", "ru")
    ru = client.get(f"/books/{ids[0]}").get_data(as_text=True)
    assert "3,5 из 5" in ru and "2 оценки" in ru and "Моя оценка" in ru

    removed = client.post(
        f"/books/{ids[0]}/rating",
        data={"_method": "DELETE", "csrf_token": csrf_token(client, f"/books/{ids[0]}")},
    )
    assert removed.status_code == 303
    assert book_stats(app, ids[0]) == (1, 4, 4.0)


@pytest.mark.parametrize(
    ("stars", "review", "message"),
    [
        (None, "No stars given", "Choose from 1 to 5 stars."),
        ("6", "Six of five", "Choose from 1 to 5 stars."),
        ("0", "Zero", "Choose from 1 to 5 stars."),
        ("four", "Words", "Choose from 1 to 5 stars."),
        ("4", "x" * 2001, "Use at most 2000 characters."),
    ],
)
def test_bad_ratings_are_refused_and_the_review_kept(
    app: Flask, client: FlaskClient, stars: str | None, review: str, message: str
) -> None:
    [book_id] = add_books(app, make_rows(1))
    sign_in_as(app, client, "anna")
    response = rate(client, book_id, stars, review)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html
    assert f">{review}</textarea>" in html
    assert ("error", "Your rating was not saved: please correct the fields marked below.") in (
        flashes(html)
    )
    assert book_stats(app, book_id) == (0, 0, 0.0)


def test_bad_rating_in_russian(app: Flask, client: FlaskClient) -> None:
    [book_id] = add_books(app, make_rows(1))
    sign_in_as(app, client, "anna")
    client.set_cookie("lang", "ru")
    html = rate(client, book_id, None, "Отзыв").get_data(as_text=True)
    assert "Выберите от 1 до 5 звёзд." in html and ">Отзыв</textarea>" in html


def test_rating_needs_an_account_and_csrf(app: Flask, client: FlaskClient) -> None:
    [book_id] = add_books(app, make_rows(1))
    # A visitor's book page has no form with a token: the sign-in page's token, then.
    visitor = {"stars": "5", "csrf_token": csrf_token(client)}
    assert client.post(f"/books/{book_id}/rating", data=visitor).status_code == 302  # sign in
    sign_in_as(app, client, "anna")
    assert client.post(f"/books/{book_id}/rating", data={"stars": "5"}).status_code == 400
    assert rate(client, 99999, "5").status_code == 404
    assert book_stats(app, book_id) == (0, 0, 0.0)


def test_database_keeps_one_rating_per_reader_and_1_to_5(app: Flask) -> None:
    [book_id] = add_books(app, make_rows(1))
    create_account(app, "anna")
    with app.app_context():
        user_id = db.session.scalar(select(User.id))
        for stars in (0, 6):
            db.session.add(Rating(user_id=user_id, book_id=book_id, stars=stars))
            with pytest.raises(IntegrityError):
                db.session.commit()
            db.session.rollback()
        db.session.add(Rating(user_id=user_id, book_id=book_id, stars=5))
        db.session.commit()
        db.session.add(Rating(user_id=user_id, book_id=book_id, stars=4))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        db.session.add(Rating(user_id=user_id, book_id=book_id, stars=4, review="x" * 2001))
        with pytest.raises(IntegrityError):
            db.session.commit()


def test_deleting_an_account_takes_its_ratings_out_of_the_average(
    app: Flask, client: FlaskClient
) -> None:
    [book_id] = add_books(app, make_rows(1))
    for name, stars in (("anna", "5"), ("boris", "2"), ("clara", "2")):
        sign_in_as(app, client, name)
        rate(client, book_id, stars)
    assert book_stats(app, book_id) == (3, 9, 3.0)
    with app.app_context():
        db.session.delete(db.session.scalar(select(User).where(User.username == "anna")))
        db.session.commit()
    assert book_stats(app, book_id) == (2, 4, 2.0)
    with app.app_context():
        for user in db.session.scalars(select(User)):
            db.session.delete(user)
        db.session.commit()
    assert book_stats(app, book_id) == (0, 0, 0.0)
    with app.app_context():
        db.session.delete(db.session.get(Book, book_id))
        db.session.commit()
        assert db.session.scalar(select(Rating.id)) is None


def test_sorting_by_rating_pages_through_every_book_once(app: Flask, client: FlaskClient) -> None:
    ids = add_books(app, make_rows(7))
    readers = [create_account(app, name) for name in ("anna", "boris", "clara")]
    # Book 1 and 4 tie at 4.5; book 6 has 5.0 from one reader; 2, 3, 5 and 7 are unrated.
    stars = {ids[0]: [5, 4], ids[3]: [4, 5], ids[5]: [5]}
    with app.app_context():
        for book_id, given in stars.items():
            for user_id, value in zip(readers, given, strict=False):
                db.session.add(Rating(user_id=user_id, book_id=book_id, stars=value))
        db.session.commit()
    expected = [ids[5], ids[3], ids[0], ids[6], ids[4], ids[2], ids[1]]
    seen, url = [], "/api/v1/books?sort=rating&per_page=2"
    while url:
        page = client.get(url).get_json()
        seen += [book["id"] for book in page["items"]]
        url = page["links"]["next"]
    assert seen == expected
    html = client.get("/books?sort=rating&per_page=10").get_data(as_text=True)
    assert TITLE.findall(html) == [f"Book {ids.index(i) + 1:03d}" for i in expected]
