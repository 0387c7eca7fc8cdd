"""The operator dashboard: sign-in, session cookie, CSRF on every action, confirmations, the
audit log, pause/resume and cancel, the live-now panel and the releases page."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from dh_helpers import TOKEN, github_request, push_payload, random_sha

from deployhook.store import Deploy, Store

BEARER = {"Authorization": f"Bearer {TOKEN}"}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = _CSRF.search(html)
    assert found, "page has no CSRF field"
    return found.group(1)


def sign_in(client: Any, name: str = "ada", token: str = TOKEN) -> Any:
    """Sign in through the form, as a browser does; returns the response."""
    form = client.get("/signin").get_data(as_text=True)
    return client.post(
        "/signin", data={"csrf_token": csrf_of(form), "name": name, "token": token, "next": "/"}
    )


def signed_in(client_for: Callable[..., Any], **sections: Any) -> tuple[Any, str]:
    """A client with a session, and the session's CSRF token."""
    client = client_for(**sections)
    assert sign_in(client).status_code == 303
    return client, csrf_of(client.get("/").get_data(as_text=True))


def queue_push(client: Any, sha: str | None = None) -> int:
    body, headers = github_request(push_payload(sha or random_sha()))
    return int(client.post("/webhook", data=body, headers=headers).json["deploy_id"])


def action_urls(client: Any, deploy_id: int, release: str = "20260101000000-abcdef1") -> list[str]:
    """Every POST route of the operator blueprint (except sign-in), with its path filled in:
    a new action is covered by the refusal test without anyone remembering to add it."""
    urls = []
    for rule in client.application.url_map.iter_rules():
        if "POST" not in (rule.methods or ()) or not rule.endpoint.startswith("operator."):
            continue
        if rule.endpoint == "operator.signin":
            continue
        urls.append(rule.build({"deploy_id": deploy_id}, append_unknown=False)[1])
    assert len(urls) >= 7, urls  # deploy, redeploy, rollback, cancel, pause, resume, sign-out
    return sorted(urls)


def _state(store: Store) -> tuple[list[tuple[int, str]], bool, int]:
    deploys = [(d.id, d.status) for d in store.latest(100)]
    return deploys, store.is_paused(), len(store.audit_entries())


def test_every_action_is_refused_without_session_or_with_a_bad_csrf_token(
    client_for: Callable[..., Any],
) -> None:
    # Written before the CSRF check existed: with it removed from require_operator, the
    # "wrong token" and "no token" cases returned 303 and queued deploys (the test failed).
    client, good = signed_in(client_for)
    deploy_id = queue_push(client)
    before = _state(client.store)
    urls = action_urls(client, deploy_id)
    anonymous = client.application.test_client()
    for url in urls:
        data = {"confirm": "yes", "sha": "", "release": "x"}
        resp = anonymous.post(url, data={**data, "csrf_token": good})
        assert resp.status_code == 401, url  # no session: refused, whatever the form says
        for token in (None, "", "forged", good[:-1] + ("A" if good[-1] != "A" else "B")):
            sent = dict(data) if token is None else {**data, "csrf_token": token}
            resp = client.post(url, data=sent)
            assert resp.status_code == 403, (url, token)
            assert "CSRF" in resp.get_data(as_text=True)
        # A token in the header works for scripts, a wrong one there is refused too.
        assert client.post(url, data=data, headers={"X-CSRF-Token": "nope"}).status_code == 403
    assert _state(client.store) == before  # nothing happened, nothing was audited
    # The same requests with the right token do work (so the refusals were about CSRF).
    resp = client.post("/actions/pause", data={"confirm": "yes", "csrf_token": good})
    assert resp.status_code == 303 and client.store.is_paused()


def test_sign_in_sets_a_strict_session_cookie_and_sign_out_ends_it(
    client_for: Callable[..., Any],
) -> None:
    client = client_for()
    assert client.get("/").status_code == 303
    resp = sign_in(client)
    assert resp.status_code == 303 and resp.headers["Location"] == "/"
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    assert re.search(r"Expires=|Max-Age=", cookie)
    assert TOKEN not in cookie
    page = client.get("/").get_data(as_text=True)
    assert "Live now" in page and "Sign out ada" in page
    client.post("/signout", data={"csrf_token": csrf_of(page)})
    assert client.get("/").status_code == 303
    actions = [(e.actor, e.action) for e in client.store.audit_entries()]
    assert actions == [("ada", "sign-out"), ("ada", "sign-in")]


def test_cookie_is_secure_over_tls(client_for: Callable[..., Any]) -> None:
    client = client_for()
    https = client.application.test_client()
    form = https.get("/signin", base_url="https://ops.example").get_data(as_text=True)
    resp = https.post(
        "/signin",
        base_url="https://ops.example",
        data={"csrf_token": csrf_of(form), "name": "ada", "token": TOKEN},
    )
    assert resp.status_code == 303 and "Secure" in resp.headers["Set-Cookie"]


def test_failed_sign_in_keeps_the_name_shows_the_error_and_is_logged(
    client_for: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    client = client_for()
    resp = sign_in(client, name="grace", token="not-the-token-at-all-0123456789abc")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 401
    assert "not right" in html and 'value="grace"' in html and "not-the-token" not in html
    assert "failed operator sign-in" in caplog.text and "not-the-token" not in caplog.text
    assert [e.action for e in client.store.audit_entries()] == ["sign-in failed"]
    assert sign_in(client, name="", token=TOKEN).status_code == 401  # a name is required
    assert client.get("/").status_code == 303


def test_failed_sign_ins_are_rate_limited(client_for: Callable[..., Any]) -> None:
    client = client_for(server={"signin_rate_limit": "3/minute"})
    assert sign_in(client).status_code == 303  # successes do not count
    for _ in range(3):
        assert sign_in(client, token="wrong-wrong-wrong-wrong-wrong-wrong").status_code == 401
    assert sign_in(client, token="wrong-wrong-wrong-wrong-wrong-wrong").status_code == 429
    assert sign_in(client).status_code == 429  # until the window passes, even the right one


def test_token_change_ends_sessions_and_bearer_needs_no_csrf(
    client_for: Callable[..., Any],
) -> None:
    client, _ = signed_in(client_for)
    resp = client.post("/actions/pause", data={"confirm": "yes"}, headers=BEARER)
    assert resp.status_code == 202 and client.store.is_paused()
    assert client.store.audit_entries()[0].actor == "API token"
    other = client_for(env={"DEPLOYHOOK_SECRET": "x" * 8 + "It's a Secret to Everybody"})
    assert other.get("/").status_code == 404  # no operator token: views disabled


def test_deploy_action_confirms_then_queues_and_audits(client_for: Callable[..., Any]) -> None:
    client, csrf = signed_in(client_for)
    ask = client.post("/actions/deploy", data={"csrf_token": csrf, "sha": ""})
    assert ask.status_code == 200 and "Deploy the tip of main?" in ask.get_data(as_text=True)
    assert client.store.latest() == []
    sha = random_sha()
    done = client.post("/actions/deploy", data={"csrf_token": csrf, "sha": sha, "confirm": "yes"})
    assert done.status_code == 303
    deploy = client.store.latest()[0]
    assert done.headers["Location"] == f"/deploys/{deploy.id}"
    assert (deploy.trigger, deploy.commit_sha, deploy.pusher) == ("manual", sha, "ada")
    entry = client.store.audit_entries()[0]
    assert (entry.actor, entry.action, entry.deploy_id) == ("ada", "deploy", deploy.id)
    assert entry.address == "127.0.0.1" and sha in entry.detail
    audit = client.get("/audit").get_data(as_text=True)
    assert "ada" in audit and "127.0.0.1" in audit and sha in audit


def test_deploy_form_keeps_a_bad_sha_and_says_why(client_for: Callable[..., Any]) -> None:
    client, csrf = signed_in(client_for)
    resp = client.post(
        "/actions/deploy", data={"csrf_token": csrf, "sha": "abc123", "confirm": "yes"}
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and 'value="abc123"' in html and "40 (or 64)" in html
    assert 'aria-invalid="true"' in html and client.store.latest() == []


def test_redeploy_cancel_and_rollback_refusals(client_for: Callable[..., Any]) -> None:
    client, csrf = signed_in(client_for)
    first = queue_push(client)
    resp = client.post(f"/actions/cancel/{first}", data={"csrf_token": csrf, "confirm": "yes"})
    assert resp.status_code == 303 and client.store.get(first).status == "cancelled"
    again = client.post(f"/actions/cancel/{first}", data={"csrf_token": csrf, "confirm": "yes"})
    assert again.status_code == 409
    resp = client.post(f"/actions/redeploy/{first}", data={"csrf_token": csrf, "confirm": "yes"})
    redeploy = client.store.latest()[0]
    assert resp.status_code == 303 and redeploy.trigger == "manual"
    assert redeploy.commit_sha == client.store.get(first).commit_sha
    bad = client.post(
        "/actions/rollback", data={"csrf_token": csrf, "confirm": "yes", "release": "../etc"}
    )
    assert bad.status_code == 400 and "no kept release" in bad.get_data(as_text=True)
    actions = [e.action for e in client.store.audit_entries()]
    assert actions[:2] == ["redeploy", "cancel"]


def test_pause_holds_webhook_deploys_and_resume_deploys_the_newest(store: Store) -> None:
    store.set_paused(True)
    older = store.enqueue(trigger="webhook", commit_sha=random_sha(), ref="refs/heads/main")
    newer = store.enqueue(trigger="webhook", commit_sha=random_sha(), ref="refs/heads/main")
    assert store.claim() is None  # paused: pushes wait
    manual = store.enqueue(trigger="manual", commit_sha=random_sha(), ref="refs/heads/main")
    claimed = store.claim()
    assert claimed is not None and claimed.id == manual.id  # an operator deploy still runs
    store.finish(manual.id, "succeeded")
    assert store.get(older.id).status == "queued"  # the operator's deploy superseded no push
    store.set_paused(False)
    resumed = store.claim()
    assert resumed is not None and resumed.id == newer.id
    assert store.get(older.id).status == "superseded"


def test_cancel_of_a_running_deploy_is_a_request(store: Store) -> None:
    deploy = store.enqueue(trigger="manual", commit_sha=random_sha(), ref="refs/heads/main")
    assert store.claim() is not None
    assert not store.cancel_requested(deploy.id)
    assert store.request_cancel(deploy.id) == "requested"
    assert store.cancel_requested(deploy.id)
    store.finish(deploy.id, "cancelled", "cancelled")
    assert store.request_cancel(deploy.id) == ""


def test_live_now_panel_and_releases_page(client_for: Callable[..., Any]) -> None:
    client, csrf = signed_in(client_for)
    page = client.get("/").get_data(as_text=True)
    assert "Nothing is live yet" in page and "Running: nothing" in page
    deploy_to = client.application.extensions["deployhook"]["config"].deploy_to
    releases = deploy_to / "releases"
    shas = [random_sha(), random_sha()]
    names = ["20260101000000-" + shas[0][:7], "20260102000000-" + shas[1][:7]]
    for name, sha in zip(names, shas, strict=True):
        (releases / name).mkdir(parents=True)
        (releases / name / "REVISION").write_text(sha + "\n")
    (deploy_to / "current").symlink_to(releases / names[1])
    with client.store.session() as s:
        s.add(
            Deploy(
                app="widget",
                status="succeeded",
                release=names[1],
                commit_sha=shas[1],
                message="Add the shelf\nbody",
                pusher="octocat",
            )
        )
        s.commit()
    queued = queue_push(client)
    page = client.get("/").get_data(as_text=True)
    assert shas[1][:10] in page and "Add the shelf" in page and "octocat" in page
    assert names[1] in page and names[0] in page  # live and previous
    assert f"#{queued}" in page and "no health URL configured" in page
    listing = client.get("/releases").get_data(as_text=True)
    assert shas[0][:10] in listing and "Roll back to this" in listing and "live" in listing
    resp = client.post(
        "/actions/rollback", data={"csrf_token": csrf, "release": names[1], "confirm": "yes"}
    )
    assert resp.status_code == 400 and "already live" in resp.get_data(as_text=True)
    resp = client.post("/actions/rollback", data={"csrf_token": csrf, "release": names[0]})
    assert "Roll back to " + names[0] in resp.get_data(as_text=True)  # asks first
    resp = client.post(
        "/actions/rollback", data={"csrf_token": csrf, "release": names[0], "confirm": "yes"}
    )
    rollback = client.store.latest()[0]
    assert resp.status_code == 303 and rollback.trigger == "rollback"
    assert rollback.options == {"release": names[0]}


def test_pages_send_protective_headers(client_for: Callable[..., Any]) -> None:
    client, _ = signed_in(client_for)
    resp = client.get("/")
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["Cache-Control"] == "no-store"
    assert client.get("/static/deployhook.css").status_code == 200


def test_signin_rate_limit_is_validated(make_config: Callable[..., Any]) -> None:
    from deployhook.config import ConfigError

    with pytest.raises(ConfigError) as err:
        make_config(server={"signin_rate_limit": 5})
    assert "[server] signin_rate_limit must be a string, got 5" in err.value.problems
    with pytest.raises(ConfigError, match="signin_rate_limit 'often' is not like"):
        make_config(server={"signin_rate_limit": "often"})
