"""Conformance: the providers' own published payloads, sent with the headers their sender code
sets and signed the way each provider signs. Only repository name, ref and the pushed sha are
changed (in code) so that they match the config under test."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from dh_helpers import BRANCH, REPO, SECRET, random_sha

PAYLOADS = Path(__file__).parent / "payloads"
HEADERS: dict[str, dict[str, str]] = json.loads((PAYLOADS / "headers.json").read_text())


def published(name: str) -> dict[str, Any]:
    """One of the stored example bodies, parsed."""
    return json.loads((PAYLOADS / name).read_text())


def matching(payload: dict[str, Any], sha: str | None = None, ref: str | None = None) -> bytes:
    """The published body with repository, ref and sha pointed at the config under test."""
    data = json.loads(json.dumps(payload))
    if "project" in data:  # GitLab names the repository in project.path_with_namespace
        data["project"]["path_with_namespace"] = REPO
    else:
        data["repository"]["full_name"] = REPO
    data["ref"] = ref or f"refs/heads/{BRANCH}"
    if sha is not None:
        data["after"] = sha
        if "checkout_sha" in data:
            data["checkout_sha"] = sha
    return json.dumps(data, indent=2).encode()


def _hmac(body: bytes, algo: Any = hashlib.sha256) -> str:
    return hmac.new(SECRET.encode(), body, algo).hexdigest()


def github(body: bytes, event: str, delivery: str | None = None) -> dict[str, str]:
    """GitHub's delivery headers; GitHub sends both signature headers."""
    headers = dict(HEADERS["github"])
    headers["X-GitHub-Event"] = event
    headers["X-GitHub-Delivery"] = delivery or str(uuid.uuid4())
    headers["X-Hub-Signature-256"] = "sha256=" + _hmac(body)
    headers["X-Hub-Signature"] = "sha1=" + _hmac(body, hashlib.sha1)
    return headers


def gitea(payload: bytes, event: str, delivery: str | None = None) -> dict[str, str]:
    """Gitea's header set: its own, Gogs' and GitHub's copies, all signed over the JSON."""
    delivery = delivery or str(uuid.uuid4())
    headers = dict(HEADERS["gitea"])
    for prefix in ("X-Gitea", "X-Gogs", "X-GitHub"):
        headers[f"{prefix}-Delivery"] = delivery
        headers[f"{prefix}-Event"] = event
        headers[f"{prefix}-Event-Type"] = event
    headers["X-Gitea-Signature"] = headers["X-Gogs-Signature"] = _hmac(payload)
    headers["X-Hub-Signature"] = "sha1=" + _hmac(payload, hashlib.sha1)
    headers["X-Hub-Signature-256"] = "sha256=" + _hmac(payload)
    return headers


def gitlab(event: str, idempotency_key: str | None = None) -> dict[str, str]:
    """GitLab's header set: a fresh event and webhook UUID per request, a kept Idempotency-Key."""
    headers = dict(HEADERS["gitlab"])
    headers["X-Gitlab-Event"] = event
    headers["X-Gitlab-Token"] = SECRET
    headers["Idempotency-Key"] = idempotency_key or str(uuid.uuid4())
    headers["X-Gitlab-Event-UUID"] = str(uuid.uuid4())
    headers["X-Gitlab-Webhook-UUID"] = str(uuid.uuid4())
    return headers


def _post(client: Any, body: bytes, headers: dict[str, str]) -> Any:
    return client.post("/webhook", data=body, headers=headers)


def _count(client: Any) -> int:
    return len(client.store.latest(100))


def test_github_push_deploys_and_redelivery_is_recognised(client_for: Callable[..., Any]) -> None:
    client = client_for()
    sha = random_sha()
    body = matching(published("github/push.json"), sha)
    headers = github(body, "push")
    resp = _post(client, body, headers)
    assert resp.status_code == 202, resp.json
    (deploy,) = client.store.latest(10)
    assert (deploy.provider, deploy.commit_sha, deploy.repository) == ("github", sha, REPO)
    assert (deploy.pusher, deploy.message) == ("Codertocat", "Initial commit")
    assert deploy.delivery_id == headers["X-GitHub-Delivery"]
    # GitHub's "Redeliver" sends the same body with the same X-GitHub-Delivery.
    again = _post(client, body, headers)
    assert again.status_code == 200 and again.json["status"] == "already received"
    assert _count(client) == 1


def test_github_ping_tag_and_branch_deletion(client_for: Callable[..., Any]) -> None:
    client = client_for()
    ping = (PAYLOADS / "github/ping.json").read_bytes()
    resp = _post(client, ping, github(ping, "ping"))
    assert resp.status_code == 200 and resp.json["status"] == "pong"
    tag = matching(published("github/push-tag-deleted.json"), ref="refs/tags/simple-tag")
    resp = _post(client, tag, github(tag, "push"))
    assert resp.status_code == 202 and resp.json["status"] == "ignored"
    assert "tag" in resp.json["reason"]
    branch_deleted = matching(published("github/push-tag-deleted.json"))
    resp = _post(client, branch_deleted, github(branch_deleted, "push"))
    assert resp.status_code == 202 and "deletion" in resp.json["reason"]
    star = json.dumps({"action": "created", "repository": {"full_name": REPO}}).encode()
    resp = _post(client, star, github(star, "star"))
    assert resp.status_code == 202 and "does not deploy" in resp.json["reason"]
    assert _count(client) == 0


def test_gitea_push_deploys_as_gitea_and_replay_is_recognised(
    client_for: Callable[..., Any],
) -> None:
    client = client_for()
    sha = random_sha()
    body = matching(published("gitea/push.json"), sha)
    resp = _post(client, body, gitea(body, "push"))
    assert resp.status_code == 202, resp.json
    (deploy,) = client.store.latest(10)
    assert (deploy.provider, deploy.commit_sha, deploy.pusher) == ("gitea", sha, "gitea")
    assert deploy.message == "Webhooks Yay!"
    # Gitea's "Replay" button copies the body under a brand-new delivery UUID.
    again = _post(client, body, gitea(body, "push"))
    assert again.status_code in (200, 202) and again.json["status"] in (
        "already received",
        "ignored",
    )
    assert _count(client) == 1


def test_gitea_form_delivery_deploys(client_for: Callable[..., Any]) -> None:
    client = client_for()
    payload = matching(published("gitea/push.json"), random_sha())
    body = urlencode({"payload": payload.decode()}).encode()
    headers = gitea(payload, "push")
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    # Gitea signs the JSON it wraps; GitHub signs the form body. Gitea's own header wins.
    resp = _post(client, body, headers)
    assert resp.status_code == 202, resp.json
    assert client.store.latest(1)[0].provider == "gitea"


def test_gitlab_push_deploys_and_resend_is_recognised(client_for: Callable[..., Any]) -> None:
    client = client_for()
    sha = random_sha()
    body = matching(published("gitlab/push.json"), sha)
    headers = gitlab("Push Hook")
    resp = _post(client, body, headers)
    assert resp.status_code == 202, resp.json
    (deploy,) = client.store.latest(10)
    assert (deploy.provider, deploy.commit_sha, deploy.repository) == ("gitlab", sha, REPO)
    assert (deploy.pusher, deploy.message) == ("jsmith", "fixed readme")
    assert deploy.delivery_id == headers["Idempotency-Key"]
    # "Resend request" keeps Idempotency-Key; the event and webhook UUIDs are new.
    resend = gitlab("Push Hook", idempotency_key=headers["Idempotency-Key"])
    again = _post(client, body, resend)
    assert again.status_code == 200 and again.json["status"] == "already received"
    assert _count(client) == 1


def test_gitlab_tag_push_and_other_events_are_ignored(client_for: Callable[..., Any]) -> None:
    client = client_for()
    tag = matching(published("gitlab/tag_push.json"), ref="refs/tags/v1.0.0")
    resp = _post(client, tag, gitlab("Tag Push Hook"))
    assert resp.status_code == 202 and resp.json["status"] == "ignored"
    assert "tag" in resp.json["reason"]
    issue = json.dumps({"object_kind": "issue", "project": {"path_with_namespace": REPO}})
    resp = _post(client, issue.encode(), gitlab("Issue Hook"))
    assert resp.status_code == 202 and "does not deploy" in resp.json["reason"]
    assert _count(client) == 0


def test_gitlab_push_with_wrong_token_is_refused(client_for: Callable[..., Any]) -> None:
    client = client_for()
    body = matching(published("gitlab/push.json"), random_sha())
    headers = dict(gitlab("Push Hook"), **{"X-Gitlab-Token": "guess" * 8})
    assert _post(client, body, headers).status_code == 403
    assert _count(client) == 0
