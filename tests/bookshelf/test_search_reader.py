"""Search as readers use it: word forms, transliteration, phrases, typos, hostile input.

One table of queries with the books each must find, run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import html
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bookshelf_helpers import add_books

TITLE = re.compile(r'class="book-title" href="/books/\d+">(.*?)</a>', re.S)
TAG = re.compile(r"<[^>]+>")
SUGGESTION = re.compile(r'class="suggestion"[^>]*>.*?<a href="([^"]+)"[^>]*>([^<]+)</a>', re.S)

ANNA = "Anna Karenina"
WAR = "War and Peace"
VOINA = "Война и мир"
CRIME = "Преступление и наказание"
KARAMAZOV = "The Brothers Karamazov"
SAD = "Вишнёвый сад"
ORCHARD = "The Cherry Orchard"
TALE = "A Tale of Two Cities"
TOLD = "Twice-Told Tales"
MASTER = "Мастер и Маргарита"
EYRE = "Jane Eyre"
HOSTILE = "<script>alert(1)</script> Hostile"

CATALOGUE = [
    (ANNA, "Leo Tolstoy", "Happy families are all alike."),
    (WAR, "Leo Tolstoy", None),
    (VOINA, "Лев Толстой", "Эпопея о войне 1812 года."),
    (CRIME, "Фёдор Достоевский", "Роман о бедном студенте."),
    (KARAMAZOV, "Fyodor Dostoevsky", "Three brothers and a murder."),
    (SAD, "Антон Чехов", "Пьеса о проданном имении."),
    (ORCHARD, "Anton Chekhov", "A play about a lost estate."),
    (TALE, "Charles Dickens", "It was the best of times."),
    (TOLD, "Nathaniel Hawthorne", "Short stories."),
    (MASTER, "Михаил Булгаков", None),
    (EYRE, "Charlotte Brontë", "A governess."),
    (HOSTILE, "Mallory", "'; DROP TABLE books; --"),
]
TOLSTOY = {ANNA, WAR, VOINA}
DOSTOEVSKY = {CRIME, KARAMAZOV}
CHEKHOV = {SAD, ORCHARD}

QUERIES = [
    # Russian word forms
    ("войны", {VOINA}),
    ("войне", {VOINA}),
    ("войной", {VOINA}),
    ("наказания", {CRIME}),
    ("преступлением", {CRIME}),
    ("маргариты", {MASTER}),
    ("студента", {CRIME}),
    ("сада", {SAD}),
    # English word forms
    ("tales", {TALE, TOLD}),
    ("tale", {TALE, TOLD}),
    ("told", {TOLD}),
    ("city", {TALE}),
    ("brother", {KARAMAZOV}),
    ("family", {ANNA}),
    ("orchards", {ORCHARD}),
    ("plays", {ORCHARD}),
    # Transliteration, Cyrillic to Latin and back, and spelling variants
    ("Толстой", TOLSTOY),
    ("tolstoy", TOLSTOY),
    ("Tolstoi", TOLSTOY),
    ("Лев Толстой", TOLSTOY),
    ("dostoevsky", DOSTOEVSKY),
    ("dostoyevsky", DOSTOEVSKY),
    ("Достоевский", DOSTOEVSKY),
    ("fyodor", DOSTOEVSKY),
    ("Chekhov", CHEKHOV),
    ("Tchekhov", CHEKHOV),
    ("Чехов", CHEKHOV),
    ("bulgakov", {MASTER}),
    ("voina", {VOINA}),
    ("Каренина", {ANNA}),
    ("bronte", {EYRE}),
    ("Brontë", {EYRE}),
    # Prefixes, case, several words
    ("KARENINA", {ANNA}),
    ("karen", {ANNA}),
    ("маргарит булгаков", {MASTER}),
    ("tolstoy peace", {WAR}),
    ("dickens nothing", set()),
    # Phrases in quotes
    ('"war and peace"', {WAR}),
    ('"peace and war"', set()),
    ('"tale of two"', {TALE}),
    ('"война и мир"', {VOINA}),
    ('"cities two"', set()),
    ('"brothers karamazov" dostoevsky', {KARAMAZOV}),
    # Typos find nothing (the suggestion is tested below)
    ("karenia", set()),
    ("dikens", set()),
    # Hostile input: harmless, and found as plain words
    ("hostile<!--", {HOSTILE}),
    ("'; DROP TABLE books; --", {HOSTILE}),
    ("anna:*", {ANNA}),
    ("title:anna", set()),
    ("NEAR(anna)", set()),
    ('karenina"', {ANNA}),
    ("))) xyzzy ((", set()),
]


def found(client: FlaskClient, term: str, **params: str) -> list[str]:
    response = client.get("/search", query_string={"term": term, **params})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    return [html.unescape(TAG.sub("", title)).strip() for title in TITLE.findall(page)]


@pytest.fixture
def catalogue(app: Flask) -> None:
    add_books(
        app,
        [
            {"title": t, "author": a, "pages_num": 100 + n, "review": r}
            for n, (t, a, r) in enumerate(CATALOGUE)
        ],
    )


def test_the_table_has_enough_queries() -> None:
    assert len(QUERIES) >= 40


@pytest.mark.usefixtures("catalogue")
def test_every_query_finds_its_books(client: FlaskClient) -> None:
    # One test per database (not per query): the catalogue is set up once.
    wrong = {}
    for term, expected in QUERIES:
        got = set(found(client, term))
        if got != expected:
            wrong[term] = (sorted(got), sorted(expected))
    assert not wrong, wrong


SUGGESTIONS = [
    ("karenia", "karenina"),
    ("dikens", "dickens"),
    ("hawtorne", "hawthorne"),
    ("anna karenia", "anna karenina"),
    ("достоевкий", "достоевский"),
    ("маргарте", "маргарита"),
]


@pytest.mark.usefixtures("catalogue")
def test_a_typo_gets_a_suggestion_that_finds_books(client: FlaskClient) -> None:
    for typo, suggestion in SUGGESTIONS:
        page = client.get("/search", query_string={"term": typo}).get_data(as_text=True)
        link = re.search(
            r'class="suggestion"[^>]*>.*?<a href="([^"]+)"[^>]*>([^<]+)</a>', page, re.S
        )
        assert link, f"no suggestion for {typo!r}"
        assert link.group(2) == suggestion
        # One click runs it, and it finds books.
        assert TITLE.findall(client.get(html.unescape(link.group(1))).get_data(as_text=True))


@pytest.mark.usefixtures("catalogue")
def test_a_query_that_finds_books_gets_no_suggestion(client: FlaskClient) -> None:
    page = client.get("/search", query_string={"term": "karenina"}).get_data(as_text=True)
    assert 'class="suggestion"' not in page


@pytest.mark.usefixtures("catalogue")
def test_matches_are_highlighted_and_everything_else_is_escaped(client: FlaskClient) -> None:
    page = client.get("/search", query_string={"term": "hostile drop"}).get_data(as_text=True)
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; <mark>Hostile</mark>" in page
    assert "&#39;; <mark>DROP</mark> TABLE books; --" in page
    page = client.get("/search", query_string={"term": "войны tolstoy"}).get_data(as_text=True)
    assert "<mark>Толстой</mark>" in page  # the author, found by transliteration
    assert "Эпопея о <mark>войне</mark> 1812 года." in page  # the review snippet, by word form


@pytest.mark.usefixtures("catalogue")
def test_author_filter_and_sort_orders(client: FlaskClient) -> None:
    page = client.get("/search", query_string={"term": "tolstoy"}).get_data(as_text=True)
    assert 'href="/search?term=tolstoy&amp;sort=relevance&amp;author=Leo+Tolstoy"' in page
    assert set(found(client, "tolstoy", author="Leo Tolstoy")) == {ANNA, WAR}
    assert found(client, "tolstoy", author="Лев Толстой") == [VOINA]
    assert found(client, "tolstoy", sort="title") == [ANNA, WAR, VOINA]
    assert found(client, "tolstoy", sort="newest") == [VOINA, WAR, ANNA]
    assert found(client, "tolstoy", sort="nonsense") == found(client, "tolstoy")


@pytest.mark.usefixtures("catalogue")
def test_no_results_page_offers_broader_searches_and_browsing(client: FlaskClient) -> None:
    page = client.get("/search", query_string={"term": '"peace and war"'}).get_data(as_text=True)
    assert "No books match" in page
    assert 'class="broader-link" href="/search?term=peace+and+war"' in page
    assert 'class="broader-link" href="/search?term=peace"' in page
    assert 'href="/books"' in page
    assert found(client, "peace and war") == [WAR]


def test_the_search_page_has_one_search_box(client: FlaskClient) -> None:
    for path in ("/search", "/search?term=anna", "/search?term=zzzz"):
        page = client.get(path).get_data(as_text=True)
        assert page.count('type="search"') == 1, path
    assert client.get("/books").get_data(as_text=True).count('type="search"') == 1


@pytest.mark.usefixtures("catalogue")
def test_the_api_searches_the_same_way_with_optional_highlights(client: FlaskClient) -> None:
    body = client.get("/api/v1/books", query_string={"q": "Толстой"}).get_json()
    assert {item["title"] for item in body["items"]} == TOLSTOY
    assert all("highlight" not in item for item in body["items"])
    body = client.get("/api/v1/books", query_string={"q": "войны", "highlight": "true"}).get_json()
    [item] = body["items"]
    assert item["highlight"]["review"] == "Эпопея о <mark>войне</mark> 1812 года."
    body = client.get("/api/v1/books", query_string={"q": "hostile", "highlight": "1"}).get_json()
    title = "&lt;script&gt;alert(1)&lt;/script&gt; <mark>Hostile</mark>"
    assert body["items"][0]["highlight"]["title"] == title


# Publication years, where known: the Chekhov plays have none.
YEARS = {ANNA: 1878, WAR: 1869, VOINA: 1869, CRIME: 1866, KARAMAZOV: 1880, TALE: 1859}


@pytest.fixture
def dated(app: Flask, catalogue: None) -> None:
    from sqlalchemy import update

    from bookshelf.extensions import db
    from bookshelf.models import Book

    with app.app_context():
        for title, year in YEARS.items():
            db.session.execute(update(Book).where(Book.title == title).values(year=year))
        db.session.commit()


@pytest.mark.usefixtures("dated")
def test_year_range_filter(client: FlaskClient) -> None:
    assert set(found(client, "tolstoy", year_from="1870")) == {ANNA}
    assert set(found(client, "tolstoy", year_to="1869")) == {WAR, VOINA}
    assert set(found(client, "tolstoy", year_from="1869", year_to="1869")) == {WAR, VOINA}
    assert set(found(client, "tolstoy", year_from="", year_to="")) == TOLSTOY
    # A book whose year is unknown is not claimed to be in any range.
    assert found(client, "chekhov", year_from="1") == []
    page = client.get("/search", query_string={"term": "chekhov", "year_from": "1"})
    assert 'class="all-years-link" href="/search?term=chekhov&amp;sort=relevance"' in page.text
    # The other filters and the pages keep the years.
    page = client.get("/search", query_string={"term": "tolstoy", "year_to": "1870"}).text
    assert "published …–1870" in page
    assert "author=Leo+Tolstoy&amp;year_to=1870" in page
    assert set(found(client, "tolstoy", author="Leo Tolstoy", year_to="1870")) == {WAR}


@pytest.mark.parametrize(
    ("years", "message"),
    [
        ({"year_from": "18x9"}, "Enter a year from 1 to 9999, in digits."),
        ({"year_to": "-5"}, "Enter a year from 1 to 9999, in digits."),
        ({"year_from": "1900", "year_to": "1800"}, "The first year must not be after the last"),
    ],
)
def test_a_bad_year_is_a_clear_error_with_the_input_kept(
    client: FlaskClient, years: dict[str, str], message: str
) -> None:
    response = client.get("/search", query_string={"term": "tolstoy", **years})
    assert response.status_code == 400
    assert message in response.text
    for value in years.values():
        assert f'value="{value}"' in response.text
    assert 'aria-invalid="true"' in response.text


def test_a_bad_year_is_explained_in_russian(client: FlaskClient) -> None:
    response = client.get(
        "/search",
        query_string={"term": "толстой", "year_from": "abc"},
        headers={"Accept-Language": "ru"},
    )
    assert response.status_code == 400
    assert "Введите год от 1 до 9999 цифрами." in response.text


@pytest.mark.usefixtures("dated")
def test_the_api_filters_by_author_and_years(client: FlaskClient) -> None:
    body = client.get("/api/v1/books", query_string={"q": "tolstoy", "year_from": 1870}).get_json()
    assert [item["title"] for item in body["items"]] == [ANNA]
    query = {"q": "tolstoy", "author": "Leo Tolstoy", "year_to": 1870}
    body = client.get("/api/v1/books", query_string=query).get_json()
    assert [item["title"] for item in body["items"]] == [WAR]
    assert "year_to=1870" in body["links"]["first"]
    response = client.get("/api/v1/books", query_string={"q": "x", "year_from": 9, "year_to": 1})
    assert response.status_code == 422
    assert response.get_json()["errors"]["year_from"] == ["Must not be after year_to."]
