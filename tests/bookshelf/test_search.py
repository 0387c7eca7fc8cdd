"""Full-text search: FTS5 on SQLite, tsvector + GIN on PostgreSQL."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bookshelf_helpers import add_books, make_rows, needles

TITLE_LINK = re.compile(r'class="book-title" href="/books/\d+">(.*?)</a>')


class TITLE:
    """Book titles on a results page, without the <mark> of highlighted words."""

    @staticmethod
    def findall(page: str) -> list[str]:
        return [re.sub(r"</?mark>", "", title) for title in TITLE_LINK.findall(page)]


CATALOGUE = [
    {"title": "Anna Karenina", "author": "Leo Tolstoy", "pages_num": 864, "review": "Trains."},
    {"title": "War and Peace", "author": "Leo Tolstoy", "pages_num": 1225, "review": None},
    {"title": "Война и мир", "author": "Лев Толстой", "pages_num": 1300, "review": "Эпопея"},
    {"title": "Мастер и Маргарита", "author": "Михаил Булгаков", "pages_num": 480, "review": None},
    {"title": "Diary", "author": "Someone", "pages_num": 100, "review": "Like Anna Karenina."},
]


def search(client: FlaskClient, term: str) -> list[str]:
    response = client.get("/search", query_string={"term": term})
    assert response.status_code == 200
    return TITLE.findall(response.get_data(as_text=True))


@pytest.fixture
def catalogue(app: Flask) -> None:
    add_books(app, CATALOGUE)


@pytest.mark.usefixtures("catalogue")
@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("karenina", {"Anna Karenina", "Diary"}),
        ("KARENINA", {"Anna Karenina", "Diary"}),
        # Prefix of an author, in both scripts (Лев Толстой is transliterated).
        ("tolst", {"Anna Karenina", "War and Peace", "Война и мир"}),
        ("война", {"Война и мир"}),
        ("ВОЙН", {"Война и мир"}),  # Cyrillic, case-insensitive prefix
        ("маргарит булгаков", {"Мастер и Маргарита"}),  # every word must match
        ("эпопея", {"Война и мир"}),  # review is searched too
        ("nonexistentword", set()),
    ],
)
def test_matches(client: FlaskClient, term: str, expected: set[str]) -> None:
    assert set(search(client, term)) == expected


@pytest.mark.usefixtures("catalogue")
def test_title_match_ranks_above_review_match(client: FlaskClient) -> None:
    assert search(client, "karenina") == ["Anna Karenina", "Diary"]


@pytest.mark.usefixtures("catalogue")
def test_no_match_says_so(client: FlaskClient) -> None:
    html = client.get("/search?term=zzzz").get_data(as_text=True)
    assert "No books match “zzzz”." in html


@pytest.mark.parametrize("query", ["", "?term=", "?term=%20%20"])
def test_empty_term_shows_the_form_without_error(client: FlaskClient, query: str) -> None:
    response = client.get(f"/search{query}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<input id="search-term" type="search" required name="term"' in html
    assert "No books match" not in html


@pytest.mark.usefixtures("catalogue")
@pytest.mark.parametrize(
    "term", ["'", '"', "*", "anna:*", "a & | ! (", "NEAR(anna)", "title:anna", "--", "' OR 1=1 --"]
)
def test_query_syntax_characters_are_harmless(client: FlaskClient, term: str) -> None:
    response = client.get("/search", query_string={"term": term})
    assert response.status_code == 200


def test_results_are_paginated(app: Flask, client: FlaskClient) -> None:
    add_books(app, make_rows(25, review="common"))
    first = client.get("/search?term=common").get_data(as_text=True)
    assert len(TITLE.findall(first)) == 20 and "25 matches" in first and 'rel="next"' in first
    second = client.get("/search?term=common&page=2").get_data(as_text=True)
    assert len(TITLE.findall(second)) == 5 and 'rel="next"' not in second
    assert client.get("/search?term=common&page=51").status_code == 404


def test_search_term_is_escaped_in_the_page(client: FlaskClient) -> None:
    html = client.get("/search", query_string={"term": "<script>alert(1)</script>"}).get_data(
        as_text=True
    )
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_very_common_term_ranks_only_the_newest_candidates(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bookshelf.search import queries

    monkeypatch.setattr(queries, "COUNT_CAP", 5)
    add_books(app, make_rows(30, review="common"))
    html = client.get("/search?term=common").get_data(as_text=True)
    assert "More than 5 matches" in html
    # Bounded work: the 6 newest matches are ranked (equal rank: newest first), no more.
    assert TITLE.findall(html) == [f"Book {n:03d}" for n in range(30, 24, -1)]


def test_the_count_is_exact_up_to_the_cap_and_the_ranking_covers_every_candidate(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bookshelf.search import queries

    monkeypatch.setattr(queries, "COUNT_CAP", 5)
    # Title matches rank above review matches; equals come newest first.
    rows = [
        {**row, "title": f"Needle {n}", "review": None} if n % 2 == 0 else row
        for n, row in enumerate(make_rows(6, review="needle"), 1)
    ]
    add_books(app, rows[:5])
    html = client.get("/search?term=needle").get_data(as_text=True)
    assert "5 matches" in html and "More than" not in html
    assert TITLE.findall(html) == ["Needle 4", "Needle 2", "Book 005", "Book 003", "Book 001"]
    add_books(app, rows[5:])
    html = client.get("/search?term=needle").get_data(as_text=True)
    assert "More than 5 matches" in html
    assert TITLE.findall(html) == [
        "Needle 6",
        "Needle 4",
        "Needle 2",
        "Book 005",
        "Book 003",
        "Book 001",
    ]
    newest = client.get("/search?term=needle&sort=newest").get_data(as_text=True)
    assert TITLE.findall(newest) == [
        "Needle 6",
        "Book 005",
        "Needle 4",
        "Book 003",
        "Needle 2",
        "Book 001",
    ]


def test_a_rare_term_outside_the_recent_window_is_still_found_exactly(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bookshelf.search import queries

    monkeypatch.setattr(queries, "RECENT_WINDOW", 10)
    monkeypatch.setattr(queries, "MAX_SCAN", 20)
    add_books(app, make_rows(3, review="needle"))
    add_books(app, [{**row, "title": f"Later {n}"} for n, row in enumerate(make_rows(30))])
    html = client.get("/search?term=needle").get_data(as_text=True)
    assert "3 matches" in html
    assert TITLE.findall(html) == ["Book 003", "Book 002", "Book 001"]


def test_a_whole_catalogue_word_matches_as_a_word_and_a_fragment_as_a_prefix(
    app: Flask, client: FlaskClient
) -> None:
    add_books(
        app,
        [
            {"title": "The River", "author": "Ann Example", "pages_num": 10, "review": None},
            {"title": "Riverside Walks", "author": "Ann Example", "pages_num": 10, "review": None},
        ],
    )
    # "river" is a title word: it finds that word in its forms, not every word it starts.
    assert search(client, "river") == ["The River"]
    assert search(client, "river ann") == ["The River"]
    # Fragments are prefixes, wherever they stand.
    assert set(search(client, "rive")) == {"The River", "Riverside Walks"}
    assert search(client, "riversi exam") == ["Riverside Walks"]
    html = client.get("/search?term=river").get_data(as_text=True)
    assert "<mark>River</mark>" in html and "<mark>Riverside" not in html


@pytest.mark.usefixtures("small_windows")
def test_a_frequent_term_past_the_windows_finds_its_newest_matches(
    app: Flask, client: FlaskClient
) -> None:
    add_books(app, needles(300, every=10))
    html = client.get("/search?term=needle").get_data(as_text=True)
    assert "More than 5 matches" in html
    assert TITLE.findall(html) == [f"Book {n:03d}" for n in range(300, 240, -10)]


@pytest.mark.usefixtures("small_windows")
def test_matches_thinning_out_below_the_newest_are_still_all_found(
    app: Flask, client: FlaskClient
) -> None:
    # The newest books suggest a match every 5 ids; the older ones hold only three, far back.
    add_books(app, [*needles(3, every=1000, far_back=3), *needles(200, every=1000)])
    add_books(app, needles(20, every=5))
    html = client.get("/search?term=needle&sort=newest").get_data(as_text=True)
    assert "More than 5 matches" in html
    assert TITLE.findall(html) == [
        "Book 020",
        "Book 015",
        "Book 010",
        "Book 005",
        "Book 003",
        "Book 002",
    ]


def test_the_floor_margin_narrows_as_more_matches_are_seen() -> None:
    from bookshelf.search.queries import floor_margin

    assert floor_margin(42, 1001) == pytest.approx(1 + 3 / 42**0.5 + 3 / 1001**0.5)
    assert floor_margin(42, 1001) == pytest.approx(1.558, abs=0.001)
    assert floor_margin(10, 1001) == 2.0  # a small sample gets the most margin there is
    margins = [floor_margin(seen, 1001) for seen in (10, 20, 42, 100, 1000)]
    assert margins == sorted(margins, reverse=True)
    assert margins[-1] > 1.1  # never the bare rate: the matches above the floor vary too
