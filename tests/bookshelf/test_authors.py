"""Author pages and the author index, on SQLite and PostgreSQL, in English and Russian."""

from __future__ import annotations

import html
import re
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bookshelf_helpers import add_books

RU = {"Accept-Language": "ru"}


def book(title: str, author: str, year: int | None = None, pages: int = 100) -> dict:
    return {"title": title, "author": author, "pages_num": pages, "year": year}


@pytest.fixture
def catalogue(app: Flask) -> list[int]:
    return add_books(
        app,
        [
            book("Война и мир", "Лев Толстой", 1869),
            book("Anna Karenina", "ЛЕВ ТОЛСТОЙ", 1878),  # the same author, in capitals
            book("Resurrection", "Лев Толстой"),  # year unknown
            book("Dead Souls", "Nikolai Gogol", 1842),
            book("Taras Bulba", "Ｎｉｋｏｌａｉ Ｇｏｇｏｌ", 1835),  # full-width letters: NFKC
            book("Poems", "Анна Ахматова", 1940),
        ],
    )


def titles(page: str) -> list[str]:
    return [html.unescape(t) for t in re.findall(r'class="book-title" href="[^"]+">([^<]+)<', page)]


def author_links(page: str) -> list[str]:
    return re.findall(r'class="book-author" href="([^"]+)"', page)


def test_every_author_name_in_the_list_links_to_the_author_page(
    client: FlaskClient, catalogue: list[int]
) -> None:
    page = client.get("/books").get_data(as_text=True)
    links = author_links(page)
    assert len(links) == 6
    # Spellings that compare equal lead to one page.
    assert links.count("/authors/" + quote("лев толстой")) == 3
    assert links.count("/authors/" + quote("nikolai gogol")) == 2
    book_page = client.get(f"/books/{catalogue[0]}").get_data(as_text=True)
    assert 'href="/authors/' + quote("лев толстой") + '"' in book_page


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("title", ["Anna Karenina", "Resurrection", "Война и мир"]),
        ("newest", ["Resurrection", "Anna Karenina", "Война и мир"]),
        ("year", ["Anna Karenina", "Война и мир", "Resurrection"]),
    ],
)
def test_the_author_page_lists_their_books_with_a_count_and_sorts(
    client: FlaskClient, catalogue: list[int], sort: str, expected: list[str]
) -> None:
    # Typed in any case or width, the name finds the same author.
    for spelling in ("лев толстой", "ЛЕВ ТОЛСТОЙ", "Лев Толстой"):
        response = client.get(f"/authors/{quote(spelling)}", query_string={"sort": sort})
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        assert titles(page) == expected
        assert "3 books in the catalogue" in page
        assert "<h1>Лев Толстой</h1>" in page


def test_the_author_page_in_russian(client: FlaskClient, catalogue: list[int]) -> None:
    page = client.get("/authors/nikolai%20gogol", headers=RU).get_data(as_text=True)
    assert "2 книги в каталоге" in page and "Сортировка" in page
    assert titles(page) == ["Dead Souls", "Taras Bulba"]


def test_the_author_page_is_paginated(app: Flask, client: FlaskClient) -> None:
    add_books(app, [book(f"Volume {n:02d}", "Prolific Writer") for n in range(1, 46)])
    first = client.get("/authors/prolific%20writer").get_data(as_text=True)
    assert titles(first) == [f"Volume {n:02d}" for n in range(1, 21)]
    assert "Page 1 of 3" in first and "45 books in the catalogue" in first
    third = client.get("/authors/prolific%20writer?page=3").get_data(as_text=True)
    assert titles(third) == [f"Volume {n:02d}" for n in range(41, 46)]
    assert client.get("/authors/prolific%20writer?page=4").status_code == 404


def test_an_unknown_author_is_a_translated_404(client: FlaskClient, catalogue: list[int]) -> None:
    response = client.get("/authors/nobody%20at%20all", headers=RU)
    assert response.status_code == 404
    assert "Ни одна книга в каталоге не принадлежит автору nobody at all." in html.unescape(
        response.get_data(as_text=True)
    )


@pytest.mark.parametrize(
    ("letter", "names"),
    [
        ("Л", ["Лев Толстой"]),
        ("л", ["Лев Толстой"]),
        ("А", ["Анна Ахматова"]),
        ("N", ["Nikolai Gogol"]),
        ("T", []),
    ],
)
def test_the_index_lists_authors_by_first_letter_in_both_alphabets(
    client: FlaskClient, catalogue: list[int], letter: str, names: list[str]
) -> None:
    response = client.get("/authors", query_string={"letter": letter})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    found = re.findall(r'<li><a href="/authors/[^"]+">([^<]+)</a> <span class="muted">', page)
    # One entry per author, whatever the spellings; a spelling the books use is shown.
    assert len(found) == len(names)
    for shown, expected in zip(found, names, strict=True):
        assert shown.casefold() == expected.casefold() or "Ｎ" in shown
    if names:
        assert ("3 books" in page) == (letter.upper() == "Л")
    else:
        assert "No author’s name starts with T yet." in html.unescape(page)


def test_the_index_in_russian_and_a_bad_letter(client: FlaskClient, catalogue: list[int]) -> None:
    page = client.get("/authors?letter=Т", headers=RU).get_data(as_text=True)
    assert "Авторы: Т" in page and 'aria-current="page">Т<' in page
    assert 'href="/authors?letter=A"' in page and 'href="/authors?letter=%D0%AF"' in page
    bad = client.get("/authors?letter=%25%25", headers=RU)
    assert bad.status_code == 400
    assert "«%%» — не буква указателя" in html.unescape(bad.get_data(as_text=True))
