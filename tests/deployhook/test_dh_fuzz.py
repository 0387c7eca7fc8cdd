"""Bounded Hypothesis fuzz of POST /webhook. Never a 500, never a
deploy for anything but an exact push to the configured branch, nothing reaches a process."""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dh_helpers import (
    BRANCH,
    REPO,
    SECRET,
    TOKEN,
    base_config,
    github_request,
    push_payload,
    random_sha,
    sign256,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deployhook.config import config_from_dict
from deployhook.events import is_sha
from deployhook.store import Store
from deployhook.web import create_app

HOSTILE = [
    "; rm -rf /",
    "$(touch /tmp/pwned)",
    "`id`",
    "| cat /etc/passwd",
    "&& reboot",
    "../",
    "../../etc/passwd",
    "..",
    "\n",
    "\x00",
    "--upload-pack=touch /tmp/x",
    "-c core.sshCommand=id",
    " ",
    "%2e%2e%2f",
    "main.lock",
    "@{-1}",
    "refs/heads/",
    "ü",
    "'\"",
]
text_or_hostile = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=60))
hostile_ref = st.one_of(
    st.builds(lambda s: f"refs/heads/{BRANCH}{s}", st.sampled_from(HOSTILE)),
    st.builds(lambda s: f"refs/heads/{s}{BRANCH}", st.sampled_from(HOSTILE)),
    st.builds(lambda s: f"refs/heads/{s}", text_or_hostile),
    st.builds(lambda s: f"refs/tags/{s}", text_or_hostile),
    text_or_hostile,
    st.integers(),
    st.none(),
    st.lists(st.text(max_size=5), max_size=3),
)
# Header values must be sendable at all (no CR/LF/NUL): hostile, but valid HTTP.
header_text = st.one_of(
    st.sampled_from([h for h in HOSTILE if not any(c in h for c in "\r\n\x00")]),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


class NoProcesses:
    """Any attempt to start a process while the receiver handles a request fails the test."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise AssertionError(f"the receiver tried to start a process: {args!r}")

        monkeypatch.setattr(subprocess.Popen, "__init__", refuse)
        monkeypatch.setattr("os.system", refuse)
        monkeypatch.setattr("os.posix_spawn", refuse)


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = config_from_dict(
            base_config(Path(tmp), server={"rate_limit": "100000/minute", "max_body_bytes": 65536}),
            {"DEPLOYHOOK_SECRET": SECRET, "DEPLOYHOOK_OPERATOR_TOKEN": TOKEN},
        )
        store = Store(cfg.database_url, cfg.app_name)
        app = create_app(cfg, store=store, worker=None)
        c = app.test_client()
        c.store = store
        yield c
        store.close()


def _count(client: Any) -> int:
    return len(client.store.latest(200))


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    headers=st.dictionaries(
        st.sampled_from(
            [
                "X-Hub-Signature-256",
                "X-Hub-Signature",
                "X-Gitea-Signature",
                "X-Gitlab-Token",
                "X-GitHub-Event",
                "X-GitHub-Delivery",
                "Content-Type",
                "X-Gogs-Signature",
            ]
        ),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=80),
        max_size=6,
    ),
    body=st.binary(max_size=2048),
)
def test_random_unsigned_requests(
    client: Any, monkeypatch: pytest.MonkeyPatch, headers: dict[str, str], body: bytes
) -> None:
    NoProcesses(monkeypatch)
    before = _count(client)
    resp = client.post("/webhook", data=body, headers=headers)
    assert resp.status_code in (403, 413), resp.status_code
    assert _count(client) == before


@settings(
    max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    ref=hostile_ref,
    after=st.one_of(st.sampled_from(HOSTILE), st.text(max_size=45), st.integers(), st.none()),
    repo=st.one_of(st.just(REPO), text_or_hostile),
    event=st.one_of(st.just("push"), st.just("ping"), header_text),
    extra=st.dictionaries(
        st.sampled_from(["deleted", "pusher", "head_commit", "commits"]), json_values
    ),
    as_list=st.booleans(),
)
def test_signed_hostile_payloads_never_deploy(
    client: Any,
    monkeypatch: pytest.MonkeyPatch,
    ref: Any,
    after: Any,
    repo: Any,
    event: str,
    extra: dict[str, Any],
    as_list: bool,
) -> None:
    NoProcesses(monkeypatch)
    payload: Any = push_payload(repo=repo)
    payload.update(extra, ref=ref, after=after)
    if as_list:
        payload = [payload]
    body = json.dumps(payload).encode()
    headers = {
        "X-GitHub-Event": event,
        "X-Hub-Signature-256": sign256(body),
        "Content-Type": "application/json",
    }
    before = _count(client)
    resp = client.post("/webhook", data=body, headers=headers)
    assert resp.status_code in (200, 202), (resp.status_code, resp.data[:200])
    if event.strip().lower() == "ping":
        assert resp.json["status"] == "pong"
    deployable = (
        not as_list
        and event.strip().lower() == "push"  # header names/values are case-folded/stripped
        and repo == REPO
        and ref == f"refs/heads/{BRANCH}"
        and isinstance(after, str)
        and is_sha(after)
        and after != "0" * 40
        and extra.get("deleted") is not True
    )
    assert (_count(client) == before + 1) is deployable
    assert (resp.json["status"] == "queued") is deployable


@pytest.mark.parametrize("commits", [5, 2.5, True, "abc", {"id": "x"}])
def test_a_push_whose_commits_is_no_list_deploys_without_a_message(
    client: Any, monkeypatch: pytest.MonkeyPatch, commits: Any
) -> None:
    """Without a head_commit the message is read from `commits`; a value of another shape
    there means no message, not a 500 (found by the hostile-payload test above)."""
    NoProcesses(monkeypatch)
    body, headers = github_request(push_payload(head_commit=None, commits=commits))
    before = _count(client)
    resp = client.post("/webhook", data=body, headers=headers)
    assert resp.status_code in (200, 202), (resp.status_code, resp.data[:200])
    assert resp.json["status"] == "queued" and _count(client) == before + 1


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(message=text_or_hostile, pusher=text_or_hostile)
def test_hostile_text_fields_are_stored_as_data_and_escaped(
    client: Any, monkeypatch: pytest.MonkeyPatch, message: str, pusher: str
) -> None:
    NoProcesses(monkeypatch)
    sha = random_sha()  # a commit already received is (rightly) never queued again
    payload = push_payload(sha)
    payload["head_commit"]["message"] = "<script>alert(1)</script>" + message
    payload["pusher"]["name"] = pusher
    body = json.dumps(payload).encode()
    headers = {
        "X-GitHub-Event": "push",
        "X-Hub-Signature-256": sign256(body),
        "Content-Type": "application/json",
    }
    resp = client.post("/webhook", data=body, headers=headers)
    assert resp.status_code == 202
    deploy = client.store.get(resp.json["deploy_id"])
    assert deploy.commit_sha == sha and deploy.ref == f"refs/heads/{BRANCH}"
    page = client.get(f"/deploys/{deploy.id}", headers={"Authorization": f"Bearer {TOKEN}"})
    assert page.status_code == 200
    assert "<script>alert(1)" not in page.get_data(as_text=True)


# -- parsed fields, on both stores ----------------------------------------------------------
hexchars = "0123456789abcdef"
near_sha = st.one_of(
    st.text(alphabet=hexchars, min_size=40, max_size=40),
    st.text(alphabet=hexchars, min_size=64, max_size=64),
    st.builds(
        lambda s, tail: s + tail,
        st.text(alphabet=hexchars, min_size=40, max_size=40),
        st.sampled_from(["\n", "\r\n", " ", "\x00", "A", "0"]),
    ),
    st.text(alphabet=hexchars + "ABCDEF\n", min_size=39, max_size=65),
)
wild_text = st.text(max_size=300)  # any code point: NUL, lone surrogates, RTL marks...
providers = st.sampled_from(["github", "gitea", "gitlab"])


def _signed_request(provider: str, payload: dict[str, Any], delivery: str, event: str) -> Any:
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if provider == "github":
        headers.update({"X-GitHub-Event": event, "X-GitHub-Delivery": delivery})
        headers["X-Hub-Signature-256"] = sign256(body)
    elif provider == "gitea":
        headers.update({"X-Gitea-Event": event, "X-Gitea-Delivery": delivery})
        headers["X-Gitea-Signature"] = sign256(body).removeprefix("sha256=")
    else:
        headers.update({"X-Gitlab-Event": "Push Hook" if event == "push" else event})
        headers.update({"X-Gitlab-Token": SECRET, "Idempotency-Key": delivery})
    return body, headers


@pytest.fixture
def store_client(db_url: str) -> Iterator[Any]:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = config_from_dict(
            base_config(Path(tmp), server={"rate_limit": "100000/minute", "database_url": db_url}),
            {"DEPLOYHOOK_SECRET": SECRET},
        )
        store = Store(cfg.database_url, cfg.app_name)
        client = create_app(cfg, store=store, worker=None).test_client()
        client.store = store
        yield client
        store.close()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    provider=providers,
    sha=near_sha,
    pusher=wild_text,
    message=wild_text,
    delivery=st.one_of(header_text, st.text(alphabet="abc-", min_size=1, max_size=300)),
    event=st.one_of(st.just("push"), header_text),
)
def test_parsed_fields_never_500_on_either_store(
    store_client: Any,
    provider: str,
    sha: str,
    pusher: str,
    message: str,
    delivery: str,
    event: str,
) -> None:
    if provider == "gitlab":
        payload: dict[str, Any] = {
            "object_kind": "push",
            "ref": f"refs/heads/{BRANCH}",
            "after": sha,
            "checkout_sha": sha,
            "user_username": pusher,
            "project": {"path_with_namespace": REPO},
            "commits": [{"id": sha, "message": message}],
        }
    else:
        payload = push_payload(sha)
        payload["pusher"] = {"name": pusher, "login": pusher}
        payload["head_commit"]["message"] = message
    body, headers = _signed_request(provider, payload, delivery, event)
    before = len(store_client.store.latest(500))
    resp = store_client.post("/webhook", data=body, headers=headers)
    assert resp.status_code in (200, 202), (resp.status_code, resp.data[:300])
    if resp.json.get("status") == "queued":
        assert is_sha(sha) and event.strip() == "push"
        deploy = store_client.store.get(resp.json["deploy_id"])
        assert deploy.commit_sha == sha and deploy.provider == provider
        assert "\x00" not in deploy.pusher + deploy.message
        assert len(store_client.store.latest(500)) == before + 1
    else:
        assert len(store_client.store.latest(500)) == before
