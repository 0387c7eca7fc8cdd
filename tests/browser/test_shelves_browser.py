"""Shelves and star ratings in a real Chromium, in English and Russian, on a desktop and a
phone: the visitor's reading list joining Want to read at sign-in, shelving a book with dates
and named shelves, rating by keyboard alone, the My books filters; axe and 320 px on the new
pages."""

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
        "merged": "2 books from this browser’s reading list are now on Want to read.",
        "want": "Want to read (1)",
        "read": "Read (1)",
        "shelved": "is on the shelf “Read”.",
        "four": "4 stars",
        "rating": "My rating",
        "average": "4.0 out of 5",
        "count": "1 rating",
        "all": "All (2)",
        "tag": "Favourites (1)",
    },
    "ru-RU": {
        "merged": "2 книги из списка чтения в этом браузере теперь на полке «Хочу прочитать».",
        "want": "Хочу прочитать (1)",
        "read": "Прочитано (1)",
        "shelved": "теперь на полке «Прочитано».",
        "four": "4 звезды",
        "rating": "Моя оценка",
        "average": "4,0 из 5",
        "count": "1 оценка",
        "all": "Все (2)",
        "tag": "Favourites (1)",
    },
}


def sign_up(page: Page, name: str = "reader") -> None:
    page.goto("/users/new")
    page.locator("#username").fill(name)
    page.locator("#password").fill(PASSWORD)
    page.locator("#confirm").fill(PASSWORD)
    page.locator("form.auth-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/users/\d+$"))


def sign_out(page: Page) -> None:
    page.goto("/")
    # On a phone the sign-out button sits behind the menu; the form is the same.
    with page.expect_navigation():
        page.locator("form[action='/logout']").evaluate("form => form.requestSubmit()")


def sign_in(page: Page, name: str = "reader") -> None:
    page.goto("/login")
    page.locator("#username").fill(name)
    page.locator("#password").fill(PASSWORD)
    page.locator("form.auth-form button[type=submit]").click()
    page.wait_for_load_state()


def flash_text(page: Page) -> str:
    return " ".join(page.locator(".flash").all_inner_texts())


def add_to_reading_list(page: Page, book_id: int) -> None:
    page.goto(f"/books/{book_id}")
    page.locator("form[action='/reading-list'] button").click()
    page.wait_for_url(f"**/books/{book_id}")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "375px"])
@pytest.mark.parametrize("locale", ["en-US", "ru-RU"])
def test_merge_shelve_rate_and_filter(browser, server: str, locale: str, viewport: dict) -> None:
    words = WORDS[locale]
    context = browser.new_context(base_url=server, locale=locale, viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(10_000)
    sign_up(page)
    sign_out(page)

    # A visitor's reading list, kept in a cookie, joins Want to read at sign-in.
    add_to_reading_list(page, 1)
    add_to_reading_list(page, 2)
    assert any(c["name"] == "reading_list" for c in context.cookies())
    sign_in(page)
    assert words["merged"] in flash_text(page)
    assert not any(c["name"] == "reading_list" for c in context.cookies())
    assert page.locator(".nav-count").inner_text() == "2"

    # One control on the book page: shelf, dates and named shelves, sent without scripts.
    # The book moves from Want to read to Read: it is on one shelf at a time.
    page.goto("/books/1")
    page.locator("#shelf").select_option("read")
    page.locator("#started_on").fill("2026-01-05")
    page.locator("#finished_on").fill("2026-02-01")
    page.locator("#tags").fill("Favourites, Russian")
    page.locator("#my-shelf button[type=submit]").click()
    page.wait_for_url("**/books/1#my-shelf")
    assert words["shelved"] in flash_text(page)
    expect(page.locator("#shelf")).to_have_value("read")
    assert page.locator(".nav-count").inner_text() == "2"

    # Stars by keyboard alone: Tab into the group, Space picks one, arrows move the choice.
    group = page.get_by_role("group", name=words["rating"])
    expect(group).to_be_visible()
    page.locator("#tags").focus()
    page.keyboard.press("Tab")  # the shelf form's button
    page.keyboard.press("Tab")  # the first star
    assert page.evaluate("document.activeElement.id") == "stars-1"
    page.keyboard.press("Space")
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    expect(page.get_by_role("radio", name=words["four"])).to_be_checked()
    page.keyboard.press("Tab")
    page.keyboard.type("Short and sad.")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url("**/books/1#my-rating")
    facts = page.locator(".book-facts").inner_text()
    assert words["average"] in facts and words["count"] in facts
    expect(page.get_by_role("radio", name=words["four"])).to_be_checked()
    assert "Short and sad." in page.locator(".reader-reviews").inner_text()

    # My books: counts per shelf, filters by shelf and by named shelf.
    page.goto("/my-books")
    tabs = page.locator(".shelf-tabs").inner_text()
    assert words["all"] in tabs and words["want"] in tabs and words["read"] in tabs
    page.get_by_role("link", name=words["read"], exact=True).click()
    assert page.locator(".my-books .book-card").count() == 1
    expect(page.locator(".my-books .book-title")).to_have_attribute("href", "/books/1")
    page.goto("/my-books")
    page.get_by_role("link", name=words["tag"], exact=True).click()
    assert page.locator(".my-books .book-card").count() == 1
    context.close()


@pytest.mark.parametrize("locale", ["en-US", "ru-RU"])
def test_new_pages_pass_axe_and_fit_320_px(
    browser, server: str, axe_source: str, locale: str
) -> None:
    context = browser.new_context(
        base_url=server, locale=locale, viewport=NARROWEST, bypass_csp=True
    )
    page = context.new_page()
    sign_up(page)
    page.goto("/books/1")
    page.locator("#shelf").select_option("reading")
    page.locator("#tags").fill("A rather long shelf name that wraps, another")
    page.locator("#my-shelf button[type=submit]").click()
    page.wait_for_load_state()
    page.locator("label[for=stars-5]").click()
    page.locator("#my-rating button[type=submit]").click()
    page.wait_for_load_state()

    # The signed-in home page starts from the Reading shelf and shows the rating just given.
    page.goto("/")
    expect(page.locator(".home-reading .book-title")).to_have_count(1)
    expect(page.locator(".home-rated .book-title")).to_have_count(1)
    expect(page.locator(".home-rated")).to_contain_text(
        "5 out of 5 stars" if locale == "en-US" else "5 звёзд из 5"
    )

    problems, wide = [], {}
    pages = ["/", "/books/1", "/my-books", "/my-books?shelf=reading", "/books?sort=rating"]
    for path in pages:
        page.goto(path)
        problems += serious_problems(page, axe_source, path)
        wide[path] = sideways(page)
    # A refused form: errors next to their fields, still accessible and narrow.
    page.goto("/books/2")
    page.locator("#shelf").select_option("want")
    page.locator("#finished_on").fill("2026-01-01")
    page.locator("#my-shelf button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("#finished_on").get_attribute("aria-invalid") == "true"
    problems += serious_problems(page, axe_source, "/books/2 (refused)")
    wide["/books/2 (refused)"] = sideways(page)
    context.close()
    assert problems == []
    assert {path: px for path, px in wide.items() if px > 0} == {}
