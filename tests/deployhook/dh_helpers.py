"""Helpers shared by deployhook's tests (a unique module name: tests/ has no packages)."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Mapping
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
