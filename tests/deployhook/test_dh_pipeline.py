"""ReleasePipeline with real git and a reload *command* (the systemd-style method), plus
crash recovery of a real `deployhook serve`; the gunicorn path is in test_dh_e2e.py."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from dh_helpers import (
    SECRET,
    TOKEN,
    FakeAppServer,
    base_config,
    git,
    github_request,
    push_payload,
    start_deployhook,
    to_toml,
)

from deployhook.config import Config, config_from_dict
from deployhook.pipeline import ReleasePipeline
from deployhook.runner import StepLogger
from deployhook.store import Deploy, Store
from deployhook.worker import Worker
from support import free_port, stop_group


class Setup:
    """An origin repo, a deploy_to, a store and a fake app server."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.origin = tmp / "origin"
        self.origin.mkdir()
        git(self.origin, "init", "-q", "-b", "main")
        self.deploy_to = tmp / "srv"
        self.app = FakeAppServer(self.deploy_to)
        self.reload_log = tmp / "reloads.log"
        self.n = 0

    def commit(self, branch: str = "main", **files: str) -> str:
        if git(self.origin, "branch", "--show-current") != branch:
            git(self.origin, "checkout", "-q", "-B", branch)
        self.n += 1
        (self.origin / "VERSION").write_text(str(self.n))
        for name, text in files.items():
            (self.origin / name).write_text(text)
        git(self.origin, "add", "-A")
        git(self.origin, "commit", "-q", "-m", f"v{self.n}")
        return git(self.origin, "rev-parse", "HEAD")

    def config(self, **sections: dict[str, Any]) -> Config:
        data = base_config(self.deploy_to)
        data["app"]["git_url"] = str(self.origin)
        data["app"]["keep_releases"] = 2
        data["reload"] = {
            "method": "command",
            "command": [
                sys.executable,
                "-c",
                f"open({str(self.reload_log)!r}, 'a').write('reload\\n')",
            ],
        }
        data["health"] = {"url": self.app.url, "interval": 0.05, "confirmations": 2}
        data["timeouts"] = {"health": 2.0}
        for name, values in sections.items():
            data.setdefault(name, {}).update(values)
        return config_from_dict(data, {"DEPLOYHOOK_SECRET": SECRET}, base_dir=self.tmp)

    def run(self, cfg: Config, sha: str | None = None, **fields: Any) -> Deploy:
        store = Store(cfg.database_url, cfg.app_name)
        try:
            store.enqueue(commit_sha=sha, ref="refs/heads/main", **fields)
            done = Worker(store, cfg, ReleasePipeline(cfg)).run_once()
            assert done is not None
            return done
        finally:
            store.close()

    def live(self) -> str | None:
        try:
            return (self.deploy_to / "current" / "REVISION").read_text().strip()
        except OSError:
            return None

    def reloads(self) -> int:
        return len(self.reload_log.read_text().splitlines()) if self.reload_log.exists() else 0


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    s = Setup(tmp_path)
    yield s
    s.app.server.shutdown()


def test_command_reload_deploy_and_health(setup: Setup) -> None:
    no_env_file = "import os, sys; sys.exit(os.path.exists('.env'))"
    cfg = setup.config(
        app={"shared": [".env", "instance"]},
        commands={"test": [[sys.executable, "-c", no_env_file]]},
    )
    (setup.deploy_to / "shared").mkdir(parents=True)
    (setup.deploy_to / "shared" / ".env").write_text("SECRET_KEY=production\n")
    first = setup.commit()
    done = setup.run(cfg, first)
    assert done.status == "succeeded", [(s.name, s.output) for s in done.steps]
    assert setup.live() == first and setup.reloads() == 1
    # Tests ran on a pristine checkout; production settings were linked afterwards.
    assert (setup.deploy_to / "current" / ".env").is_symlink()
    assert "linked from" in next(s.output for s in done.steps if s.name == "link shared")
    steps = {s.name: s for s in done.steps}
    assert json.loads(steps["reload"].command)[0] == sys.executable
    assert "healthy" in steps["reload: health"].output
    assert json.loads(steps["fetch"].command)[:3] == ["git", "-C", str(setup.deploy_to / "repo")]


def test_manual_deploy_resolves_the_branch_head(setup: Setup) -> None:
    cfg = setup.config()
    head = setup.commit()
    done = setup.run(cfg, None)
    assert done.status == "succeeded" and done.commit_sha == head and setup.live() == head


def test_unhealthy_release_rolls_back_with_command(setup: Setup) -> None:
    cfg = setup.config()
    good = setup.commit()
    assert setup.run(cfg, good).status == "succeeded"
    bad = setup.commit()
    setup.app.broken.add(bad)
    done = setup.run(cfg, bad)
    assert done.status == "rolled_back"
    assert setup.live() == good
    # Forward reload, then the reload back to the previous release.
    assert setup.reloads() == 3
    names = [s.name for s in done.steps]
    assert names[-4:] == [
        "rollback: switch current back",
        "rollback: reload",
        "rollback: reload: health",
        "remove release",
    ]
    assert not (setup.deploy_to / "releases" / str(done.release)).exists()


def test_commit_not_on_branch_is_refused(setup: Setup) -> None:
    cfg = setup.config()
    setup.commit()
    stray = setup.commit(branch="feature")
    done = setup.run(cfg, stray)
    assert done.status == "failed" and "is not on refs/heads/main" in done.reason
    assert setup.live() is None and setup.reloads() == 0


def test_test_timeout_fails_and_removes_release(setup: Setup) -> None:
    cfg = setup.config(
        commands={"test": [[sys.executable, "-c", "import time; time.sleep(30)"]]},
        timeouts={"test": 0.5},
    )
    sha = setup.commit()
    started = time.monotonic()
    done = setup.run(cfg, sha)
    assert time.monotonic() - started < 20
    assert done.status == "failed" and "timed out" in done.reason
    assert setup.live() is None
    assert list((setup.deploy_to / "releases").iterdir()) == []


def test_rollback_to_named_release_and_pruning(setup: Setup) -> None:
    cfg = setup.config()
    shas = [setup.commit() for _ in range(4)]
    releases = []
    for sha in shas:
        # Older commits than the tip: only an operator deploys those (a webhook refuses).
        done = setup.run(cfg, sha, trigger="manual")
        assert done.status == "succeeded"
        releases.append(done.release)
        time.sleep(1.05)  # release names carry a one-second timestamp
    kept = sorted(p.name for p in (setup.deploy_to / "releases").iterdir())
    assert kept == releases[-2:]  # keep_releases = 2
    done = setup.run(cfg, None, trigger="rollback", options={"release": releases[-2]})
    assert done.status == "succeeded" and setup.live() == shas[-2]
    missing = setup.run(cfg, None, trigger="rollback", options={"release": releases[0]})
    assert missing.status == "failed" and "no release named" in missing.reason


def test_step_output_is_visible_while_running(setup: Setup) -> None:
    cfg = setup.config()
    store = Store(cfg.database_url, cfg.app_name)
    deploy = store.enqueue(commit_sha=None, ref="refs/heads/main")
    steps = StepLogger(store, deploy.id)
    script = "import time; print('first line', flush=True); time.sleep(2.5); print('done')"
    seen: list[str] = []

    def watch() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            got = store.get(deploy.id)
            step = got.steps[0] if got and got.steps else None
            if step is not None and step.finished_at is None and "first line" in step.output:
                seen.append(step.output)
                return
            time.sleep(0.1)

    watcher = threading.Thread(target=watch)
    watcher.start()
    result = steps.run("slow printer", [sys.executable, "-c", script])
    watcher.join()
    assert result.ok and "done" in result.output
    assert seen and "done" not in seen[0]
    store.close()


@pytest.mark.slow
def test_serve_killed_mid_deploy_recovers_on_restart(setup: Setup) -> None:
    port = free_port()
    data = base_config(setup.deploy_to)
    data["server"].update(port=port, debounce_seconds=0.0)
    data["app"]["git_url"] = str(setup.origin)
    data["commands"]["test"] = [[sys.executable, "-c", "import time; time.sleep(3)"]]
    config = setup.tmp / "dh.toml"
    config.write_text(to_toml(data))
    env = dict(os.environ, DEPLOYHOOK_SECRET=SECRET, DEPLOYHOOK_OPERATOR_TOKEN=TOKEN)

    def serve() -> subprocess.Popen[bytes]:
        return start_deployhook(port, setup.tmp / "deployhook.log", env, "--config", config)

    def api(path: str, method: str = "GET", body: bytes | None = None, **headers: str) -> Any:
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}{path}",
            data=body,
            method=method,
            headers={"Authorization": f"Bearer {TOKEN}", **headers},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - loopback
            return json.loads(resp.read())

    def push(sha: str) -> int:
        body, headers = github_request(push_payload(sha))
        return api("/webhook", "POST", body, **headers)["deploy_id"]

    def wait(deploy_id: int, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            record = api(f"/api/deploys/{deploy_id}")
            if predicate(record):
                return record
            time.sleep(0.1)
        raise AssertionError(record)

    first = serve()
    try:
        deploy_id = push(setup.commit())
        wait(deploy_id, lambda r: any(s["name"] == "test" for s in r["steps"]))
        os.killpg(first.pid, signal.SIGKILL)  # no chance to clean up
        first.wait(10)
    finally:
        stop_group(first)
    second = serve()
    try:
        record = api(f"/api/deploys/{deploy_id}")
        assert record["status"] == "failed"
        assert "stopped while this deploy was running" in record["reason"]
        assert "removed unfinished release" in record["reason"]
        assert not (setup.deploy_to / "releases" / record["release"]).exists()
        # No stale lock: the next push deploys.
        sha = setup.commit()
        done = wait(push(sha), lambda r: r["status"] not in ("queued", "running"))
        assert done["status"] == "succeeded" and setup.live() == sha
    finally:
        stop_group(second)
