"""The test-support package itself: a dead server is reported with its output, a stop takes
the whole process group, and throwaway databases leave nothing behind."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

import support
from support import (
    ServerFailed,
    free_port,
    require,
    require_postgres,
    start_server,
    stop_group,
    temporary_postgres_database,
    temporary_sqlite_database,
    wait_until_up,
)


def test_a_server_that_exits_is_reported_at_once_with_its_output(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    script = "import sys; print('cannot bind: address in use'); sys.exit(3)"
    started = time.monotonic()
    with pytest.raises(ServerFailed) as failure:
        start_server([sys.executable, "-c", script], log, ready=f"http://127.0.0.1:{free_port()}/")
    assert time.monotonic() - started < 10  # not the 30 s timeout
    assert "exited with 3" in str(failure.value)
    assert "cannot bind: address in use" in str(failure.value)


def test_a_url_that_never_answers_times_out_with_the_log(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text("still loading the app\n")
    with pytest.raises(ServerFailed, match="still loading the app"):
        wait_until_up(f"http://127.0.0.1:{free_port()}/", timeout=0.5, log=log)


def test_stop_group_ends_the_children_too(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    script = (
        "import pathlib, subprocess, sys, time\n"
        "child = subprocess.Popen(['sleep', '300'])\n"
        f"pathlib.Path({str(pidfile)!r}).write_text(str(child.pid))\n"
        "time.sleep(300)\n"
    )
    process = start_server([sys.executable, "-c", script], tmp_path / "log")
    deadline = time.monotonic() + 10
    while not (pidfile.exists() and pidfile.read_text()):
        assert time.monotonic() < deadline, "the child never started"
        time.sleep(0.05)
    child = int(pidfile.read_text())
    stop_group(process, timeout=5)
    assert process.returncode is not None
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by init) counts as gone.
    return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()


def test_temporary_sqlite_database_removes_its_files(tmp_path: Path) -> None:
    import sqlite3

    with temporary_sqlite_database(tmp_path, "scratch") as url:
        path = Path(url.removeprefix("sqlite:///"))
        with sqlite3.connect(path) as connection:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("CREATE TABLE t (x)")
        assert path.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.postgres
def test_temporary_postgres_database_is_created_and_dropped() -> None:
    import psycopg

    require_postgres()
    with temporary_postgres_database("support_test") as url:
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(url) as connection:
            assert connection.execute("SELECT current_database()").fetchone() == (name,)
    with psycopg.connect(support.POSTGRES_ADMIN_URL) as admin:
        query = "SELECT count(*) FROM pg_database WHERE datname = %s"
        assert admin.execute(query, (name,)).fetchone() == (0,)


def test_require_skips_locally_and_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(support.environment, "IN_CI", False)
    with pytest.raises(pytest.skip.Exception, match="not available on this machine"):
        require(False, "a service")
    monkeypatch.setattr(support.environment, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match="required when CI=true"):
        require(False, "a service")
    require(True, "a service")  # available: nothing happens
