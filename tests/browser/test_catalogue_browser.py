"""ISBN and year on the book form, author pages and the author index, in a real Chromium:
English and Russian, desktop and phone widths; axe and no sideways scrolling on the new pages."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from bookshelf_helpers import PASSWORD
from support.axe import serious_problems
from support.layout import sideways

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}
NARROWEST = {"width": 320, "height": 640}
WORDS = {
    "en-US": {
        "typo": "This ISBN has a typo: its last digit does not match the others.",
        "year": "Enter a year from 1 to",
        "count": "1 book in the catalogue",
        "authors": "Authors: Л",
    },
    "ru-RU": {
        "typo": "В ISBN опечатка: последняя цифра не сходится с остальными.",
        "year": "Введите год цифрами, от 1 до",
        "count": "1 книга в каталоге",
        "authors": "Авторы: Л",
    },
}


def sign_up(page: Page) -> None:
    page.goto("/users/new")
    page.locator("#username").fill("reader")
    page.locator("#password").fill(PASSWORD)
    page.locator("#confirm").fill(PASSWORD)
    page.locator("form.auth-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/users/\d+$"))


def add_tolstoy(page: Page, isbn: str, year: str) -> None:
    page.goto("/books/new")
    page.locator("#title").fill("Война и мир")
    page.locator("#author").fill("Лев Толстой")
    page.locator("#pages_num").fill("1225")
    page.locator("#isbn").fill(isbn)
    page.locator("#year").fill(year)
    page.locator("form.book-form button[type=submit]").click()
    page.wait_for_load_state()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "375px"])
@pytest.mark.parametrize("locale", ["en-US", "ru-RU"])
def test_isbn_year_and_author_pages(browser, server: str, locale: str, viewport: dict) -> None:
    words = WORDS[locale]
    context = browser.new_context(base_url=server, locale=locale, viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(10_000)
    sign_up(page)
    # A mistyped ISBN and year 0: both refused, in the reader's language, the input kept.
    add_tolstoy(page, "0-14-044793-0", "0")
    expect(page.locator("#isbn-error")).to_have_text(words["typo"])
    expect(page.locator("#year-error")).to_contain_text(words["year"])
    expect(page.locator("#isbn")).to_have_value("0-14-044793-0")
    expect(page.locator("#year")).to_have_value("0")
    # The right ISBN-10: stored as ISBN-13, shown hyphenated with the year.
    page.locator("#isbn").fill("0-14-044793-8")
    page.locator("#year").fill("1869")
    page.locator("form.book-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/books/\d+$"))
    facts = page.locator(".book-facts")
    expect(facts).to_contain_text("978-0-14-044793-4")
    expect(facts).to_contain_text("1869")
    # The author's name leads to their page, and from there to the index letter.
    page.locator(".book-author a").click()
    page.wait_for_url(re.compile(r"/authors/"))
    expect(page.locator("h1")).to_have_text("Лев Толстой")
    expect(page.locator(".page-head")).to_contain_text(words["count"])
    expect(page.locator(".book-title")).to_have_text(["Война и мир"])
    page.locator("main a[href^='/authors?letter=']").last.click()
    expect(page.locator("h1")).to_have_text(words["authors"])
    expect(page.locator(".author-list a")).to_have_text(["Лев Толстой"])
    # The list links every author too.
    page.goto("/books")
    expect(page.locator(".book-card .book-author").first).to_have_attribute(
        "href", re.compile(r"^/authors/")
    )
    context.close()


NEW_PAGES = ["/authors", "/authors?letter=L", "/authors?letter=Т", "/authors/leo%20tolstoy"]


@pytest.mark.parametrize("locale", ["en-US", "ru-RU"])
def test_new_pages_pass_axe_and_fit_320_px(
    browser, server: str, axe_source: str, locale: str
) -> None:
    context = browser.new_context(
        base_url=server, locale=locale, bypass_csp=True, viewport=NARROWEST
    )
    page = context.new_page()
    sign_up(page)
    add_tolstoy(page, "12345", "3000")  # the form with its errors shown
    paths = ["/books/new (errors)", *NEW_PAGES, "/books/1"]
    problems, wide = [], {}
    for path in paths:
        if not path.startswith("/books/new"):
            page.goto(path)
        assert page.locator("h1").count() == 1, path
        wide[path] = sideways(page)
        problems += serious_problems(page, axe_source, path)
    context.close()
    assert problems == []
    assert {path: px for path, px in wide.items() if px > 0} == {}
