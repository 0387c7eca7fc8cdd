"""POST /webhook: events and filters, replays, limits, malformed bodies, response time."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from dh_helpers import BRANCH, REPO, SECRET, github_request, push_payload, random_sha, sign256

from deployhook.signatures import sign_sha256
from deployhook.store import Deploy


def _deploys(client: Any) -> list[Deploy]:
    return client.store.latest(100)


def test_ping_answers_200(client_for: Callable[..., Any]) -> None:
    client = client_for()
    body, headers = github_request({"zen": "hi", "hook_id": 1}, event="ping")
    resp = client.post("/webhook", data=body, headers=headers)
    assert resp.status_code == 200
    assert resp.json["status"] == "pong"
    assert _deploys(client) == []


def test_push_is_queued_with_id_and_status_url_at_once(
    client_for: Callable[..., Any],
) -> None:
    client = client_for()
    sha = random_sha()
    body, headers = github_request(push_payload(sha))
    start = time.perf_counter()
    resp = client.post("/webhook", data=body, headers=headers)
    elapsed = time.perf_counter() - start
    assert resp.status_code == 202, resp.json
    assert resp.json["status"] == "queued" and resp.json["commit"] == sha
    deploy_id = resp.json["deploy_id"]
    assert resp.json["status_url"].endswith(f"/api/deploys/{deploy_id}")
    # The worker is not running here, so the answer cannot have waited on a deploy; the
    # generous bound only catches a receiver that starts git or the tests itself.
    assert elapsed < 5, elapsed
    (deploy,) = _deploys(client)
    assert (deploy.id, deploy.status, deploy.commit_sha) == (deploy_id, "queued", sha)
    assert deploy.pusher == "octocat" and deploy.message == "Fix the widget"
    assert deploy.ref == f"refs/heads/{BRANCH}" and deploy.repository == REPO


def _ignored(client: Any, payload: Any, event: str = "push") -> str:
    body, headers = github_request(payload, event=event)
    resp = client.post("/webhook", data=body, headers=headers)
    assert resp.status_code == 202, resp.json
    assert resp.json["status"] == "ignored"
    return resp.json["reason"]


def test_filters_start_nothing(client_for: Callable[..., Any]) -> None:
    client = client_for()
    assert "branch" in _ignored(client, push_payload(ref="refs/heads/feature"))
    assert "tag" in _ignored(client, push_payload(ref="refs/tags/v1.0"))
    assert "deletion" in _ignored(client, push_payload(sha="0" * 40, deleted=True))
    assert "repository" in _ignored(client, push_payload(repo="evil/widget"))
    assert "does not deploy" in _ignored(client, {"action": "opened"}, event="pull_request")
    assert "sha" in _ignored(client, push_payload(sha="abc; rm -rf /"))
    assert "sha" in _ignored(client, push_payload(sha="A" * 40))
    for ref in (
        f"refs/heads/{BRANCH}; touch /tmp/pwned",
        f"refs/heads/../../{BRANCH}",
        f"refs/heads/{BRANCH}/../x",
        f"refs/heads/$({BRANCH})",
        f"refs/heads/{BRANCH}\n",
    ):
        assert "branch" in _ignored(client, push_payload(ref=ref))
    assert _deploys(client) == []


def test_replayed_delivery_is_not_deployed_again(client_for: Callable[..., Any]) -> None:
    client = client_for()
    body, headers = github_request(push_payload(), delivery="d-1")
    assert client.post("/webhook", data=body, headers=headers).status_code == 202
    again = client.post("/webhook", data=body, headers=headers)
    assert again.status_code == 200
    assert again.json["status"] == "already received"
    assert len(_deploys(client)) == 1
    ping, ping_headers = github_request({"zen": "x"}, event="ping", delivery="d-2")
    assert client.post("/webhook", data=ping, headers=ping_headers).status_code == 200
    assert client.post("/webhook", data=ping, headers=ping_headers).json["status"] == (
        "already received"
    )


def test_wrong_or_missing_signature_is_403_and_says_nothing(
    client_for: Callable[..., Any],
) -> None:
    client = client_for()
    body, headers = github_request(push_payload(), secret="not the secret")
    resp = client.post("/webhook", data=body, headers=headers)
    assert resp.status_code == 403
    assert resp.json == {"error": "forbidden"}
    assert sign_sha256(SECRET, body) not in resp.get_data(as_text=True)
    del headers["X-Hub-Signature-256"]
    resp = client.post("/webhook", data=body, headers=headers)
    assert resp.status_code == 403 and resp.json == {"error": "forbidden"}
    assert _deploys(client) == []


def test_body_over_limit_is_413(client_for: Callable[..., Any]) -> None:
    client = client_for(server={"max_body_bytes": 2048})
    body, headers = github_request(push_payload(padding="x" * 4096))
    assert client.post("/webhook", data=body, headers=headers).status_code == 413
    assert _deploys(client) == []


def test_malformed_json_after_valid_signature_is_400(client_for: Callable[..., Any]) -> None:
    client = client_for()
    for raw in (b"{not json", b"\xff\xfe", b"[" * 100_000):
        body, headers = github_request(raw)
        resp = client.post("/webhook", data=body, headers=headers)
        assert resp.status_code == 400, raw[:10]
        assert resp.json == {"error": "malformed payload"}


def test_malformed_json_with_bad_signature_is_403_not_400(client_for: Callable[..., Any]) -> None:
    client = client_for()
    headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + "0" * 64}
    assert client.post("/webhook", data=b"{not json", headers=headers).status_code == 403


def test_rate_limit_per_source_address(client_for: Callable[..., Any]) -> None:
    client = client_for(server={"rate_limit": "3/minute"})
    body, headers = github_request({"zen": "x"}, event="ping")
    codes = [
        client.post(
            "/webhook", data=body, headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.1"}
        ).status_code
        for _ in range(5)
    ]
    assert codes[:1] == [200] and codes[3:] == [429, 429]
    other = client.post(
        "/webhook", data=body, headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.2"}
    )
    assert other.status_code == 200  # another address has its own budget


def test_gitea_push_is_queued(client_for: Callable[..., Any]) -> None:
    client = client_for()
    sha = random_sha()
    payload = push_payload(sha, pusher={"login": "gitea-user"})
    body = json.dumps(payload).encode()
    headers = {
        "X-Gitea-Event": "push",
        "X-Gitea-Delivery": "g-1",
        "X-Gitea-Signature": sign_sha256(SECRET, body),
        "Content-Type": "application/json",
    }
    resp = client.post("/webhook", data=body, headers=headers)
    assert resp.status_code == 202
    (deploy,) = _deploys(client)
    assert deploy.provider == "gitea" and deploy.pusher == "gitea-user"


def test_gitlab_push_is_queued(client_for: Callable[..., Any]) -> None:
    client = client_for()
    sha = random_sha()
    payload = {
        "object_kind": "push",
        "ref": f"refs/heads/{BRANCH}",
        "after": "1" * 40,
        "checkout_sha": sha,
        "user_username": "gl-user",
        "project": {"path_with_namespace": REPO},
        "commits": [{"id": sha, "message": "From GitLab"}],
    }
    payload["after"] = sha
    headers = {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": SECRET, "X-Gitlab-Event-UUID": "u1"}
    resp = client.post("/webhook", json=payload, headers=headers)
    assert resp.status_code == 202, resp.json
    (deploy,) = _deploys(client)
    assert (deploy.provider, deploy.pusher, deploy.message) == ("gitlab", "gl-user", "From GitLab")
    wrong = dict(headers, **{"X-Gitlab-Token": "guess", "X-Gitlab-Event-UUID": "u2"})
    assert client.post("/webhook", json=payload, headers=wrong).status_code == 403


def test_form_encoded_github_payload(client_for: Callable[..., Any]) -> None:
    client = client_for()
    body = ("payload=" + quote(json.dumps(push_payload()))).encode()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": "f-1",
        "X-Hub-Signature-256": sign256(body),
    }
    assert client.post("/webhook", data=body, headers=headers).status_code == 202


def test_sha1_legacy_header_follows_config(client_for: Callable[..., Any]) -> None:
    import hashlib
    import hmac

    body, headers = github_request({"zen": "x"}, event="ping")
    del headers["X-Hub-Signature-256"]
    headers["X-Hub-Signature"] = "sha1=" + hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()
    assert client_for().post("/webhook", data=body, headers=headers).status_code == 403
    allowed = client_for(server={"allow_sha1": True})
    assert allowed.post("/webhook", data=body, headers=headers).status_code == 200


def test_webhook_needs_no_operator_login_and_get_is_405(client_for: Callable[..., Any]) -> None:
    client = client_for()
    assert client.get("/webhook").status_code == 405
    body, headers = github_request({"zen": "x"}, event="ping")
    assert client.post("/webhook", data=body, headers=headers).status_code == 200


def test_gitlab_resend_keeps_idempotency_key_and_is_not_deployed_again(
    client_for: Callable[..., Any],
) -> None:
    client = client_for()
    sha = random_sha()
    payload = {
        "object_kind": "push",
        "ref": f"refs/heads/{BRANCH}",
        "after": sha,
        "checkout_sha": sha,
        "user_username": "gl-user",
        "project": {"path_with_namespace": REPO},
        "commits": [{"id": sha, "message": "From GitLab"}],
    }
    first = {
        "X-Gitlab-Event": "Push Hook",
        "X-Gitlab-Token": SECRET,
        "X-Gitlab-Event-UUID": "event-uuid-1",
        "Idempotency-Key": "idem-1",
    }
    assert client.post("/webhook", json=payload, headers=first).status_code == 202
    # GitLab's "Resend request": a new event UUID, the same Idempotency-Key.
    resend = dict(first, **{"X-Gitlab-Event-UUID": "event-uuid-2"})
    again = client.post("/webhook", json=payload, headers=resend)
    assert again.status_code == 200, again.json
    assert again.json["status"] == "already received"
    assert len(_deploys(client)) == 1


def test_sha_or_ref_with_trailing_newline_is_ignored(client_for: Callable[..., Any]) -> None:
    client = client_for()
    genuine = random_sha()
    body, headers = github_request(push_payload(genuine))
    assert client.post("/webhook", data=body, headers=headers).status_code == 202
    for sha in (random_sha() + "\n", random_sha() + "\r\n", " " + random_sha()):
        resp = client.post(
            "/webhook", data=(b := github_request(push_payload(sha)))[0], headers=b[1]
        )
        assert resp.status_code == 202, resp.json
        assert resp.json["status"] == "ignored" and "sha" in resp.json["reason"]
    (deploy,) = _deploys(client)
    assert deploy.commit_sha == genuine and deploy.status == "queued"


def test_valid_branch_refuses_trailing_newline() -> None:
    from deployhook.config import valid_branch

    assert valid_branch("main") and not valid_branch("main\n") and not valid_branch("main\r")


def test_only_json_or_form_content_types_are_accepted(client_for: Callable[..., Any]) -> None:
    client = client_for()
    body, headers = github_request(push_payload())
    for content_type in (
        "text/plain",
        "application/xml",
        "multipart/form-data; boundary=x",
        "application/json-patch+json",
        None,
    ):
        sent = dict(headers)
        if content_type is None:
            del sent["Content-Type"]
        else:
            sent["Content-Type"] = content_type
        resp = client.post("/webhook", data=body, headers=sent)
        assert resp.status_code == 415, (content_type, resp.status_code)
        assert resp.mimetype == "application/problem+json"
        assert resp.json["status"] == 415 and "application/json" in resp.json["detail"]
    assert _deploys(client) == []
    for content_type in ("application/json; charset=utf-8", "Application/JSON"):
        sent = dict(headers, **{"Content-Type": content_type})
        sent["X-GitHub-Delivery"] = content_type
        sha = random_sha()
        body, sent_headers = github_request(push_payload(sha), delivery=content_type)
        sent_headers["Content-Type"] = content_type
        assert client.post("/webhook", data=body, headers=sent_headers).status_code == 202


def test_form_delivery_without_payload_field_is_400(client_for: Callable[..., Any]) -> None:
    client = client_for()
    body = b"other=1"
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-GitHub-Event": "push",
        "X-Hub-Signature-256": sign256(body),
    }
    resp = client.post("/webhook", data=body, headers=headers)
    assert resp.status_code == 400
    assert _deploys(client) == []


def test_forwarded_host_is_ignored_unless_trusted(client_for: Callable[..., Any]) -> None:
    headers_extra = {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}
    client = client_for(server={"trust_proxy": 1})
    body, headers = github_request(push_payload())
    resp = client.post("/webhook", data=body, headers={**headers, **headers_extra})
    assert resp.status_code == 202
    assert resp.json["status_url"].startswith("https://localhost/")
    trusting = client_for(
        server={"trust_proxy": 1, "trust_proxy_headers": ["for", "proto", "host"]}
    )
    body, headers = github_request(push_payload())
    resp = trusting.post("/webhook", data=body, headers={**headers, **headers_extra})
    assert resp.json["status_url"].startswith("https://evil.example/")


def test_git_url_credentials_are_masked_on_dashboard_and_api(
    client_for: Callable[..., Any],
) -> None:
    from dh_helpers import TOKEN

    from deployhook.runner import StepLogger

    url = "https://deploy-bot:ghp_s3cr3tT0ken@git.example.com/acme/widget.git"
    client = client_for(app={"git_url": url})
    body, headers = github_request(push_payload())
    deploy_id = client.post("/webhook", data=body, headers=headers).json["deploy_id"]
    steps = StepLogger(client.store, deploy_id, 4096)
    steps.run("fetch", ["echo", "fetch", url], timeout=10)
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    for page in ("/", f"/deploys/{deploy_id}", "/api/deploys", f"/api/deploys/{deploy_id}"):
        text = client.get(page, headers=bearer).get_data(as_text=True)
        assert "ghp_s3cr3tT0ken" not in text and "deploy-bot" not in text, page
    shown = client.get(f"/api/deploys/{deploy_id}", headers=bearer).json
    assert shown["steps"][0]["command"][-1] == "https://***@git.example.com/acme/widget.git"
    assert "https://***@git.example.com/acme/widget.git" in shown["steps"][0]["output"]


def test_database_refusing_the_write_is_503_not_500(
    client_for: Callable[..., Any], monkeypatch: Any
) -> None:
    from sqlalchemy.exc import DataError

    client = client_for()

    def refuse(*args: Any, **kwargs: Any) -> Any:
        # What PostgreSQL says when a 64-hex sha meets a varchar(40) column of an old schema.
        raise DataError("INSERT", {}, Exception("value too long for type character varying(40)"))

    monkeypatch.setattr(client.store, "record_delivery", refuse)
    body, headers = github_request(push_payload("ab" * 32))
    resp = client.post("/webhook", data=body, headers=headers)
    assert resp.status_code == 503 and resp.mimetype == "application/problem+json"
    assert "nothing was queued" in resp.json["detail"]
    monkeypatch.undo()
    assert _deploys(client) == []
