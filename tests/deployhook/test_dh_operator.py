"""Operator views: disabled without a token, refused without sign-in, HTML and JSON with one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dh_helpers import SECRET, TOKEN, github_request, push_payload, random_sha

from deployhook.runner import StepLogger

BEARER = {"Authorization": f"Bearer {TOKEN}"}
PAGES = ("/", "/api/deploys", "/api/deploys/1", "/deploys/1")


def _queue(client: Any) -> tuple[int, str]:
    sha = random_sha()
    body, headers = github_request(push_payload(sha))
    return client.post("/webhook", data=body, headers=headers).json["deploy_id"], sha


def test_views_disabled_without_token(client_for: Callable[..., Any]) -> None:
    client = client_for(env={"DEPLOYHOOK_SECRET": SECRET})
    for page in PAGES:
        resp = client.get(page, headers=BEARER)
        assert resp.status_code == 404 and "disabled" in resp.json["error"]


def test_views_require_the_token(client_for: Callable[..., Any]) -> None:
    client = client_for()
    _queue(client)
    for page in PAGES:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic !!!"}):
            resp = client.get(page, headers=headers)
            if page.startswith("/api/"):
                assert resp.status_code == 401
                assert "Bearer" in resp.headers["WWW-Authenticate"]
            else:  # a browser is sent to the sign-in form, with the page to come back to
                assert resp.status_code == 303
                assert resp.headers["Location"].startswith("/signin?next=")


def test_dashboard_and_detail(client_for: Callable[..., Any]) -> None:
    client = client_for()
    deploy_id, sha = _queue(client)
    page = client.get("/", headers=BEARER)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert sha[:10] in html and "octocat" in html and "queued" in html
    StepLogger(client.store, deploy_id).run("say hello", ["echo", "hello <b>"])
    detail = client.get(f"/deploys/{deploy_id}", headers=BEARER).get_data(as_text=True)
    assert "say hello" in detail and "hello &lt;b&gt;" in detail  # escaped output
    assert 'data-live="yes"' in detail  # followed live while queued/running
    assert 'http-equiv="refresh"' not in detail  # and never reloaded as a whole
    assert client.get("/deploys/999", headers=BEARER).status_code == 404


def test_json_api(client_for: Callable[..., Any]) -> None:
    client = client_for()
    deploy_id, sha = _queue(client)
    listing = client.get("/api/deploys", headers=BEARER).json["deploys"]
    assert listing[0]["id"] == deploy_id and listing[0]["commit"] == sha
    one = client.get(f"/api/deploys/{deploy_id}", headers=BEARER).json
    assert one["status"] == "queued" and one["steps"] == [] and one["pusher"] == "octocat"
    assert client.get("/api/deploys/999", headers=BEARER).status_code == 404
