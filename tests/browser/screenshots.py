"""`make screenshots`: the main pages at desktop and phone width, in English and Russian.

Run explicitly (pytest tests/browser/screenshots.py); `make test-slow` runs it once into a temporary
folder (SCREENSHOTS_DIR) through `make screenshots`, so the target cannot rot unnoticed.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Page

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
GOODREADS_SAMPLE = (
    Path(__file__).resolve().parents[1] / "bookshelf/data/goodreads_library_export.csv"
)
OUT = Path(os.environ.get("SCREENSHOTS_DIR") or DOCS)
VIEWPORTS = {"desktop": {"width": 1280, "height": 860}, "phone": {"width": 390, "height": 844}}
BOOKS = [
    ("Мастер и Маргарита", "Михаил Булгаков", "480", "9785170906307", "1967", "Рукописи не горят."),
    ("Dead Souls", "Nikolai Gogol", "352", "", "1842", "Funny and sad at once."),
    ("War and Peace", "Leo Tolstoy", "1225", "0-14-044793-8", "1869", ""),
]


def cover_png() -> dict[str, object]:
    """A drawn cover for the first book (a file chooser payload)."""
    image = Image.new("RGB", (400, 600), "#1f3a5f")
    draw = ImageDraw.Draw(image)
    draw.rectangle((30, 30, 370, 570), outline="#e8c872", width=6)
    draw.ellipse((140, 220, 260, 340), fill="#e8c872")
    out = io.BytesIO()
    image.save(out, "PNG")
    return {"name": "cover.png", "mimeType": "image/png", "buffer": out.getvalue()}


def fill_catalogue(page: Page) -> tuple[str, list[str]]:
    """Sign up and add the books; returns the paths of the profile and of the books.

    Each submit waits for the page it leads to, so the next step never races a slow server.
    """
    page.goto("/users/new")
    page.fill("#username", "anna")
    page.fill("#password", "correct horse battery")
    page.fill("#confirm", "correct horse battery")
    page.click("button[type=submit].button-primary")
    page.wait_for_url(re.compile(r"/users/\d+$"))
    profile = urlsplit(page.url).path
    added = []
    for number, (title, author, pages, isbn, year, review) in enumerate(BOOKS):
        page.goto("/books/new")
        page.fill("#title", title)
        page.fill("#author", author)
        page.fill("#pages_num", pages)
        page.fill("#isbn", isbn)
        page.fill("#year", year)
        page.fill("#review", review)
        if number == 0:
            page.set_input_files("#cover", cover_png())
        page.click("button[type=submit].button-primary")
        page.wait_for_url(re.compile(r"/books/\d+$"))
        added.append(urlsplit(page.url).path)
    return profile, added


def shelve_and_rate(page: Page, book: str) -> None:
    """The first book on the Reading shelf with a named shelf, and four stars; a Goodreads
    export imported on top (read books with dates for the profile's reading stats)."""
    page.goto(book)
    page.select_option("#shelf", "reading")
    page.fill("#tags", "Classics")
    with page.expect_navigation():
        page.click("#my-shelf button[type=submit]")
    page.click("label[for=stars-4]")
    with page.expect_navigation():
        page.click("#my-rating button[type=submit]")
    page.goto("/my-books/import")
    page.set_input_files("#file", str(GOODREADS_SAMPLE))
    with page.expect_navigation():
        page.click("form[action='/my-books/import'] button[type=submit]")


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("locale", ["en", "ru"])
def test_screenshots(browser, server: str, viewport: str, locale: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(
        base_url=server, viewport=VIEWPORTS[viewport], locale=locale, device_scale_factor=1
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    profile, books = fill_catalogue(page)
    book = books[0]
    shelve_and_rate(page, book)
    # The preview of the import just uploaded: nothing is written until it is confirmed.
    page.screenshot(path=OUT / f"import-preview-{viewport}-{locale}.png", full_page=False)
    with page.expect_navigation():
        page.click("form[action='/my-books/import/run'] button")
    # Read this month: the profile's chart has a bar.
    page.goto(books[1])
    page.select_option("#shelf", "read")
    page.fill("#finished_on", dt.date.today().isoformat())
    with page.expect_navigation():
        page.click("#my-shelf button[type=submit]")
    pages = {
        "profile": profile,
        "home": "/",
        "books": "/books",
        "book": book,
        "search": "/search?term=булгак",
        "my-books": "/my-books",
        "authors": "/authors?letter=М",
        "author": "/authors/михаил булгаков",
    }
    for name, path in pages.items():
        page.goto(path)
        page.screenshot(path=OUT / f"{name}-{viewport}-{locale}.png", full_page=viewport == "phone")
    page.goto("/books/new")
    page.fill("#title", "   ")
    page.click("button[type=submit].button-primary")
    page.locator("#title[aria-invalid=true]").wait_for()  # the 422 page, not the form sent
    page.screenshot(path=OUT / f"form-errors-{viewport}-{locale}.png")
    context.close()
