"""A real gunicorn serving bookshelf on a loopback port, and Debian's Chromium via Playwright."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from support import CHROMIUM, chromium_available, free_port, require

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
    process = subprocess.Popen(
        [
            BIN / "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--threads",
            "4",
            "bookshelf:create_app()",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, process)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_until_healthy(base: str, process: subprocess.Popen, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=1) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("bookshelf did not become healthy in time")


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
