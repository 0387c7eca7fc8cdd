"""Replays cannot move production backwards: a signed body sent again later (new delivery id,
none, or under another provider's headers) is answered "ignored", and the pipeline refuses a
webhook commit that is neither the fetched tip nor ahead of the live commit."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from dh_helpers import SECRET, base_config, random_sha
from test_dh_providers import github, gitlab, matching, published

from deployhook.config import Config, config_from_dict
from deployhook.pipeline import ReleasePipeline
from deployhook.signatures import sign_sha256
from deployhook.store import Store
from deployhook.worker import Worker


def _run_queue(client: Any) -> None:
    worker = client.application.extensions["deployhook"]["worker"]
    while worker.run_once() is not None:
        pass


def _statuses(client: Any) -> list[tuple[str | None, str]]:
    return [(d.commit_sha, d.status) for d in reversed(client.store.latest(100))]


def test_old_github_body_replayed_after_a_newer_deploy_is_ignored(
    client_for: Callable[..., Any],
) -> None:
    client = client_for()
    old, new = random_sha(), random_sha()
    old_body = matching(published("github/push.json"), old)
    old_headers = github(old_body, "push")
    assert client.post("/webhook", data=old_body, headers=old_headers).status_code == 202
    _run_queue(client)
    new_body = matching(published("github/push.json"), new)
    assert client.post("/webhook", data=new_body, headers=github(new_body, "push")).status_code
    _run_queue(client)
    assert _statuses(client) == [(old, "succeeded"), (new, "succeeded")]

    fresh_id = github(old_body, "push")
    no_id = dict(old_headers)
    del no_id["X-GitHub-Delivery"]
    # The same signature re-labelled as Gitea's: HMAC-SHA256 hex over the same bytes.
    as_gitea = {
        "Content-Type": "application/json",
        "X-Gitea-Event": "push",
        "X-Gitea-Delivery": "attacker-chosen",
        "X-Gitea-Signature": old_headers["X-Hub-Signature-256"].removeprefix("sha256="),
    }
    for headers in (fresh_id, no_id, as_gitea):
        resp = client.post("/webhook", data=old_body, headers=headers)
        assert resp.status_code in (200, 202), resp.json
        assert resp.json["status"] in ("ignored", "already received")
        assert old[:12] in resp.json.get("reason", old)
    _run_queue(client)
    assert _statuses(client) == [(old, "succeeded"), (new, "succeeded")]


def test_gitlab_body_replayed_with_a_new_idempotency_key_is_ignored(
    client_for: Callable[..., Any],
) -> None:
    client = client_for()
    old, new = random_sha(), random_sha()
    old_body = matching(published("gitlab/push.json"), old)
    assert client.post("/webhook", data=old_body, headers=gitlab("Push Hook")).status_code == 202
    _run_queue(client)
    new_body = matching(published("gitlab/push.json"), new)
    assert client.post("/webhook", data=new_body, headers=gitlab("Push Hook")).status_code == 202
    _run_queue(client)
    resp = client.post("/webhook", data=old_body, headers=gitlab("Push Hook"))
    assert resp.status_code == 202 and resp.json["status"] == "ignored"
    assert "already" in resp.json["reason"]
    assert len(client.store.latest(100)) == 2


def test_replay_of_a_superseded_push_is_ignored(client_for: Callable[..., Any]) -> None:
    client = client_for()
    first, second = random_sha(), random_sha()
    for sha in (first, second):
        body = matching(published("github/push.json"), sha)
        assert client.post("/webhook", data=body, headers=github(body, "push")).status_code == 202
    _run_queue(client)  # the newest wins, the older is superseded
    assert _statuses(client) == [(first, "superseded"), (second, "succeeded")]
    body = matching(published("github/push.json"), first)
    resp = client.post("/webhook", data=body, headers=github(body, "push"))
    assert resp.status_code == 202 and resp.json["status"] == "ignored"
    assert sign_sha256(SECRET, body) not in resp.get_data(as_text=True)


# -- the pipeline's own check, with real git ---------------------------------------------


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


class Origin:
    """A local origin repository plus a deployhook config that deploys it (no app server)."""

    def __init__(self, tmp: Path) -> None:
        self.path = tmp / "origin"
        self.path.mkdir()
        _git(self.path, "init", "-q", "-b", "main")
        self.n = 0
        data = base_config(tmp / "srv")
        data["app"]["git_url"] = str(self.path)
        self.config: Config = config_from_dict(data, {"DEPLOYHOOK_SECRET": SECRET}, base_dir=tmp)

    def commit(self) -> str:
        self.n += 1
        (self.path / "VERSION").write_text(str(self.n))
        _git(self.path, "add", "-A")
        _git(self.path, "commit", "-q", "-m", f"v{self.n}")
        return _git(self.path, "rev-parse", "HEAD")

    def deploy(self, sha: str, trigger: str = "webhook") -> tuple[str, str]:
        store = Store(self.config.database_url, self.config.app_name)
        try:
            store.enqueue(commit_sha=sha, ref="refs/heads/main", trigger=trigger)
            done = Worker(store, self.config, ReleasePipeline(self.config)).run_once()
            assert done is not None
            return done.status, done.reason
        finally:
            store.close()

    def live(self) -> str:
        return (self.config.deploy_to / "current" / "REVISION").read_text().strip()


@pytest.fixture
def origin(tmp_path: Path) -> Origin:
    return Origin(tmp_path)


def test_pipeline_refuses_a_webhook_commit_behind_the_live_one(origin: Origin) -> None:
    old = origin.commit()
    assert origin.deploy(old)[0] == "succeeded"
    new = origin.commit()
    assert origin.deploy(new)[0] == "succeeded"
    status, reason = origin.deploy(old)  # a replay that got past the receiver
    assert status == "superseded", reason
    assert "not the tip" in reason and origin.live() == new
    # The operator may still go back on purpose.
    assert origin.deploy(old, trigger="manual")[0] == "succeeded"
    assert origin.live() == old


def test_pipeline_allows_a_webhook_commit_ahead_of_live_but_behind_the_tip(
    origin: Origin,
) -> None:
    live = origin.commit()
    assert origin.deploy(live)[0] == "succeeded"
    middle = origin.commit()
    origin.commit()  # pushed right after; its own webhook will follow
    assert origin.deploy(middle) == ("succeeded", "")
    assert origin.live() == middle
    status, reason = origin.deploy(middle)
    assert status == "superseded" and "already live" in reason
