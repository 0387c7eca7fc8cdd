"""Helpers shared by deployhook's tests (a unique module name: tests/ has no packages)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from deployhook.runner import StepLogger
from deployhook.store import Deploy
from deployhook.worker import Outcome
from support import start_server

DEPLOYHOOK = Path(sys.executable).parent / "deployhook"
# 32+ characters with some variety: deployhook refuses weaker secrets.
SECRET = "It's a Secret to Everybody - 7f3a9c1e"
TOKEN = "operator-token-0123456789abcdefXYZ"
REPO = "acme/widget"
BRANCH = "main"


def base_config(deploy_to: Path, **sections: dict[str, Any]) -> dict[str, Any]:
    """A minimal valid TOML document as a dict; ``sections`` are merged per table."""
    data: dict[str, Any] = {
        "server": {"debounce_seconds": 0.0, "rate_limit": "1000/minute"},
        "app": {
            "name": "widget",
            "repository": REPO,
            "git_url": str(deploy_to / "origin.git"),
            "branch": BRANCH,
            "deploy_to": str(deploy_to),
        },
        "commands": {"install": [], "test": [["true"]]},
        "reload": {"method": "none"},
    }
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return data


def sign256(body: bytes, secret: str = SECRET) -> str:
    """GitHub's X-Hub-Signature-256 value."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def random_sha() -> str:
    """A random 40-hex commit id."""
    return (uuid.uuid4().hex + uuid.uuid4().hex)[:40]


def push_payload(
    sha: str | None = None, ref: str = f"refs/heads/{BRANCH}", repo: str = REPO, **extra: Any
) -> dict[str, Any]:
    """A GitHub-shaped push payload."""
    sha = sha or random_sha()
    data: dict[str, Any] = {
        "ref": ref,
        "before": "1" * 40,
        "after": sha,
        "deleted": False,
        "repository": {"full_name": repo},
        "pusher": {"name": "octocat"},
        "head_commit": {"id": sha, "message": "Fix the widget"},
    }
    data.update(extra)
    return data


def github_request(
    payload: Any, event: str = "push", delivery: str | None = None, secret: str = SECRET
) -> tuple[bytes, dict[str, str]]:
    """Body and headers of a signed GitHub delivery."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": sign256(body, secret),
    }
    return body, headers


class FakePipeline:
    """Stands in for the release pipeline: records what ran and how many ran at once."""

    def __init__(self, duration: float = 0.0, status: str = "succeeded") -> None:
        self.duration = duration
        self.status = status
        self.ran: list[int] = []
        self.active = 0
        self.max_active = 0
        self.lock = threading.Lock()

    def run(self, deploy: Deploy, steps: StepLogger) -> Outcome:
        """Count concurrency, log one real step, sleep to widen any race window."""
        with self.lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            self.ran.append(deploy.id)
        try:
            steps.run("echo", ["echo", f"deploying {deploy.commit_sha}"], timeout=10)
            time.sleep(self.duration)
        finally:
            with self.lock:
                self.active -= 1
        return Outcome(self.status, "fake")


def start_deployhook(
    port: int, log: Path, env: Mapping[str, str], *args: str | Path, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    """`deployhook serve ARGS` from this venv, in its own process group, returned once its
    /healthz answers on `port`; stop it with support.stop_group."""
    ready = f"http://127.0.0.1:{port}/healthz"
    return start_server([DEPLOYHOOK, "serve", *args], log, env=env, cwd=cwd, ready=ready)


def to_toml(data: dict[str, Any]) -> str:
    """Tiny TOML writer for our config shape (tables of scalars and lists); JSON literals
    for strings, numbers and lists are valid TOML."""
    lines = []
    for table, values in data.items():
        lines.append(f"[{table}]")
        for key, value in values.items():
            literal = str(value).lower() if isinstance(value, bool) else json.dumps(value)
            lines.append(f"{key} = {literal}")
    return "\n".join(lines) + "\n"


# The toy app's build steps, shared by the single-host and the fleet end-to-end tests.
CHECK_PY = """\
import pathlib, sys
verdict = (pathlib.Path(__file__).parent / "TESTS_PASS").read_text().strip()
print("running the test suite:", verdict)
sys.exit(0 if verdict == "yes" else 1)
"""
# The per-release venv borrows gunicorn from the test venv through a .pth file.
LINK_DEPS_PY = """\
import os, pathlib, sysconfig
site = pathlib.Path(sysconfig.get_paths()["purelib"])
(site / "deps.pth").write_text(os.environ["DEPS_SITE"] + "\\n")
print("linked", os.environ["DEPS_SITE"], "into", site)
"""
MIGRATE_PY = """\
import os, pathlib
log = pathlib.Path(os.environ["DEPLOYHOOK_SHARED_DIR"]) / "migrations.log"
with log.open("a") as fh:
    fh.write(os.environ["DEPLOYHOOK_SHA"] + "\\n")
"""


def git(cwd: Path, *args: str) -> str:
    env = dict(
        os.environ,
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.com",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.com",
    )
    out = subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    )
    return out.stdout.strip()


class LoadLoop:
    """Hammers the app from a few threads; bounded in count and time, stops by itself."""

    def __init__(self, url: str, threads: int = 3, max_requests: int = 30000, max_s: float = 120):
        self.url = url
        self.max_requests = max_requests
        self.deadline = time.monotonic() + max_s
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.ok: Counter[str] = Counter()
        self.failures: list[str] = []
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    @property
    def total(self) -> int:
        return sum(self.ok.values()) + len(self.failures)

    def _run(self) -> None:
        while not self.stop.is_set() and self.total < self.max_requests:
            if time.monotonic() > self.deadline:
                break
            try:
                with urllib.request.urlopen(self.url, timeout=10) as resp:  # noqa: S310 - loopback
                    commit = json.loads(resp.read())["commit"]
                with self.lock:
                    self.ok[commit] += 1
            except Exception as exc:  # every kind of failure counts
                with self.lock:
                    self.failures.append(f"{type(exc).__name__}: {exc}")

    def __enter__(self) -> LoadLoop:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(15)


class LiveDeployhook:
    """What the end-to-end tests do with a running `deployhook serve` and its config: push a
    signed webhook, read a deploy over the JSON API, wait for it to end, run the CLI."""

    hook_port: int
    config: Path

    def push(self, sha: str) -> int:
        """Send the signed GitHub push webhook; return the deploy id."""
        body, headers = github_request(push_payload(sha))
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.hook_port}/webhook", data=body, headers=headers
        )
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - loopback
            assert resp.status == 202
            return json.loads(resp.read())["deploy_id"]

    def get(self, path: str) -> tuple[int, str]:
        """GET a page or API path as the operator (Bearer token): status and body."""
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.hook_port}{path}",
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - loopback
            return resp.status, resp.read().decode()

    def deploy_record(self, deploy_id: int) -> dict[str, Any]:
        """The deploy as the JSON API has it, steps included."""
        return json.loads(self.get(f"/api/deploys/{deploy_id}")[1])

    def wait(self, deploy_id: int, timeout: float = 90) -> dict[str, Any]:
        """The deploy's record once it is no longer queued or running."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            record = self.deploy_record(deploy_id)
            if record["status"] not in ("queued", "running"):
                return record
            time.sleep(0.1)
        raise AssertionError(f"deploy {deploy_id} still {record['status']}: {record}")

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`deployhook ARGS --config <config>` with the secrets in its environment."""
        return subprocess.run(
            [str(DEPLOYHOOK), *args, "--config", str(self.config)],
            env=self.environ(),
            capture_output=True,
            text=True,
            timeout=120,
        )

    def environ(self) -> dict[str, str]:
        """Our environment plus the webhook secret and the operator token."""
        return dict(os.environ, DEPLOYHOOK_SECRET=SECRET, DEPLOYHOOK_OPERATOR_TOKEN=TOKEN)


class FakeAppServer:
    """Answers /healthz with the REVISION that `current` points to, as a reloaded app would;
    commits listed in ``broken`` answer 503."""

    def __init__(self, deploy_to: Path) -> None:
        self.broken: set[str] = set()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                try:
                    commit = (deploy_to / "current" / "REVISION").read_text().strip()
                except OSError:
                    commit = None
                code = 503 if commit in outer.broken else 200
                body = json.dumps({"commit": commit}).encode()
                self.send_response(code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/healthz"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
