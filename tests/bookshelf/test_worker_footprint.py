"""What a web worker loads to serve the catalogue: nothing that only rare paths use.

Each gunicorn worker imports the app for itself (no preload), so every module and table loaded
on the way to a page is paid once per worker: bench/memory.py measures the total against the
budget of 80 MB. These tests build the app the way a worker does, in a fresh interpreter with
the production settings, ask it the pages the benchmark asks, and name what must stay unloaded
because only something else needs it; and check that deploy/gunicorn.conf.py has its workers
hand the C heap's free pages back.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from bookshelf_helpers import add_books, make_rows

WORKER = """
import json, sys
from bookshelf import create_app

app = create_app()
client = app.test_client()
statuses = {}
for path in json.loads(sys.argv[1]):
    statuses[path] = client.get(path).status_code
ru = client.get("/books", headers={"Accept-Language": "ru"})
statuses["/books (ru)"] = ru.status_code
etag = client.get("/books").headers["ETag"]
statuses["/books (revalidated)"] = client.get("/books", headers={"If-None-Match": etag}).status_code
import babel.localedata

print(json.dumps({
    "statuses": statuses,
    "modules": sorted(sys.modules),
    # Babel keeps each language's CLDR data here once anything has asked for it.
    "locale_data": sorted(babel.localedata._cache),
}))
"""

# Only cover uploads (Pillow), ISBN entry (python-stdnum), `flask db` (Flask-Migrate, Alembic,
# Mako), `flask seed` (bookshelf.seeding) and a Goodreads import or export need these.
NEVER = [
    "PIL",
    "stdnum",
    "flask_migrate",
    "alembic",
    "mako",
    "bookshelf.goodreads.importer",
    "bookshelf.goodreads.export",
    "bookshelf.seeding",
]


def serve_like_a_worker(database_uri: str, paths: list[str], tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOOKSHELF_", "FLASK_"))}
    env.update(
        BOOKSHELF_ENV="production",
        SECRET_KEY=secrets.token_hex(32),
        DATABASE_URL=database_uri,
        BOOKSHELF_INSTANCE_PATH=str(tmp_path / "instance"),
    )
    done = subprocess.run(
        [sys.executable, "-c", WORKER, json.dumps(paths)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


@pytest.fixture
def seen(app: Flask, database_uri: str, tmp_path: Path) -> dict:
    rows = make_rows(30)
    rows[0].update(title="The River at Night")
    rows[1].update(title="Война и мир", author="Лев Толстой")
    ids = add_books(app, rows)
    pages = [
        "/",
        "/books",
        "/books?last=1",
        f"/books/{ids[0]}",
        "/search?term=river",
        "/search?term=voina",
        "/api/v1/books",
        "/healthz",
    ]
    return serve_like_a_worker(database_uri, pages, tmp_path)


def test_the_pages_answer(seen: dict) -> None:
    assert seen["statuses"] == {
        **{path: 200 for path in seen["statuses"] if path != "/books (revalidated)"},
        "/books (revalidated)": 304,
    }


def test_rare_paths_leave_their_modules_unloaded(seen: dict, database_uri: str) -> None:
    never = NEVER + (["sqlite3"] if database_uri.startswith("postgresql") else [])
    # On PostgreSQL, the connection hooks that tell SQLite's connections apart must not load it.
    assert [
        m for m in seen["modules"] if m in never or m.startswith(tuple(n + "." for n in never))
    ] == []


def test_catalogue_pages_load_no_cldr_data(seen: dict) -> None:
    """A list's dates and counts come from bookshelf.i18n's own tables for the two languages;
    Babel's data for a language costs a worker megabytes."""
    assert seen["locale_data"] == []


GUNICORN_CONF = Path(__file__).resolve().parents[2] / "deploy" / "gunicorn.conf.py"


def load_gunicorn_conf() -> Any:
    spec = importlib.util.spec_from_file_location("gunicorn_conf", GUNICORN_CONF)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("every", "trims"), [("100", 2), ("0", 0)])
def test_workers_hand_free_heap_pages_back_every_n_requests(
    monkeypatch: pytest.MonkeyPatch, every: str, trims: int
) -> None:
    monkeypatch.setenv("GUNICORN_MALLOC_TRIM_EVERY", every)
    conf = load_gunicorn_conf()
    calls: list[int] = []
    conf._malloc_trim = lambda: calls.append
    for _ in range(250):
        conf.post_request(None, None, {}, None)
    assert calls == [0] * trims


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_malloc_trim_is_found_on_glibc() -> None:
    assert load_gunicorn_conf()._malloc_trim() is not None
