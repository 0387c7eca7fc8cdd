"""Sign-in limits across processes: a real 3-worker gunicorn sharing its counts in Redis."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from http.cookiejar import CookieJar
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from support import REDIS_URL, free_port, require_redis, start_server, stop_group

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def start_gunicorn(tmp_path: Path, workers: int, storage: str) -> tuple[subprocess.Popen, str]:
    env = {
        **os.environ,
        "BOOKSHELF_ENV": "development",
        "BOOKSHELF_INSTANCE_PATH": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'limits.sqlite3'}",
        "FLASK_APP": "bookshelf",
        "RATELIMIT_STORAGE_URI": storage,
        "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex[:8]}",
        "GUNICORN_WORKERS": str(workers),
        "GUNICORN_BIND": f"127.0.0.1:{free_port()}",
        "GUNICORN_ACCESSLOG": "",
    }
    subprocess.run([BIN / "flask", "db", "upgrade"], env=env, check=True, capture_output=True)
    base = "http://" + env["GUNICORN_BIND"]
    process = start_server(
        [BIN / "gunicorn", "-c", ROOT / "deploy" / "gunicorn.conf.py", "bookshelf:create_app()"],
        tmp_path / "gunicorn.log",
        env=env,
        ready=base + "/login",
    )
    return process, base


@pytest.fixture
def stop() -> Iterator[list[subprocess.Popen]]:
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        stop_group(process)


def wrong_password(base: str, username: str) -> int:
    """One sign-in attempt from a fresh browser (new connection, new cookies)."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    page = opener.open(base + "/login", timeout=5).read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode(
        {"username": username, "password": "wrong password", "csrf_token": token}
    ).encode()
    try:
        return opener.open(base + "/login", data=data, timeout=5).status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.slow
def test_three_workers_with_redis_refuse_the_11th_wrong_password(
    tmp_path: Path, stop: list[subprocess.Popen]
) -> None:
    require_redis()
    process, base = start_gunicorn(tmp_path, 3, REDIS_URL)
    stop.append(process)
    # A different name each time: the per-account throttle stays out of it, only the
    # per-address limit, shared by the three workers through Redis, can refuse.
    statuses = [wrong_password(base, f"guess{n}") for n in range(11)]
    assert statuses == [401] * 10 + [429]
    log = (tmp_path / "gunicorn.log").read_text()
    assert "memory://" not in log
    assert len(set(re.findall(r"Booting worker with pid: (\d+)", log))) == 3


def load_gunicorn_conf() -> Any:
    spec = importlib.util.spec_from_file_location(
        "gunicorn_conf", ROOT / "deploy" / "gunicorn.conf.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("workers", "storage", "app", "warns"),
    [
        (3, "memory://", "bookshelf:create_app()", True),
        (1, "memory://", "bookshelf:create_app()", False),
        (3, "redis://127.0.0.1:6379", "bookshelf:create_app()", False),
        (3, "memory://", "deployhook.app:create_app()", False),
    ],
)
def test_memory_storage_with_several_workers_warns_at_start(
    monkeypatch: pytest.MonkeyPatch, workers: int, storage: str, app: str, warns: bool
) -> None:
    """The hook gunicorn calls at start-up (when_ready), called with a stand-in server."""
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", storage)
    warnings: list[str] = []
    server = SimpleNamespace(
        cfg=SimpleNamespace(workers=workers, wsgi_app=None),
        app=SimpleNamespace(app_uri=app),
        log=SimpleNamespace(warning=lambda message, *args: warnings.append(message % args)),
    )
    load_gunicorn_conf().warn_about_unshared_limits(server)
    assert bool(warnings) is warns
    if warns:
        assert f"memory:// with {workers} workers" in warnings[0]
