"""Search in a real browser: highlights, the typo suggestion, the author filter and sort,
in English and Russian, and one search box on a phone."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from bookshelf.search.sqlite import register_functions_on
from bookshelf.wordforms import keys_for

# Added to the two classics of `flask seed-classics` (one is Anna Karenina, by Leo Tolstoy).
# Anna Karenina's year is left unknown.
BOOKS = [
    ("War and Peace", "Leo Tolstoy", None, 1869),
    ("Война и мир", "Лев Толстой", "Эпопея о войне 1812 года.", 1869),
    ("<b>Bold</b> claims", "Mallory", None, None),
]


@pytest.fixture
def catalogue(server: str, tmp_path: Path) -> str:
    """The server's database with BOOKS added (through the same search triggers)."""
    connection = sqlite3.connect(tmp_path / "browser.sqlite3")
    register_functions_on(connection)
    with connection:
        connection.executemany(
            "INSERT INTO books (title, author, pages_num, review, year, search_keys) "
            "VALUES (?, ?, 100, ?, ?, ?)",
            [(t, a, r, y, keys_for(t, a)) for t, a, r, y in BOOKS],
        )
    connection.close()
    return server


@pytest.fixture
def russian_page(browser, catalogue: str) -> Iterator[Page]:
    context = browser.new_context(base_url=catalogue, locale="ru-RU")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.mark.slow
@pytest.mark.usefixtures("catalogue")
def test_highlights_suggestion_and_filters_in_english(page: Page) -> None:
    page.goto("/search?term=войны")
    expect(page.locator(".book-title mark")).to_have_text(["Война"])
    expect(page.locator(".book-snippet mark")).to_have_text(["войне"])

    box = page.get_by_label("Search books")
    box.fill("karenia")
    box.press("Enter")
    expect(page.get_by_text("No books match “karenia”.")).to_be_visible()
    page.locator(".suggestion").get_by_role("link", name="karenina").click()
    expect(page.locator(".book-title")).to_have_text(["Anna Karenina"])
    expect(page.locator(".book-title mark")).to_have_text(["Karenina"])

    page.goto("/search?term=Толстой")
    expect(page.locator(".book-title")).to_have_count(3)
    page.get_by_role("navigation", name="Filter by author").get_by_role(
        "link", name="Leo Tolstoy"
    ).click()
    expect(page.locator(".book-title")).to_have_count(2)
    page.get_by_label("Sort by").select_option("title")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator(".book-title")).to_have_text(["Anna Karenina", "War and Peace"])
    expect(page.locator(".book-author mark")).to_have_text(["Tolstoy", "Tolstoy"])

    page.goto("/search?term=tolstoy")
    page.get_by_label("from", exact=True).fill("1860")
    page.get_by_label("to", exact=True).fill("1870")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator(".book-title")).to_have_count(2)
    expect(page.locator("#match-count")).to_contain_text("published 1860–1870")
    page.get_by_label("from", exact=True).fill("18x")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("alert")).to_have_text("Enter a year from 1 to 9999, in digits.")
    expect(page.get_by_label("from", exact=True)).to_have_value("18x")

    page.goto("/search?term=bold")  # markup in a title is shown as text
    expect(page.locator(".book-title")).to_have_text(["<b>Bold</b> claims"])


@pytest.mark.slow
def test_suggestion_and_filters_in_russian(russian_page: Page) -> None:
    page = russian_page
    page.goto("/search?term=войнв")
    expect(page.locator(".suggestion")).to_contain_text("Возможно, вы имели в виду")
    page.locator(".suggestion").get_by_role("link", name="война").click()
    expect(page.locator(".book-title mark")).to_have_text(["Война"])
    page.goto("/search?term=войнв")
    expect(page.get_by_role("link", name="Посмотреть все книги")).to_be_visible()
    page.goto("/search?term=tolstoy")
    expect(page.locator(".book-title")).to_have_count(3)
    page.get_by_role("navigation", name="Фильтр по автору").get_by_role(
        "link", name="Лев Толстой"
    ).click()
    expect(page.locator(".book-title")).to_have_text(["Война и мир"])
    expect(page.locator(".book-author mark")).to_have_text(["Толстой"])
    expect(page.get_by_label("Сортировка")).to_have_value("relevance")
    page.get_by_label("по", exact=True).fill("1860")
    page.get_by_role("button", name="Применить").click()
    expect(page.get_by_text("По запросу «tolstoy» книг не найдено.")).to_be_visible()
    page.get_by_role("link", name="Искать за все годы").click()
    expect(page.locator(".book-title")).to_have_text(["Война и мир"])
    page.get_by_label("с", exact=True).fill("1900")
    page.get_by_label("по", exact=True).fill("1800")
    page.get_by_role("button", name="Применить").click()
    expect(page.get_by_role("alert")).to_have_text("Первый год не может быть позже последнего.")


@pytest.mark.slow
def test_one_search_box_on_a_phone(browser, catalogue: str) -> None:
    context = browser.new_context(base_url=catalogue, viewport={"width": 375, "height": 740})
    page = context.new_page()
    page.goto("/search?term=tolstoy")
    expect(page.locator("input[type=search]")).to_have_count(1)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"horizontal scrolling on a phone: {width}px"
    context.close()
