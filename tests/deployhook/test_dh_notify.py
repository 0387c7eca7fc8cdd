"""Notifications against real receivers on loopback: an HTTP server that checks the HMAC
signature, a Slack-style receiver, aiosmtpd for email, and receivers that fail or hang."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from dh_helpers import SECRET, TOKEN, FakePipeline, base_config, random_sha

from deployhook import notify
from deployhook.config import Config, ConfigError, NotifyTarget, config_from_dict
from deployhook.store import Store
from deployhook.web import create_app
from deployhook.worker import Worker
from support import smtp_server

NOTIFY_SECRET = "notify-secret-0123456789abcdefghijkl"
ENV = {
    "DEPLOYHOOK_SECRET": SECRET,
    "DEPLOYHOOK_OPERATOR_TOKEN": TOKEN,
    "DEPLOYHOOK_NOTIFY_SECRET": NOTIFY_SECRET,
}


class Receiver:
    """Records POSTs; ``statuses`` are answered in turn (then 200); ``hang`` makes every
    request wait until the test ends, as a stuck receiver does."""

    def __init__(self, statuses: tuple[int, ...] = (), hang: bool = False) -> None:
        self.got: list[tuple[dict[str, str], bytes, bool]] = []
        self.statuses = list(statuses)
        self.release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                expected = "sha256=" + hmac.new(NOTIFY_SECRET.encode(), body, "sha256").hexdigest()
                given = self.headers.get("X-Deployhook-Signature-256", "")
                valid = hmac.compare_digest(given, expected)
                outer.got.append((dict(self.headers), body, valid))
                if hang:
                    outer.release.wait(30)
                    return
                code = outer.statuses.pop(0) if outer.statuses else 200
                self.send_response(code)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook/secret-path"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers() -> Iterator[Callable[..., Receiver]]:
    made: list[Receiver] = []

    def make(*statuses: int, hang: bool = False) -> Receiver:
        made.append(Receiver(statuses, hang))
        return made[-1]

    yield make
    for r in made:
        r.stop()


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., Config]:
    """A config with these [[notify]] targets (the shared fixture merges tables only)."""

    def make(targets: Any, env: dict[str, str] | None = None) -> Config:
        data = base_config(tmp_path)
        data["notify"] = targets
        return config_from_dict(data, ENV if env is None else env, base_dir=tmp_path)

    return make


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notify, "RETRY_PAUSE", 0.05)


def _run(cfg: Config, status: str = "succeeded") -> tuple[Store, Worker, int, float]:
    store = Store(cfg.database_url, cfg.app_name)
    store.enqueue(trigger="manual", commit_sha=random_sha(), ref="refs/heads/main", pusher="ada")
    worker = Worker(store, cfg, FakePipeline(status=status))
    started = time.monotonic()
    done = worker.run_once()
    took = time.monotonic() - started
    assert done is not None and done.status == status
    return store, worker, done.id, took


def test_webhook_slack_and_email_are_delivered_and_shown(
    make_config: Callable[..., Config], receivers: Callable[..., Receiver]
) -> None:
    hook, slack = receivers(), receivers()
    with smtp_server() as (port, mails):
        cfg = make_config(
            [
                {"kind": "webhook", "url": hook.url},
                {"kind": "slack", "url": slack.url},
                {
                    "kind": "email",
                    "mail_url": f"smtp://127.0.0.1:{port}",
                    "from": "deployhook@example.com",
                    "to": ["ops@example.com"],
                },
            ]
        )
        store, worker, deploy_id, _ = _run(cfg)
        assert worker.notifier.drain(20)
    headers, body, valid = hook.got[0]
    assert valid  # the receiver recomputed the HMAC over the raw body
    doc = json.loads(body)
    assert doc["event"] == "deploy.succeeded" and doc["deploy"]["id"] == deploy_id
    assert doc["app"] == "widget" and doc["deploy"]["pusher"] == "ada"
    assert headers["X-Deployhook-Event"] == "succeeded" and headers["X-Deployhook-Delivery"]
    assert "succeeded" in json.loads(slack.got[0][1])["text"]
    assert mails and f"deploy #{deploy_id} succeeded" in mails[0]["Subject"]
    attempts = store.notifications(deploy_id)
    assert [(a.target.split()[0], a.ok) for a in attempts] == [
        ("webhook", True),
        ("slack", True),
        ("email", True),
    ]
    page = _page(cfg, store, deploy_id)
    assert "webhook 127.0.0.1" in page and "secret-path" not in page and "HTTP 200" in page
    store.close()


def _page(cfg: Config, store: Store, deploy_id: int) -> str:
    client = create_app(cfg, store=store).test_client()
    resp = client.get(f"/deploys/{deploy_id}", headers={"Authorization": f"Bearer {TOKEN}"})
    return resp.get_data(as_text=True)


def test_failing_receiver_is_retried_and_each_attempt_recorded(
    make_config: Callable[..., Config], receivers: Callable[..., Receiver]
) -> None:
    hook = receivers(500, 502)
    cfg = make_config([{"kind": "webhook", "url": hook.url, "attempts": 3}])
    store, worker, deploy_id, _ = _run(cfg, status="failed")
    assert worker.notifier.drain(20)
    attempts = store.notifications(deploy_id)
    assert [(a.attempt, a.ok, a.detail) for a in attempts] == [
        (1, False, "HTTP 500"),
        (2, False, "HTTP 502"),
        (3, True, "HTTP 200"),
    ]
    assert {a.event for a in attempts} == {"failed"}
    bodies = {body for _, body, _ in hook.got}
    assert len(bodies) == 1  # the same signed body on every retry
    assert len({h["X-Deployhook-Delivery"] for h, _, _ in hook.got}) == 1
    store.close()


def test_hanging_receiver_never_holds_up_or_fails_a_deploy(
    make_config: Callable[..., Config], receivers: Callable[..., Receiver]
) -> None:
    stuck = receivers(hang=True)
    cfg = make_config([{"kind": "webhook", "url": stuck.url, "timeout": 1.5, "attempts": 2}])
    store, worker, deploy_id, took = _run(cfg, status="rolled_back")
    # The deploy's outcome was stored while the receiver still held the first attempt: a
    # worker that waited would have taken two timeouts (3 s) and recorded both attempts.
    assert took < 1.5, took
    assert store.notifications(deploy_id) == []
    assert store.get(deploy_id).status == "rolled_back"
    started = time.monotonic()
    assert worker.notifier.drain(20)
    assert time.monotonic() - started < 10  # two 1.5 s timeouts and a short pause
    attempts = store.notifications(deploy_id)
    assert [a.ok for a in attempts] == [False, False]
    assert all("timed out" in a.detail for a in attempts), [a.detail for a in attempts]
    # The next deploy runs normally while (or after) the receiver hangs.
    store.enqueue(trigger="manual", commit_sha=random_sha(), ref="refs/heads/main")
    assert worker.run_once().status == "rolled_back"
    store.close()


def test_targets_get_only_the_events_they_asked_for(
    make_config: Callable[..., Config], receivers: Callable[..., Receiver]
) -> None:
    hook = receivers()
    cfg = make_config([{"kind": "webhook", "url": hook.url, "events": ["failed", "rolled_back"]}])
    store, worker, deploy_id, _ = _run(cfg, status="succeeded")
    worker.notifier.drain(5)
    assert hook.got == [] and store.notifications(deploy_id) == []
    store.close()


def test_email_to_an_unreachable_server_is_recorded_not_raised(
    make_config: Callable[..., Config],
) -> None:
    from support import free_port

    cfg = make_config(
        [
            {
                "kind": "email",
                "mail_url": f"smtp://user:hunter2-password@127.0.0.1:{free_port()}",
                "from": "d@example.com",
                "to": ["ops@example.com"],
                "attempts": 1,
            }
        ],
    )
    store, worker, deploy_id, _ = _run(cfg)
    assert worker.notifier.drain(10)
    (attempt,) = store.notifications(deploy_id)
    assert not attempt.ok and "ConnectionRefused" in attempt.detail
    assert "hunter2" not in attempt.target + attempt.detail
    store.close()


def test_notify_config_is_validated(make_config: Callable[..., Config]) -> None:
    bad = [
        {"kind": "pager", "url": "http://x"},
        {"kind": "webhook", "url": "ftp://x", "timeout": "5", "attempts": 0},
        {"kind": "webhook", "url": "http://x", "secret_env": "MISSING_SECRET"},
        {"kind": "slack", "url": "http://x", "events": ["deployed"], "colour": "red"},
        {"kind": "email", "mail_url": "http://x", "from": "nobody", "to": "ops@example.com"},
    ]
    with pytest.raises(ConfigError) as err:
        make_config(bad)
    text = "\n".join(err.value.problems)
    for expected in (
        "[notify 1] kind must be one of",
        "[notify 2] url is required for kind 'webhook'",
        "[notify 2] timeout must be a number, got '5'",
        "[notify 2] attempts must be between 1 and 10",
        "[notify 3] MISSING_SECRET is unset",
        "[notify 4] events must be drawn from",
        "[notify 4] unknown key 'colour'",
        "[notify 5] mail_url must be like",
        "[notify 5] from must be an email address",
        "[notify 5] to must be a list, got 'ops@example.com'",
    ):
        assert expected in text, (expected, text)
    with pytest.raises(ConfigError, match="must be a list of tables"):
        make_config({"kind": "slack"})
    weak = dict(ENV, DEPLOYHOOK_NOTIFY_SECRET="short")
    with pytest.raises(ConfigError, match="DEPLOYHOOK_NOTIFY_SECRET is 5 characters"):
        make_config([{"kind": "webhook", "url": "http://x"}], env=weak)


def test_signature_matches_the_documented_recipe() -> None:
    target = NotifyTarget(kind="webhook", url="https://h.example/x/y?z", secret=NOTIFY_SECRET)
    body = b'{"event":"deploy.succeeded"}'
    expected = "sha256=" + hmac.new(NOTIFY_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert notify.signature(NOTIFY_SECRET, body) == expected
    assert target.label == "webhook h.example" and NOTIFY_SECRET not in repr(target)
