"""Covers in a real Chromium: chosen on the add form, shown on the book page and in the list,
in English and Russian, at desktop and phone widths; axe finds nothing serious, and nothing
scrolls sideways at 320 px."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from bookshelf_helpers import PASSWORD
from support.axe import serious_problems
from support.layout import sideways

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}
NARROWEST = {"width": 320, "height": 640}
ALT = {"en-US": "Cover of “{}”", "ru-RU": "Обложка книги «{}»"}
NO_COVER = {"en-US": "No cover", "ru-RU": "Нет обложки"}
BAD_FILE = {
    "en-US": "not a JPEG, PNG or WebP image",
    "ru-RU": "Это не изображение JPEG, PNG или WebP",
}


def cover_file(tmp_path: Path) -> Path:
    """A real photo-sized JPEG, wider than it is tall, made with Pillow."""
    image = Image.new("RGB", (900, 1350), "#2a6f97")
    for x in range(0, 900, 60):
        image.paste("#f4d35e", (x, 600, x + 30, 750))
    path = tmp_path / "cover.jpg"
    image.save(path, "JPEG", quality=90)
    return path


def sign_up(page: Page, username: str) -> None:
    page.goto("/users/new")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("#confirm").fill(PASSWORD)
    page.locator("form.auth-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/users/\d+$"))


def add_book(page: Page, title: str, cover: Path | None) -> None:
    page.goto("/books/new")
    page.locator("#title").fill(title)
    page.locator("#author").fill("Иван Гончаров")
    page.locator("#pages_num").fill("544")
    if cover is not None:
        page.locator("#cover").set_input_files(cover)
    page.locator("form.book-form button[type=submit]").click()


def loaded(page: Page, selector: str) -> bool:
    """The image really arrived and decoded (not a broken-image icon)."""
    page.locator(selector).first.scroll_into_view_if_needed()
    return bool(
        page.locator(selector).first.evaluate("img => img.complete && img.naturalWidth > 0")
    )


@pytest.mark.parametrize("locale", ["en-US", "ru-RU"])
def test_a_cover_from_the_add_form_on_the_page_and_in_the_list(
    browser, server: str, axe_source: str, locale: str, tmp_path: Path
) -> None:
    context = browser.new_context(base_url=server, locale=locale, viewport=DESKTOP, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    sign_up(page, "reader")

    # A wrong file first: the error is beside the field and the typed title stays.
    not_image = tmp_path / "scan.jpg"
    not_image.write_bytes(b"%PDF-1.4 not a picture")
    add_book(page, "Обломов", not_image)
    expect(page.locator("#cover-error")).to_contain_text(BAD_FILE[locale])
    expect(page.locator("#title")).to_have_value("Обломов")

    add_book(page, "Обломов", cover_file(tmp_path))
    page.wait_for_url(re.compile(r"/books/\d+$"))
    book_path = page.url[page.url.index("/books/") :]
    large = page.locator("article.book img.cover-large")
    expect(large).to_have_attribute("alt", ALT[locale].format("Обломов"))
    expect(large).to_have_attribute("src", re.compile(r"^/covers/[0-9a-f]{64}\.webp$"))
    problems = []
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        page.goto(book_path)
        assert loaded(page, "article.book img.cover-large")
        box = large.bounding_box()
        assert box is not None and box["width"] <= 240 and box["height"] > box["width"]
        page.goto("/books")
        thumb = page.locator(".book-card", has_text="Обломов").locator("img.cover-thumb")
        expect(thumb).to_have_attribute("src", re.compile(r"-thumb\.webp$"))
        assert loaded(page, ".book-card img.cover-thumb")
        # The seeded classics have no cover: the drawn placeholder, no broken image.
        expect(page.locator(".book-card .cover-placeholder").first).to_be_visible()
        for path in ("/books/new", book_path, f"{book_path}/edit", "/books", "/books/1"):
            page.goto(path)
            problems += serious_problems(page, axe_source, path)
    page.goto("/books/1")
    expect(page.locator(".cover-placeholder")).to_contain_text(NO_COVER[locale])

    page.set_viewport_size(NARROWEST)
    wide = {}
    for path in ("/books", book_path, f"{book_path}/edit", "/books/new", "/books/1"):
        page.goto(path)
        wide[path] = sideways(page)
    context.close()
    assert problems == []
    assert {path: px for path, px in wide.items() if px > 0} == {}


def test_the_edit_form_replaces_and_removes_the_cover(page: Page, tmp_path: Path) -> None:
    sign_up(page, "editor")
    add_book(page, "Oblomov", cover_file(tmp_path))
    page.wait_for_url(re.compile(r"/books/\d+$"))
    first = page.locator("img.cover-large").get_attribute("src")

    page.get_by_role("link", name="Edit", exact=True).click()
    other = tmp_path / "other.png"
    buffer = io.BytesIO()
    Image.new("RGB", (400, 600), "#9a031e").save(buffer, "PNG")
    other.write_bytes(buffer.getvalue())
    page.get_by_label("Cover", exact=True).set_input_files(other)
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".flash-success")).to_contain_text("was updated")
    second = page.locator("img.cover-large").get_attribute("src")
    assert second != first and loaded(page, "img.cover-large")

    # Over 5 MB: named beside the field before anything is sent, the typed title kept.
    page.get_by_role("link", name="Edit", exact=True).click()
    page.get_by_label("Title").fill("Oblomov, a new translation")
    huge = tmp_path / "huge.jpg"
    huge.write_bytes(cover_file(tmp_path).read_bytes().ljust(5 * 1024 * 1024 + 1, b"\0"))
    page.get_by_label("Cover", exact=True).set_input_files(huge)
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#cover-error")).to_have_text(
        "This file is larger than 5 MB; choose a smaller image."
    )
    expect(page.get_by_label("Title")).to_have_value("Oblomov, a new translation")
    expect(page).to_have_url(re.compile(r"/edit$"))

    page.goto(page.url)  # start the edit again
    page.get_by_label("Remove the cover").check()
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".flash-success")).to_contain_text("was updated")
    expect(page.locator(".cover-placeholder")).to_contain_text("No cover")
