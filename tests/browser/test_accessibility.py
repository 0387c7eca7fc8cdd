"""axe-core (from npm) on the main pages: no serious or critical violations, in both languages."""

from __future__ import annotations

import pytest

from support.axe import serious_problems

PAGES = [
    "/",
    "/books",
    "/books/1",
    "/books/1?missing",
    "/search?term=tale",
    "/reading-list",
    "/users",
    "/login",
    "/users/new",
    "/nowhere",
]


@pytest.mark.parametrize("locale", ["en-US", "ru-RU"])
def test_main_pages_have_no_serious_accessibility_violations(
    browser, server: str, axe_source: str, locale: str
) -> None:
    # axe is injected by the test, not served by the app: let it past the CSP.
    context = browser.new_context(base_url=server, locale=locale, bypass_csp=True)
    page = context.new_page()
    problems = []
    for path in PAGES:
        page.goto(path)
        problems += serious_problems(page, axe_source, path)
    context.close()
    assert problems == []
