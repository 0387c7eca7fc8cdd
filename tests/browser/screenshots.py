"""`make screenshots`: the main pages at desktop and phone width, in English and Russian.

Run explicitly (pytest tests/browser/screenshots.py); `make test` runs it once into a temporary
folder (SCREENSHOTS_DIR) through `make screenshots`, so the target cannot rot unnoticed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
OUT = Path(os.environ.get("SCREENSHOTS_DIR") or DOCS)
VIEWPORTS = {"desktop": {"width": 1280, "height": 860}, "phone": {"width": 390, "height": 844}}
BOOKS = [
    ("Мастер и Маргарита", "Михаил Булгаков", "480", "Рукописи не горят."),
    ("Dead Souls", "Nikolai Gogol", "352", "Funny and sad at once."),
    ("War and Peace", "Leo Tolstoy", "1225", ""),
]


def fill_catalogue(page: Page) -> str:
    """Sign up and add the books; returns the path of the first one added.

    Each submit waits for the page it leads to, so the next step never races a slow server.
    """
    page.goto("/users/new")
    page.fill("#username", "anna")
    page.fill("#password", "correct horse battery")
    page.fill("#confirm", "correct horse battery")
    page.click("button[type=submit].button-primary")
    page.wait_for_url(re.compile(r"/users/\d+$"))
    added = []
    for title, author, pages, review in BOOKS:
        page.goto("/books/new")
        page.fill("#title", title)
        page.fill("#author", author)
        page.fill("#pages_num", pages)
        page.fill("#review", review)
        page.click("button[type=submit].button-primary")
        page.wait_for_url(re.compile(r"/books/\d+$"))
        added.append(urlsplit(page.url).path)
    return added[0]


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("locale", ["en", "ru"])
def test_screenshots(browser, server: str, viewport: str, locale: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(
        base_url=server, viewport=VIEWPORTS[viewport], locale=locale, device_scale_factor=1
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    book = fill_catalogue(page)
    pages = {"home": "/", "books": "/books", "book": book, "search": "/search?term=булгак"}
    for name, path in pages.items():
        page.goto(path)
        page.screenshot(path=OUT / f"{name}-{viewport}-{locale}.png", full_page=viewport == "phone")
    page.goto("/books/new")
    page.fill("#title", "   ")
    page.click("button[type=submit].button-primary")
    page.locator("#title[aria-invalid=true]").wait_for()  # the 422 page, not the form sent
    page.screenshot(path=OUT / f"form-errors-{viewport}-{locale}.png")
    context.close()
