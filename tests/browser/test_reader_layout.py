"""Layout on a phone and in dark mode, in a real Chromium: what a reader sees first, that no
page scrolls sideways, and that dark mode keeps every text readable."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page

from bookshelf_helpers import PASSWORD
from support.layout import sideways

PHONE = {"width": 375, "height": 740}
NARROWEST = {"width": 320, "height": 640}
ANONYMOUS_PAGES = [
    "/",
    "/books",
    "/books/1",
    "/books?sort=author",
    "/search?term=tale",
    "/search?term=zzzzqqq",
    "/reading-list",
    "/users",
    "/login",
    "/users/new",
    "/account/reset",
    "/nowhere",
]
SIGNED_IN_PAGES = ["/", "/books/new", "/books/1/edit", "/account/password", "/account/email"]


def sign_up_with_a_token(page: Page) -> str:
    """A new account with one API token; the path of its profile (tokens and devices)."""
    page.goto("/users/new")
    page.locator("#username").fill("reader")
    page.locator("#password").fill(PASSWORD)
    page.locator("#confirm").fill(PASSWORD)
    page.locator("form.auth-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/users/\d+$"))  # a new account lands on its own profile
    profile = page.url[page.url.index("/users/") :]
    page.locator("#name").fill("A script with a rather long name, to see how it wraps")
    page.locator("section.tokens form button[type=submit]").click()
    page.wait_for_load_state()
    return profile


@pytest.mark.parametrize("locale", ["en-US", "ru-RU"])
def test_no_page_scrolls_sideways_at_320_px(browser, server: str, locale: str) -> None:
    context = browser.new_context(base_url=server, locale=locale, viewport=NARROWEST)
    page = context.new_page()
    wide = {path: sideways(page) for path in ANONYMOUS_PAGES if page.goto(path)}
    profile = sign_up_with_a_token(page)
    for path in [*SIGNED_IN_PAGES, profile]:
        page.goto(path)
        wide[f"signed in: {path}"] = sideways(page)
    context.close()
    assert {path: px for path, px in wide.items() if px > 0} == {}
    assert len(wide) == len(ANONYMOUS_PAGES) + len(SIGNED_IN_PAGES) + 1


@pytest.mark.parametrize("locale", ["en-US", "ru-RU"])
def test_first_book_is_visible_on_a_phone_without_scrolling(
    browser, server: str, locale: str
) -> None:
    context = browser.new_context(base_url=server, locale=locale, viewport=PHONE)
    page = context.new_page()
    page.goto("/books")
    header = page.locator("header.site-header").bounding_box()
    first = page.locator(".book-card").first.bounding_box()
    assert header is not None and first is not None
    assert header["height"] <= 140, f"the header takes {header['height']} px"
    assert first["y"] + first["height"] <= PHONE["height"]
    # The navigation is one tap away and works by keyboard.
    toggle = page.get_by_role("button", name="Menu" if locale == "en-US" else "Меню")
    assert toggle.get_attribute("aria-expanded") == "false"
    assert not page.locator("#main-nav").is_visible()
    toggle.focus()
    page.keyboard.press("Enter")
    assert toggle.get_attribute("aria-expanded") == "true"
    page.locator("#main-nav a[href='/users']").click()
    page.wait_for_url("**/users")
    context.close()


def test_desktop_shows_the_navigation_without_a_menu_button(browser, server: str) -> None:
    context = browser.new_context(base_url=server, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto("/books")
    assert page.locator("#main-nav").is_visible()
    assert not page.get_by_role("button", name="Menu").is_visible()
    context.close()


@pytest.mark.parametrize("locale", ["en-US", "ru-RU"])
def test_dark_mode_follows_the_system_and_stays_readable(
    browser, server: str, axe_source: str, locale: str
) -> None:
    context = browser.new_context(
        base_url=server, locale=locale, color_scheme="dark", bypass_csp=True
    )
    page = context.new_page()
    problems = []
    for path in ["/", "/books", "/books/1", "/search?term=tale", "/login", "/nowhere"]:
        page.goto(path)
        # The page's own background (on the root element; the body paints none of its own).
        background = page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
        channels = [int(c) for c in background[background.index("(") + 1 : -1].split(",")[:3]]
        assert max(channels) < 64, f"{path} is not dark: {background}"
        page.add_script_tag(content=axe_source)
        result = page.evaluate("async () => await axe.run(document, {runOnly: ['color-contrast']})")
        assert result["passes"], f"axe checked no contrast on {path}"
        problems += [
            f"{path}: {v['id']} {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"]
        ]
    context.close()
    assert problems == []
