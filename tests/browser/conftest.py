"""A real gunicorn serving bookshelf on a loopback port, and Debian's Chromium via Playwright."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from support import CHROMIUM, chromium_available, free_port, require, start_server, stop_group

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
BIN = Path(sys.executable).parent
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    require(chromium_available(), f"Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """A fresh SQLite database, migrated and seeded, served by gunicorn; its base URL."""
    env = {
        **os.environ,
        "BOOKSHELF_ENV": "development",  # plain-HTTP cookies on loopback; generated dev key
        "BOOKSHELF_INSTANCE_PATH": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'browser.sqlite3'}",
        "FLASK_APP": "bookshelf",
    }
    env.pop("SECRET_KEY", None)
    for command in (["db", "upgrade"], ["seed-classics"]):
        subprocess.run([BIN / "flask", *command], env=env, check=True, capture_output=True)
    port = free_port()
    log = tmp_path / "gunicorn.log"
    gunicorn = [BIN / "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4"]
    base = f"http://127.0.0.1:{port}"
    command = [*gunicorn, "bookshelf:create_app()"]
    process = start_server(command, log, env=env, ready=f"{base}/healthz", timeout=20)
    try:
        yield base
    finally:
        stop_group(process)


@pytest.fixture
def page(browser, server: str) -> Iterator[object]:
    context = browser.new_context(base_url=server, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def axe_source() -> str:
    require(AXE.is_file(), f"axe-core at {AXE} (npm ci)")
    return AXE.read_text()
