"""Turn a verified webhook into a decision: deploy this commit, answer a ping, or ignore."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SHA_RE = re.compile(r"^[0-9a-f]{40}$")
ZERO_SHA = "0" * 40

_EVENT_HEADERS = {
    "github": "X-GitHub-Event",
    "gitea": "X-Gitea-Event",
    "forgejo": "X-Forgejo-Event",
    "gogs": "X-Gogs-Event",
    "gitlab": "X-Gitlab-Event",
}
_DELIVERY_HEADERS = {
    "github": ("X-GitHub-Delivery",),
    "gitea": ("X-Gitea-Delivery",),
    "forgejo": ("X-Forgejo-Delivery",),
    "gogs": ("X-Gogs-Delivery",),
    "gitlab": ("X-Gitlab-Event-UUID", "Idempotency-Key"),
}


@dataclass(frozen=True)
class Push:
    """A push to the configured branch, with every field already validated."""

    repository: str
    ref: str
    sha: str
    pusher: str
    message: str


@dataclass(frozen=True)
class Decision:
    """What the receiver should do; ``push`` is set only for a deployable push."""

    kind: str  # "ping", "push" or "ignored"
    reason: str = ""
    push: Push | None = None


def event_name(provider: str, headers: Mapping[str, str]) -> str:
    """Normalised event name: GitLab's "Push Hook" becomes "push"."""
    raw = headers.get(_EVENT_HEADERS[provider], "")
    if provider == "gitlab":
        return {"Push Hook": "push", "System Hook": "system"}.get(raw, raw.lower())
    return raw.lower()


def delivery_id(provider: str, headers: Mapping[str, str]) -> str | None:
    """The provider's unique delivery id, used to refuse replays; capped to keep the DB sane."""
    for header in _DELIVERY_HEADERS[provider]:
        value = headers.get(header)
        if value:
            return value.strip()[:200]
    return None


def _text(value: Any, limit: int = 500) -> str:
    return value[:limit] if isinstance(value, str) else ""


def decide(provider: str, event: str, payload: Any, *, repository: str, branch: str) -> Decision:
    """Apply the filters of the issue: other repos, branches, tags and deletions are ignored."""
    if event == "ping" or (provider == "gitlab" and event == "test"):
        return Decision("ping", "pong")
    if event != "push":
        return Decision("ignored", f"event {event or '(none)'!r} does not deploy")
    if not isinstance(payload, dict):
        return Decision("ignored", "push payload is not a JSON object")
    repo = payload.get("repository") or payload.get("project") or {}
    if not isinstance(repo, dict):
        repo = {}
    full_name = _text(repo.get("full_name") or repo.get("path_with_namespace"), 300)
    if full_name.lower() != repository.lower():
        return Decision("ignored", "push to another repository")
    ref = payload.get("ref")
    if not isinstance(ref, str):
        return Decision("ignored", "push without a ref")
    if ref.startswith("refs/tags/"):
        return Decision("ignored", "tag push")
    # Exact string match against the configured (validated) branch, so refs carrying
    # "../", shell metacharacters or other tricks can never select a deploy.
    if ref != f"refs/heads/{branch}":
        return Decision("ignored", "push to another branch")
    after = payload.get("after") or payload.get("checkout_sha")
    if payload.get("deleted") is True or after == ZERO_SHA:
        return Decision("ignored", "branch deletion")
    if not isinstance(after, str) or not SHA_RE.match(after):
        return Decision("ignored", "push without a valid 40-hex commit sha")
    pusher_obj = payload.get("pusher") or {}
    pusher = ""
    if isinstance(pusher_obj, dict):
        pusher = _text(
            pusher_obj.get("name") or pusher_obj.get("login") or pusher_obj.get("username"), 100
        )
    pusher = pusher or _text(payload.get("user_username") or payload.get("user_name"), 100)
    head = payload.get("head_commit")
    message = _text(head.get("message")) if isinstance(head, dict) else ""
    if not message and isinstance(payload.get("commits"), list) and payload["commits"]:
        last = payload["commits"][-1]
        message = _text(last.get("message")) if isinstance(last, dict) else ""
    return Decision(
        "push",
        "queued",
        Push(repository=full_name, ref=ref, sha=after, pusher=pusher, message=message),
    )
