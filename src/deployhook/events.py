"""Turn a verified webhook into a decision: deploy this commit, answer a ping, or ignore.

Each provider gets its own small parser because each names things its own way (GitLab's
repository lives in ``project.path_with_namespace``, its pusher in ``user_username``, its
resend key in ``Idempotency-Key``). All of them yield the same typed :class:`PushEvent`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .config import valid_ref

# 40 hex (SHA-1 repositories) or 64 hex (SHA-256 repositories), lowercase. ``\Z`` rather than
# ``$``: "$" also matches before a trailing newline, and then "<sha>\n" would pass.
SHA_RE = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?\Z")
ZERO_SHA = "0" * 40
# Delivery ids are opaque, but printable ASCII of sane length, or not used at all.
_DELIVERY_RE = re.compile(r"[\x21-\x7e]{1,200}")
_EVENT_RE = re.compile(r"[A-Za-z0-9_ .-]{1,64}")

# The provider's own event header decides who sent a request. Gitea also sends GitHub's and
# Gogs' headers, and Forgejo also sends Gitea's, so the most specific one is looked at first.
EVENT_HEADERS = (
    ("forgejo", "X-Forgejo-Event"),
    ("gitea", "X-Gitea-Event"),
    ("gogs", "X-Gogs-Event"),
    ("gitlab", "X-Gitlab-Event"),
    ("github", "X-GitHub-Event"),
)
# The header each provider keeps the same when it sends a delivery again. GitLab keeps
# Idempotency-Key across retries and "Resend request"; its event UUID is new each time, so
# it is only a fallback for GitLab versions before Idempotency-Key existed.
DELIVERY_HEADERS = {
    "github": ("X-GitHub-Delivery",),
    "gitea": ("X-Gitea-Delivery",),
    "forgejo": ("X-Forgejo-Delivery",),
    "gogs": ("X-Gogs-Delivery",),
    "gitlab": ("Idempotency-Key", "X-Gitlab-Event-UUID"),
}
_GITLAB_EVENTS = {"Push Hook": "push", "Tag Push Hook": "tag_push", "System Hook": "system"}
# Without any event header, the signature header tells who claims to have signed.
_SIGNATURE_HINTS = (
    ("forgejo", "X-Forgejo-Signature"),
    ("gitea", "X-Gitea-Signature"),
    ("gogs", "X-Gogs-Signature"),
    ("gitlab", "X-Gitlab-Token"),
    ("github", "X-Hub-Signature-256"),
    ("github", "X-Hub-Signature"),
)


class Ignored(Exception):
    """A verified delivery that must not deploy; the message says why."""


@dataclass(frozen=True)
class PushEvent:
    """A push as any provider describes it, every field validated."""

    provider: str
    repository: str
    ref: str
    branch: str
    sha: str
    pusher: str
    message: str
    delivery_key: str | None


@dataclass(frozen=True)
class Decision:
    """What the receiver should do; ``push`` is set only for a deployable push."""

    kind: str  # "ping", "push" or "ignored"
    reason: str = ""
    push: PushEvent | None = None


def is_sha(value: Any) -> bool:
    """True for a full commit id: 40 or 64 lowercase hex characters, nothing else."""
    return isinstance(value, str) and SHA_RE.match(value) is not None


def detect_provider(headers: Mapping[str, str], allowed: tuple[str, ...]) -> str | None:
    """The provider named by the request's own event header (or, lacking one, its signature
    header), if the config accepts it."""
    for provider, header in (*EVENT_HEADERS, *_SIGNATURE_HINTS):
        if header in headers:
            return provider if provider in allowed else None
    return None


def event_name(provider: str, headers: Mapping[str, str]) -> str:
    """Normalised event name: GitLab's "Push Hook" becomes "push"."""
    header = dict(EVENT_HEADERS)[provider]
    raw = headers.get(header, "").strip()
    if not _EVENT_RE.fullmatch(raw):
        return ""
    if provider == "gitlab":
        return _GITLAB_EVENTS.get(raw, raw.lower())
    return raw.lower()


def delivery_id(provider: str, headers: Mapping[str, str]) -> str | None:
    """The id the provider keeps when it redelivers, used to answer replays "already received"."""
    for header in DELIVERY_HEADERS[provider]:
        value = headers.get(header, "").strip()
        if _DELIVERY_RE.fullmatch(value):
            return value
    return None


def _text(value: Any, limit: int = 500) -> str:
    """A display string from untrusted JSON: text only, no NULs or lone surrogates (which
    PostgreSQL refuses), capped."""
    if not isinstance(value, str):
        return ""
    clean = value.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")
    return clean[:limit]


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _last_message(payload: dict[str, Any], sha: str) -> str:
    head = _obj(payload.get("head_commit"))
    if head.get("message"):
        return _text(head["message"])
    listed = payload.get("commits")
    commits = [c for c in listed if isinstance(c, dict)] if isinstance(listed, list) else []
    if not commits:
        return ""
    matching = [c for c in commits if c.get("id") == sha]
    return _text((matching or commits)[-1].get("message"))


def _deleted(payload: dict[str, Any], after: Any) -> bool:
    return payload.get("deleted") is True or (isinstance(after, str) and set(after) == {"0"})


def parse_github(payload: dict[str, Any]) -> tuple[str, Any, Any, bool, str, str]:
    """GitHub: repository.full_name, after, pusher.name, head_commit.message."""
    after = payload.get("after")
    pusher = _obj(payload.get("pusher"))
    name = _text(pusher.get("name") or pusher.get("login"), 100)
    full_name = _obj(payload.get("repository")).get("full_name")
    message = _last_message(payload, after) if isinstance(after, str) else ""
    return full_name, payload.get("ref"), after, _deleted(payload, after), name, message


def parse_gitea(payload: dict[str, Any]) -> tuple[str, Any, Any, bool, str, str]:
    """Gitea, Forgejo and Gogs: GitHub's shape, with the pusher's login as its name."""
    full_name, ref, after, deleted, _, message = parse_github(payload)
    pusher = _obj(payload.get("pusher"))
    name = _text(pusher.get("login") or pusher.get("username") or pusher.get("name"), 100)
    return full_name, ref, after, deleted, name, message


def parse_gitlab(payload: dict[str, Any]) -> tuple[str, Any, Any, bool, str, str]:
    """GitLab: project.path_with_namespace, checkout_sha (the branch head after the push),
    user_username, and the pushed commit's message."""
    after = payload.get("after")
    checkout = payload.get("checkout_sha")
    sha = checkout if checkout is not None else after
    full_name = _obj(payload.get("project")).get("path_with_namespace")
    pusher = _text(payload.get("user_username") or payload.get("user_name"), 100)
    deleted = _deleted(payload, after) or (checkout is None and "checkout_sha" in payload)
    message = _last_message(payload, sha) if isinstance(sha, str) else ""
    return full_name, payload.get("ref"), sha, deleted, pusher, message


PARSERS: dict[str, Callable[[dict[str, Any]], tuple[str, Any, Any, bool, str, str]]] = {
    "github": parse_github,
    "gitea": parse_gitea,
    "forgejo": parse_gitea,
    "gogs": parse_gitea,
    "gitlab": parse_gitlab,
}


def parse_push(
    provider: str, payload: Any, *, repository: str, branch: str, delivery: str | None
) -> PushEvent:
    """The push as a PushEvent, or :class:`Ignored` saying why it must not deploy."""
    if not isinstance(payload, dict):
        raise Ignored("push payload is not a JSON object")
    full_name, ref, sha, deleted, pusher, message = PARSERS[provider](payload)
    if not isinstance(full_name, str) or full_name.lower() != repository.lower():
        raise Ignored("push to another repository")
    if not isinstance(ref, str):
        raise Ignored("push without a ref")
    if ref.startswith("refs/tags/"):
        raise Ignored("tag push")
    # Exact match against the configured (validated) branch, so refs carrying "../", shell
    # metacharacters or a trailing newline can never select a deploy.
    if not valid_ref(ref) or ref != f"refs/heads/{branch}":
        raise Ignored("push to another branch")
    if deleted:
        raise Ignored("branch deletion")
    if not is_sha(sha):
        raise Ignored("push without a valid commit sha (40 or 64 lowercase hex)")
    return PushEvent(provider, full_name, ref, branch, sha, pusher, message, delivery)


def decide(
    provider: str,
    event: str,
    payload: Any,
    *,
    repository: str,
    branch: str,
    delivery: str | None = None,
) -> Decision:
    """Apply the filters: other repos, branches, tags, deletions and events are ignored."""
    if event == "ping":
        return Decision("ping", "pong")
    if event == "tag_push":
        return Decision("ignored", "tag push")
    if event != "push":
        return Decision("ignored", f"event {event or '(none)'!r} does not deploy")
    try:
        push = parse_push(
            provider, payload, repository=repository, branch=branch, delivery=delivery
        )
    except Ignored as why:
        return Decision("ignored", str(why))
    return Decision("push", "queued", push)
