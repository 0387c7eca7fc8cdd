"""Releases end to end: real git, real gunicorn (the shipped deploy/gunicorn.conf.py), real
`deployhook serve` and CLI, loopback only. Tests share one deployment and run in file order,
each starting from whatever is live, so each can also run alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from dh_helpers import (
    CHECK_PY,
    LINK_DEPS_PY,
    MIGRATE_PY,
    REPO,
    LiveDeployhook,
    LoadLoop,
    git,
    start_deployhook,
)

from support import free_port, start_server, stop_group

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SITE = next(p for p in sys.path if p.endswith("site-packages") and str(BIN.parent) in p)

APP_PY = """\
import json, pathlib, sys
HERE = pathlib.Path(__file__).resolve().parent
REVISION = (HERE / "REVISION").read_text().strip()
HEALTHY = not (HERE / "UNHEALTHY").exists()

def app(environ, start_response):
    if environ.get("PATH_INFO") == "/healthz":
        status = "200 OK" if HEALTHY else "503 Service Unavailable"
        data = {"commit": REVISION if HEALTHY else None, "prefix": sys.prefix}
    else:
        status, data = "200 OK", {"commit": REVISION, "hello": "world"}
    body = json.dumps(data).encode()
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(body)))])
    return [body]
"""


@dataclass
class Env(LiveDeployhook):
    """Everything a test needs to push commits and watch the deployment."""

    tmp: Path
    origin: Path
    deploy_to: Path
    config: Path
    app_port: int
    hook_port: int
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    commits: int = 0

    @property
    def app_url(self) -> str:
        return f"http://127.0.0.1:{self.app_port}"

    def commit(self, tests_pass: bool = True, healthy: bool = True) -> str:
        """Commit a new version of the toy app in the origin repository."""
        self.commits += 1
        (self.origin / "TESTS_PASS").write_text("yes\n" if tests_pass else "no\n")
        unhealthy = self.origin / "UNHEALTHY"
        if healthy:
            unhealthy.unlink(missing_ok=True)
        else:
            unhealthy.write_text("the app boots but reports itself broken\n")
        (self.origin / "VERSION").write_text(f"{self.commits}\n")
        git(self.origin, "add", "-A")
        git(self.origin, "commit", "-q", "-m", f"version {self.commits}")
        return git(self.origin, "rev-parse", "HEAD")

    def health(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.app_url}/healthz", timeout=5) as resp:  # noqa: S310
            return json.loads(resp.read())

    def served_commit(self, samples: int = 10) -> str:
        """The commit every one of several requests reports (asserts they agree)."""
        seen = {self.health()["commit"] for _ in range(samples)}
        assert len(seen) == 1, seen
        return seen.pop()

    def live_release(self) -> str:
        return Path(os.readlink(self.deploy_to / "current")).name

    def releases(self) -> list[str]:
        return sorted(p.name for p in (self.deploy_to / "releases").iterdir())


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("e2e")
    origin = tmp / "origin"
    origin.mkdir()
    git(origin, "init", "-q", "-b", "main")
    for name, text in {
        "app.py": APP_PY,
        "check.py": CHECK_PY,
        "link_deps.py": LINK_DEPS_PY,
        "migrate.py": MIGRATE_PY,
    }.items():
        (origin / name).write_text(text)
    deploy_to = tmp / "srv"
    e = Env(tmp, origin, deploy_to, tmp / "deployhook.toml", free_port(), free_port())
    e.config.write_text(
        f"""
[server]
port = {e.hook_port}
debounce_seconds = 0.5
rate_limit = "1000/minute"
[app]
name = "toy"
repository = "{REPO}"
git_url = "{origin}"
branch = "main"
deploy_to = "{deploy_to}"
keep_releases = 3
[commands]
install = [["{sys.executable}", "-m", "venv", "--without-pip", ".venv"],
           [".venv/bin/python", "link_deps.py"]]
test = [["python3", "check.py"]]
migrate = [["python3", "migrate.py"]]
env = {{ DEPS_SITE = "{SITE}" }}
[timeouts]
test = 30
reload = 30
health = 6
[reload]
method = "gunicorn-usr2"
pidfile = "{tmp / "gunicorn.pid"}"
[health]
url = "http://127.0.0.1:{e.app_port}/healthz"
interval = 0.1
confirmations = 3
"""
    )
    try:
        # First release, before any app server exists: the documented bootstrap.
        first = e.commit()
        boot = e.cli("deploy", "--no-reload")
        assert boot.returncode == 0, boot.stdout + boot.stderr
        assert (deploy_to / "current" / "REVISION").read_text().strip() == first
        # The app server, started the way deploy/bookshelf.service starts it.
        current = deploy_to / "current"
        gunicorn_env = dict(
            os.environ,
            APP_ROOT=str(deploy_to),
            GUNICORN_BIND=f"127.0.0.1:{e.app_port}",
            GUNICORN_PIDFILE=str(tmp / "gunicorn.pid"),
            GUNICORN_WORKERS="2",
            GUNICORN_GRACEFUL_TIMEOUT="10",
            GUNICORN_ACCESSLOG="",
        )
        e.procs["gunicorn"] = start_server(
            [
                current / ".venv" / "bin" / "python",
                "-m",
                "gunicorn",
                "-c",
                ROOT / "deploy" / "gunicorn.conf.py",
                "app:app",
            ],
            tmp / "gunicorn.log",
            cwd=current,
            env=gunicorn_env,
            # Any answer will do: the health check itself is what the tests exercise.
            ready=f"{e.app_url}/healthz",
            below=600,
        )
        assert e.served_commit() == first
        e.procs["deployhook"] = start_deployhook(
            e.hook_port, tmp / "deployhook.log", e.environ(), "--config", e.config
        )
        yield e
    finally:
        for proc in e.procs.values():
            stop_group(proc)


def test_good_push_zero_downtime(env: Env) -> None:
    old = env.served_commit()
    new = env.commit()
    with LoadLoop(f"{env.app_url}/") as load:
        time.sleep(0.5)  # traffic on the old release first
        started = time.monotonic()
        deploy_id = env.push(new)
        record = env.wait(deploy_id)
        deploy_s = time.monotonic() - started
        time.sleep(0.5)  # and on the new one afterwards
    print(
        f"\nzero-downtime deploy: {load.total} requests, {len(load.failures)} failed, "
        f"deploy took {deploy_s:.2f}s, per commit {dict(load.ok)}"
    )
    assert record["status"] == "succeeded", json.dumps(record, indent=1)
    assert load.failures == []
    assert load.total >= 300
    assert load.ok[old] > 0 and load.ok[new] > 0  # the loop really spanned the switch
    assert env.served_commit() == new
    assert env.live_release() == record["release"] and record["release"].endswith(new[:7])
    # The new master runs from the new release's own venv (USR2 re-exec through current/).
    prefix = Path(env.health()["prefix"]).resolve()
    assert prefix.parent.name == record["release"], prefix
    names = [s["name"] for s in record["steps"]]
    for expected in ("fetch", "checkout", "install 1/2", "install 2/2", "test", "migrate"):
        assert expected in names
    assert all(s["exit_code"] == 0 for s in record["steps"]), record["steps"]
    assert all(s["duration"] is not None for s in record["steps"])
    assert new in (env.deploy_to / "shared" / "migrations.log").read_text()
    assert (env.deploy_to / "current" / "REVISION").read_text().strip() == new


def test_failing_tests_keep_old_release(env: Env) -> None:
    old, live = env.served_commit(), env.live_release()
    bad = env.commit(tests_pass=False)
    record = env.wait(env.push(bad))
    assert record["status"] == "failed" and "live app untouched" in record["reason"]
    assert env.served_commit() == old and env.live_release() == live
    assert not (env.deploy_to / "releases" / record["release"]).exists()
    test_step = next(s for s in record["steps"] if s["name"] == "test")
    assert test_step["exit_code"] == 1 and "running the test suite: no" in test_step["output"]
    assert "switch current" not in [s["name"] for s in record["steps"]]


def test_unhealthy_release_is_rolled_back(env: Env) -> None:
    old, live = env.served_commit(), env.live_release()
    broken = env.commit(healthy=False)
    record = env.wait(env.push(broken))
    assert record["status"] == "rolled_back", json.dumps(record, indent=1)
    assert env.served_commit() == old and env.live_release() == live
    assert not (env.deploy_to / "releases" / record["release"]).exists()
    names = [s["name"] for s in record["steps"]]
    assert "rollback: switch current back" in names
    reload_step = next(s for s in record["steps"] if s["name"].startswith("reload"))
    assert reload_step["exit_code"] == 1 and "NOT healthy" in reload_step["output"]


def test_two_quick_pushes_only_newest_deployed(env: Env) -> None:
    first = env.commit()
    second = env.commit()
    a = env.push(first)
    b = env.push(second)
    ra, rb = env.wait(a), env.wait(b)
    assert (ra["status"], rb["status"]) == ("superseded", "succeeded")
    assert ra["steps"] == [] and ra["started_at"] is None
    assert env.served_commit() == second
    assert not any(name.endswith(first[:7]) for name in env.releases())


def test_cli_rollback_returns_to_previous(env: Env) -> None:
    if len(env.releases()) < 2:
        env.wait(env.push(env.commit()))
    live = env.live_release()
    previous = [n for n in env.releases() if n < live][-1]
    expected = (env.deploy_to / "releases" / previous / "REVISION").read_text().strip()
    with LoadLoop(f"{env.app_url}/") as load:
        out = env.cli("rollback")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "succeeded" in out.stdout
    assert env.live_release() == previous and env.served_commit() == expected
    assert load.failures == []
    history = json.loads(env.cli("history", "--json").stdout)
    assert history[0]["trigger"] == "rollback" and history[0]["status"] == "succeeded"


def test_old_releases_are_pruned(env: Env) -> None:
    # keep_releases = 3; the live and the previous release always survive.
    assert len(env.releases()) <= 3
    assert env.live_release() in env.releases()
