"""What a deploy step can see and what it leaves behind: its environment is an allow-list,
known secrets are redacted before output is stored, deployhook's files are private, and a
step orphaned by a killed `deployhook serve` is ended on the next start."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import stat
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dh_helpers import base_config, push_payload, sign256, start_deployhook, to_toml

from deployhook.config import config_from_dict
from deployhook.pipeline import ReleasePipeline
from deployhook.procs import pid_alive
from deployhook.redact import Redactor, url_secrets
from deployhook.runner import StepLogger
from deployhook.store import AppLock, Store
from deployhook.worker import Worker
from support import free_port, stop_group

PRINT_ENV = "import os; print(sorted(os.environ.items()))"


def _git(cwd: Path, *args: str) -> str:
    env = dict(
        os.environ,
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.com",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.com",
    )
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


def _origin(tmp: Path) -> tuple[Path, str]:
    origin = tmp / "origin"
    origin.mkdir()
    _git(origin, "init", "-q", "-b", "main")
    (origin / "VERSION").write_text("1\n")
    _git(origin, "add", "-A")
    _git(origin, "commit", "-q", "-m", "v1")
    return origin, _git(origin, "rev-parse", "HEAD")


def _toml(data: dict[str, Any]) -> str:
    # dh_helpers.to_toml writes scalars and lists; inline tables ([commands] env) added here.
    plain = {
        t: {k: v for k, v in vals.items() if not isinstance(v, dict)} for t, vals in data.items()
    }
    text = to_toml(plain)
    for table, values in data.items():
        for key, value in values.items():
            if isinstance(value, dict):
                pairs = ", ".join(f"{k} = {json.dumps(v)}" for k, v in value.items())
                text = text.replace(f"[{table}]\n", f"[{table}]\n{key} = {{ {pairs} }}\n", 1)
    return text


class Serve:
    """A real `deployhook serve` in its own process group, with an operator token."""

    def __init__(self, tmp: Path, data: dict[str, Any], environ: dict[str, str]) -> None:
        self.port = free_port()
        data["server"]["port"] = self.port
        self.config = tmp / "deployhook.toml"
        self.log = tmp / "deployhook.log"
        self.config.write_text(_toml(data))
        self.environ = environ
        self.token = environ["DEPLOYHOOK_OPERATOR_TOKEN"]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = start_deployhook(self.port, self.log, self.environ, "--config", self.config)

    def stop(self) -> None:
        if self.proc is not None:
            stop_group(self.proc)

    def get(self, path: str, **headers: str) -> bytes:
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", headers=headers)
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - loopback
            return resp.read()

    def api(self, path: str) -> Any:
        return json.loads(self.get(path, Authorization=f"Bearer {self.token}"))

    def push(self, sha: str, secret: str) -> int:
        body = json.dumps(push_payload(sha)).encode()
        headers = {
            "Content-Type": "application/json",
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": secrets.token_hex(8),
            "X-Hub-Signature-256": sign256(body, secret),
        }
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/webhook", data=body, headers=headers
        )
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - loopback
            return json.loads(resp.read())["deploy_id"]

    def wait(self, deploy_id: int, done: Any, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            record = self.api(f"/api/deploys/{deploy_id}")
            if done(record):
                return record
            assert time.monotonic() < deadline, record
            time.sleep(0.1)


@pytest.fixture
def secrets_env() -> dict[str, str]:
    """deployhook's own environment as systemd would give it, with fresh 32+ char secrets
    and a variable of some other program that steps have no business seeing."""
    return dict(
        os.environ,
        DEPLOYHOOK_SECRET=secrets.token_urlsafe(32),
        DEPLOYHOOK_OPERATOR_TOKEN=secrets.token_urlsafe(32),
        UNRELATED_DAEMON_SETTING="not-for-steps",
    )


@pytest.mark.slow
def test_a_step_printing_its_environment_reveals_no_secret(
    tmp_path: Path, secrets_env: dict[str, str]
) -> None:
    secret = secrets_env["DEPLOYHOOK_SECRET"]
    token = secrets_env["DEPLOYHOOK_OPERATOR_TOKEN"]
    origin, sha = _origin(tmp_path)
    # A secret that reaches a step by some other road (a file it should not have read) is
    # caught by redaction, the second line of defence.
    stray = tmp_path / "stray.txt"
    stray.write_text(f"found {secret} and {token} lying around\n")
    deploy_to = tmp_path / "srv"
    data = base_config(deploy_to)
    data["app"]["git_url"] = str(origin)
    data["commands"] = {
        "install": [],
        "test": [
            ["env"],
            [sys.executable, "-c", PRINT_ENV],
            [sys.executable, "-c", f"print(open({str(stray)!r}).read())"],
        ],
        "env": {"APP_SETTING": "from-config"},
    }
    serve = Serve(tmp_path, data, secrets_env)
    serve.start()
    try:
        deploy_id = serve.push(sha, secret)
        record = serve.wait(deploy_id, lambda r: r["status"] not in ("queued", "running"))
        assert record["status"] == "succeeded", record
        page = serve.get(f"/deploys/{deploy_id}", Authorization=f"Bearer {token}").decode()
        api_text = json.dumps(record)
    finally:
        serve.stop()

    outputs = {s["name"]: s["output"] for s in record["steps"]}
    env_out, py_out, stray_out = outputs["test 1/3"], outputs["test 2/3"], outputs["test 3/3"]
    for shown in (env_out, py_out):
        # Allow-listed: the data variables and the config's env, nothing of deployhook's own.
        assert f"DEPLOYHOOK_SHA={sha}" in shown or f"('DEPLOYHOOK_SHA', '{sha}')" in shown
        assert "from-config" in shown and "PATH" in shown
        assert "DEPLOYHOOK_SECRET" not in shown and "DEPLOYHOOK_OPERATOR_TOKEN" not in shown
        assert "UNRELATED_DAEMON_SETTING" not in shown
    assert "found *** and *** lying around" in stray_out
    stored = b"".join(
        p.read_bytes() for p in deploy_to.iterdir() if p.name.startswith("deployhook.sqlite3")
    )
    assert b"found *** and ***" in stored  # the database really holds the step output
    for value in (secret, token):
        assert value not in page
        assert value not in api_text
        assert value.encode() not in stored


def test_steps_get_only_the_allow_list(
    tmp_path: Path, secrets_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in secrets_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LC_TIME", "C.UTF-8")
    monkeypatch.setenv("TZ", "UTC")
    origin, sha = _origin(tmp_path)
    seen = tmp_path / "seen.json"
    dump = f"import json, os; json.dump(dict(os.environ), open({str(seen)!r}, 'w'))"
    data = base_config(tmp_path / "srv")
    data["app"]["git_url"] = str(origin)
    data["commands"] = {"install": [], "test": [[sys.executable, "-c", dump]]}
    data["commands"]["env"] = {"APP_SETTING": "from-config"}
    cfg = config_from_dict(data, secrets_env, base_dir=tmp_path)
    store = Store(cfg.database_url, cfg.app_name)
    try:
        store.enqueue(commit_sha=sha, ref="refs/heads/main")
        done = Worker(store, cfg, ReleasePipeline(cfg)).run_once()
        assert done is not None and done.status == "succeeded", done and done.reason
    finally:
        store.close()
    env = json.loads(seen.read_text())
    release = tmp_path / "srv" / "releases" / str(done.release)
    assert env["DEPLOYHOOK_SHA"] == sha and env["DEPLOYHOOK_RELEASE_DIR"] == str(release)
    assert env["DEPLOYHOOK_SHARED_DIR"] == str(tmp_path / "srv" / "shared")
    assert env["DEPLOYHOOK_APP"] == "widget" and env["APP_SETTING"] == "from-config"
    for name in ("PATH", "HOME", "LC_TIME", "TZ"):
        assert env[name] == os.environ[name]
    allowed = {"PATH", "HOME", "LANG", "TZ", "APP_SETTING"}
    extra = {k for k in env if k not in allowed and not k.startswith(("LC_", "DEPLOYHOOK_"))}
    # The interpreter may add a variable of its own; nothing of deployhook's environment.
    assert extra <= {"PWD"}, extra
    assert "DEPLOYHOOK_SECRET" not in env and "DEPLOYHOOK_OPERATOR_TOKEN" not in env


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The common default umask (files 0644), which deployhook must not rely on."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_database_files_and_directory_are_private(tmp_path: Path, loose_umask: None) -> None:
    db = tmp_path / "fresh" / "deployhook.sqlite3"
    store = Store(f"sqlite:///{db}", "app")
    try:
        store.enqueue(commit_sha="a" * 40, ref="refs/heads/main")
        files = [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
        assert all(p.exists() for p in files)  # WAL mode: all three exist while open
        assert {p.name: oct(_mode(p)) for p in files} == {p.name: "0o600" for p in files}
        assert oct(_mode(db.parent)) == "0o700"
    finally:
        store.close()


def test_existing_database_files_are_tightened(tmp_path: Path, loose_umask: None) -> None:
    db = tmp_path / "deployhook.sqlite3"
    Store(f"sqlite:///{db}", "app").close()
    for suffix in ("", "-wal", "-shm"):
        path = db.with_name(db.name + suffix)
        path.touch()
        path.chmod(0o644)
    store = Store(f"sqlite:///{db}", "app")
    try:
        for suffix in ("", "-wal", "-shm"):
            assert oct(_mode(db.with_name(db.name + suffix))) == "0o600", suffix
    finally:
        store.close()


def _spawn_group(pidfile: Path) -> subprocess.Popen[bytes]:
    # A step-like process tree: a leader in its own session and a child it forked.
    script = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen(['sleep', '300'])\n"
        f"open({str(pidfile)!r}, 'w').write(f'{{__import__(\"os\").getpid()}} {{child.pid}}')\n"
        "time.sleep(300)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    deadline = time.monotonic() + 10
    while not pidfile.exists() or len(pidfile.read_text().split()) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return proc


def test_recovery_ends_the_dead_owners_process_group(db_url: str, tmp_path: Path) -> None:
    store = Store(db_url, "app")
    group = _spawn_group(tmp_path / "pids")
    pids = [int(p) for p in (tmp_path / "pids").read_text().split()]
    try:
        store.enqueue(commit_sha="b" * 40, ref="refs/heads/main")
        running = store.claim()
        assert running is not None
        step_id = store.start_step(running.id, "test", ["sleep"])
        store.step_process(step_id, group.pid)
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        with store.session() as s:
            lock = s.get(AppLock, "app")
            assert lock is not None
            lock.owner = f"{store.owner.rpartition(':')[0]}:{dead.pid}"
            s.commit()
        assert store.recover() == [running.id]
        group.wait(10)  # reap our own child, as init would for a real orphan
        deadline = time.monotonic() + 10
        while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(pid_alive(p) for p in pids)
        failed = store.get(running.id)
        assert failed is not None and failed.status == "failed"
        assert f"ended process group {group.pid}" in failed.reason
        step = failed.steps[0]
        assert step.finished_at is not None and "deployhook stopped" in step.output
    finally:
        stop_group(group)
        store.close()


@pytest.mark.slow
def test_step_orphaned_by_kill_9_is_ended_on_restart(
    tmp_path: Path, secrets_env: dict[str, str]
) -> None:
    origin, sha = _origin(tmp_path)
    pidfile = tmp_path / "step.pids"
    script = (
        "import os, subprocess, time\n"
        "child = subprocess.Popen(['sleep', '300'])\n"
        f"open({str(pidfile)!r}, 'w').write(f'{{os.getpid()}} {{child.pid}}')\n"
        "time.sleep(300)\n"
    )
    data = base_config(tmp_path / "srv")
    data["app"]["git_url"] = str(origin)
    data["commands"] = {"install": [], "test": [[sys.executable, "-c", script]]}
    serve = Serve(tmp_path, data, secrets_env)
    serve.start()
    pids: list[int] = []
    try:
        deploy_id = serve.push(sha, secrets_env["DEPLOYHOOK_SECRET"])
        deadline = time.monotonic() + 30
        while not pidfile.exists() or len(pidfile.read_text().split()) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        pids = [int(p) for p in pidfile.read_text().split()]
        assert serve.proc is not None
        serve.proc.send_signal(signal.SIGKILL)  # deployhook only, not the step's group
        serve.proc.wait(10)
        time.sleep(0.3)
        assert all(pid_alive(p) for p in pids)  # the orphans exist
        serve.start()
        deadline = time.monotonic() + 15
        while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [p for p in pids if pid_alive(p)]
        record = serve.api(f"/api/deploys/{deploy_id}")
        assert record["status"] == "failed"
        assert "stopped while this deploy was running" in record["reason"]
        assert f"ended process group {pids[0]}" in record["reason"]
    finally:
        serve.stop()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_redaction_masks_secrets_split_across_chunks() -> None:
    secret = secrets.token_urlsafe(32)
    got: list[bytes] = []
    stream = Redactor([secret]).stream(got.append)
    url = f"https://deployer:{secrets.token_hex(20)}@git.example.com/a.git"
    text = f"start {secret} middle {url} end"
    data = text.encode()
    # Every split point, one byte at a time at the worst: no secret byte run survives.
    for size in (1, 3, 7, 64):
        got.clear()
        for i in range(0, len(data), size):
            stream.write(data[i : i + size])
        stream.close()
        out = b"".join(got).decode()
        assert out == "start *** middle https://***@git.example.com/a.git end", size
    # Output that cannot start a secret is passed on at once (the live view does not lag).
    got.clear()
    stream.write(b"collected 12 items\n")
    assert got == [b"collected 12 items\n"]


def test_url_secrets_are_passwords_or_a_lone_https_token() -> None:
    token = secrets.token_hex(20)
    assert token in url_secrets(f"https://ci:{token}@git.example.com/a.git")
    assert "ci" not in url_secrets(f"https://ci:{token}@git.example.com/a.git")
    assert url_secrets(f"https://{token}@github.com/a/b.git", lone_user_is_token=True) == [
        token,
        token,
    ]
    assert url_secrets("ssh://deploy@git.example.com/a.git", lone_user_is_token=True) == []
    assert url_secrets("postgresql+psycopg://deployhook@127.0.0.1/deployhook") == []
    assert url_secrets("postgresql://dh:p%40ss-word@127.0.0.1/dh") == ["p%40ss-word", "p@ss-word"]


def test_git_url_credentials_never_reach_the_record(tmp_path: Path) -> None:
    token = secrets.token_hex(20)
    data = base_config(tmp_path / "srv")
    # Nothing listens there: the fetch fails, and git's message names the URL.
    data["app"]["git_url"] = f"http://deployer:{token}@127.0.0.1:{free_port()}/acme/widget.git"
    environ = {"DEPLOYHOOK_SECRET": secrets.token_urlsafe(32)}
    cfg = config_from_dict(data, environ, base_dir=tmp_path)
    store = Store(cfg.database_url, cfg.app_name)
    try:
        store.enqueue(commit_sha=None, ref="refs/heads/main")
        done = Worker(store, cfg, ReleasePipeline(cfg)).run_once()
        assert done is not None and done.status == "failed"
        fetch = next(s for s in done.steps if s.name == "fetch")
        assert "http://***@127.0.0.1" in fetch.command
        shown = json.dumps(done.to_dict(with_steps=True))
        assert token not in shown and "deployer:" not in shown
    finally:
        store.close()
    stored = b"".join(p.read_bytes() for p in (tmp_path / "srv").glob("deployhook.sqlite3*"))
    assert token.encode() not in stored


def test_a_step_does_not_outlive_a_failing_logger(tmp_path: Path) -> None:
    class FlakyStore(Store):
        def step_output(self, step_id: int, output: str) -> None:
            raise OSError("database went away")

    store = FlakyStore(f"sqlite:///{tmp_path / 'dh.sqlite3'}", "app")
    pidfile = tmp_path / "pid"
    script = f"import os, time; open({str(pidfile)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    try:
        deploy = store.enqueue(commit_sha="c" * 40, ref="refs/heads/main")
        with pytest.raises(OSError, match="went away"):
            StepLogger(store, deploy.id).run("sleeper", [sys.executable, "-c", script])
        assert not pid_alive(int(pidfile.read_text()))
    finally:
        store.close()
