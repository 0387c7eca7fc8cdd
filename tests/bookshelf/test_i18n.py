"""English and Russian: the switcher's cookie, Accept-Language, translated messages and dates."""

from __future__ import annotations

import datetime as dt

import pytest
from babel.dates import format_date
from babel.numbers import format_decimal
from flask import Flask
from flask.testing import FlaskClient

from bookshelf.i18n import FORMATS, format_date_in, one_decimal
from bookshelf_helpers import add_books, create_account, csrf_token, flashes, make_rows, sign_in


def test_english_is_the_default(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in html and "Welcome to Bookshelf" in html


def test_accept_language_picks_russian(client: FlaskClient) -> None:
    html = client.get("/", headers={"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"}).get_data(
        as_text=True
    )
    assert '<html lang="ru">' in html
    assert "Добро пожаловать в Bookshelf" in html and "Книги" in html


def test_the_switcher_remembers_the_choice_over_accept_language(client: FlaskClient) -> None:
    response = client.get("/language", query_string={"language": "ru", "next": "/books?sort=title"})
    assert response.status_code == 303 and response.headers["Location"] == "/books?sort=title"
    assert "lang=ru" in response.headers["Set-Cookie"]
    html = client.get("/books", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="ru">' in html and "Сортировка" in html
    back = client.get("/language", query_string={"language": "en"})
    assert back.headers["Location"] == "/"
    assert '<html lang="en">' in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(
    "bad", [{"language": "xx"}, {"language": "ru", "next": "https://evil.example"}]
)
def test_switcher_rejects_unknown_languages_and_foreign_redirects(
    client: FlaskClient, bad: dict[str, str]
) -> None:
    response = client.get("/language", query_string=bad)
    assert response.headers["Location"] == "/"
    if bad["language"] == "xx":
        assert "Set-Cookie" not in response.headers or "lang=" not in response.headers["Set-Cookie"]


def test_switcher_sets_only_the_language_cookie(client: FlaskClient) -> None:
    """No session and no token: the language is a display preference (see set_language)."""
    response = client.get("/language", query_string={"language": "ru"})
    assert [c.split("=", 1)[0] for c in response.headers.getlist("Set-Cookie")] == ["lang"]


def test_flash_messages_form_errors_plurals_and_dates_are_translated(
    app: Flask, client: FlaskClient
) -> None:
    client.set_cookie("lang", "ru")
    create_account(app, "anna")
    sign_in(client, "anna")
    invalid = client.post(
        "/books",
        data={"title": "", "author": "A", "pages_num": "0", "csrf_token": csrf_token(client)},
    )
    html = invalid.get_data(as_text=True)
    assert ("error", "Книга не сохранена: исправьте отмеченные поля.") in flashes(html)
    assert "Заполните это поле." in html  # the site's own wording, not WTForms' stock one
    add_books(app, make_rows(5, pages_num=3))
    listing = client.get("/books").get_data(as_text=True)
    assert "5 книг в каталоге" in listing and "3 страницы" in listing
    assert "2026" in listing or "г." in listing  # a Russian-formatted date
    assert client.get("/books/999").get_data(as_text=True).count("Не найдено") >= 1


def test_error_pages_are_translated(client: FlaskClient) -> None:
    client.set_cookie("lang", "ru")
    html = client.get("/nowhere").get_data(as_text=True)
    assert "404 · Не найдено" in html and "На главную" in html


@pytest.mark.parametrize("language", ["en", "ru"])
def test_numberformat_writes_integers_as_babel_does(app: Flask, language: str) -> None:
    """The templates' own integer formatting gives Babel's answer, digit for digit."""
    numbers = [0, 1, 7, 999, 1000, 1001, 12_345, 999_999, 1_000_000, 123_456_789, -1234]
    with app.test_request_context("/", headers={"Accept-Language": language}):
        numberformat = app.jinja_env.filters["numberformat"]
        assert [numberformat(n) for n in numbers] == [
            format_decimal(n, locale=language) for n in numbers
        ]
        assert numberformat(1234.5) == format_decimal(1234.5, locale=language)


@pytest.mark.parametrize("language", sorted(FORMATS))
def test_dates_and_ratings_are_written_as_babel_writes_them(language: str) -> None:
    """bookshelf.i18n.FORMATS holds the pieces of Babel's data a list page needs: with them,
    every date of two years (a leap day among them) and every average of up to 100 ratings
    reads as Babel would write it."""
    first = dt.date(2023, 1, 1)
    dates = [first + dt.timedelta(days=n) for n in range(731)]
    dates += [dt.date(1, 2, 3), dt.date(999, 12, 31), dt.date(9999, 12, 31)]
    assert [format_date_in(d, language) for d in dates] == [
        format_date(d, format="medium", locale=language) for d in dates
    ]
    stamp = dt.datetime(2026, 11, 29, 23, 59)
    assert format_date_in(stamp, language) == format_date(stamp.date(), "medium", locale=language)
    counts = range(1, 101)
    averages = sorted({total / n for n in counts for total in range(n, 5 * n + 1)})
    averages += [0, 0.05, 0.15, 2.25, 2.35, 4.05, 4.95, 999.95]
    assert [one_decimal(a, language) for a in averages] == [
        format_decimal(a, format="0.0", locale=language) for a in averages
    ]
