"""Goodreads import and export and the reading stats in a real Chromium, in English and
Russian, on a desktop and a phone: upload -> preview -> streamed import -> summary, the CSV
download, the profile's chart and table; axe and 320 px on the new pages."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from goodreads_files import SAMPLE
from playwright.sync_api import Page, expect
from test_shelves_browser import DESKTOP, NARROWEST, PHONE, sign_up

from support.axe import serious_problems
from support.layout import sideways

WORDS = {
    "en-US": {
        "preview": "Import preview",
        "unchanged": "Nothing has been changed yet.",
        "import": "Import 7 books",
        "finished": "Import finished",
        "skipped": "no title",
        "stats": "Reading in the last 12 months",
        "books_read": "Books read: 1",
        "table": "The numbers as a table",
        "month": dt.date.today().strftime("%B %Y"),
    },
    "ru-RU": {
        "preview": "Что будет импортировано",
        "unchanged": "Пока ничего не изменено.",
        "import": "Импортировать 7 книг",
        "finished": "Импорт завершён",
        "skipped": "нет названия",
        "stats": "Чтение за последние 12 месяцев",
        "books_read": "Прочитано книг: 1",
        "table": "Те же числа таблицей",
        "month": None,  # checked on the server side with Babel's names
    },
}


def export_with_a_recent_read(folder: Path) -> Path:
    """The hand-written sample plus one book finished today, so that the chart has a bar."""
    rows = list(csv.reader(io.StringIO(SAMPLE.read_text(encoding="utf-8"))))
    recent = list(rows[1])
    recent[0], recent[1], recent[11] = "777", "Fresh Read", "250"
    recent[5], recent[6] = '=""', '=""'
    recent[14] = recent[15] = dt.date.today().strftime("%Y/%m/%d")
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([*rows, recent])
    path = folder / "goodreads_library_export.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def import_file(page: Page, path: Path, words: dict) -> None:
    page.goto("/my-books")
    page.locator("a[href='/my-books/import']").click()
    page.locator("#file").set_input_files(str(path))
    page.locator("form[action='/my-books/import'] button[type=submit]").click()
    expect(page.locator("h1")).to_have_text(words["preview"])
    assert words["unchanged"] in page.locator("main").inner_text()
    page.get_by_role("button", name=words["import"]).click()
    expect(page.locator("h1")).not_to_have_text(words["preview"])
    expect(page.get_by_role("status").first).to_contain_text(words["finished"])


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "375px"])
@pytest.mark.parametrize("locale", ["en-US", "ru-RU"])
def test_import_export_and_stats(
    browser, server: str, locale: str, viewport: dict, tmp_path: Path
) -> None:
    words = WORDS[locale]
    context = browser.new_context(
        base_url=server, locale=locale, viewport=viewport, accept_downloads=True
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_up(page)
    profile = page.url
    import_file(page, export_with_a_recent_read(tmp_path), words)
    summary = page.locator("main").inner_text()
    assert words["skipped"] in summary
    assert page.locator("progress").last.get_attribute("value") == "9"
    page.goto("/my-books")  # the import page's own header was sent before the import ran
    assert page.locator(".nav-count").inner_text() == "7"

    page.goto("/my-books/import")
    with page.expect_download() as download:
        page.locator("a[href='/my-books/export.csv']").click()
    exported = Path(download.value.path()).read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(exported)))
    assert rows[0][:3] == ["Book Id", "Title", "Author"] and len(rows) == 8
    assert "Мастер и Маргарита" in exported

    page.goto(profile)
    stats = page.locator(".reading-stats")
    expect(stats.locator("h2")).to_have_text(words["stats"])
    expect(stats.locator("#stats-books-title")).to_have_text(words["books_read"])
    assert stats.locator("svg[role=img] rect.stats-bar").count() == 2  # books and pages
    stats.locator("summary").click()
    expect(stats.locator("summary")).to_have_text(words["table"])
    if words["month"]:
        expect(stats.locator("tbody tr").last.locator("th")).to_have_text(words["month"])
    assert stats.locator("tbody tr").count() == 12
    context.close()


@pytest.mark.parametrize("locale", ["en-US", "ru-RU"])
def test_import_pages_pass_axe_and_fit_320_px(
    browser, server: str, axe_source: str, locale: str, tmp_path: Path
) -> None:
    context = browser.new_context(
        base_url=server, locale=locale, viewport=NARROWEST, bypass_csp=True
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_up(page)
    profile = page.url
    problems, wide = [], {}

    def check(label: str) -> None:
        nonlocal problems
        problems += serious_problems(page, axe_source, label)
        wide[label] = sideways(page)

    page.goto("/my-books/import")
    check("upload")
    page.locator("#file").set_input_files(str(export_with_a_recent_read(tmp_path)))
    page.locator("form[action='/my-books/import'] button[type=submit]").click()
    page.wait_for_load_state()
    check("preview")
    page.locator("form[action='/my-books/import/run'] button").click()
    page.wait_for_load_state()
    check("summary")
    page.goto("/my-books/import")
    page.locator("#file").set_input_files(
        {"name": "notes.csv", "mimeType": "text/csv", "buffer": b"Title,Author\nA,B\n"}
    )
    page.locator("form[action='/my-books/import'] button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("#file").get_attribute("aria-invalid") == "true"
    check("refused file")
    page.goto(profile)
    page.locator(".reading-stats summary").click()
    check("profile with stats")
    context.close()
    assert problems == []
    assert {label: px for label, px in wide.items() if px > 0} == {}
