"""Live logs: Server-Sent Events with only the new output, ANSI stripped, the failing step
named, a raw-log download, and the page that opens at the failure."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from dh_helpers import TOKEN, random_sha

from deployhook import livelog
from deployhook.runner import StepLogger
from deployhook.store import Store

BEARER = {"Authorization": f"Bearer {TOKEN}"}


def _events(text: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for block in text.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in lines:
            out.append((lines["event"], json.loads(lines["data"])))
    return out


def _failed_deploy(store: Store) -> int:
    deploy = store.enqueue(trigger="manual", commit_sha=random_sha(), ref="refs/heads/main")
    assert store.claim() is not None
    steps = StepLogger(store, deploy.id)
    steps.run("install", ["echo", "installed"])
    script = "print('\\x1b[32mPASSED\\x1b[0m a'); print('\\x1b[31mFAILED\\x1b[0m b'); exit(3)"
    steps.run("test", [sys.executable, "-c", script])
    steps.call("remove release", lambda: "removed")
    store.finish(deploy.id, "failed", "test command exited 3; live app untouched")
    return deploy.id


def test_strip_ansi() -> None:
    raw = "\x1b[1;31mred\x1b[0m \x1b]0;title\x07ok\r\nnext\rover \x1b[2K"
    assert livelog.strip_ansi(raw) == "red ok\nnext\nover "


def test_stream_of_a_finished_deploy_names_the_failing_step(
    client_for: Callable[..., Any],
) -> None:
    client = client_for()
    deploy_id = _failed_deploy(client.store)
    resp = client.get(f"/deploys/{deploy_id}/stream", headers=BEARER)
    assert resp.mimetype == "text/event-stream"
    events = _events(resp.get_data(as_text=True))
    steps = [d for kind, d in events if kind == "step"]
    assert [(s["position"], s["total"], s["name"]) for s in steps] == [
        (1, 3, "install"),
        (2, 3, "test"),
        (3, 3, "remove release"),
    ]
    assert steps[1]["text"] == "PASSED a\nFAILED b\n" and steps[1]["label"] == "exit 3"
    assert steps[1]["state"] == "failed" and steps[1]["offset"] == 0
    kind, done = events[-1]
    assert kind == "done" and done["status"] == "failed" and done["open"] == 2


def test_stream_sends_only_new_output_while_a_step_runs(store: Store) -> None:
    deploy = store.enqueue(trigger="manual", commit_sha=random_sha(), ref="refs/heads/main")
    assert store.claim() is not None
    script = "import time\nfor i in range(4):\n    print('line', i, flush=True); time.sleep(0.7)"
    runner = threading.Thread(
        target=lambda: StepLogger(store, deploy.id).run("test", [sys.executable, "-c", script])
    )
    runner.start()
    chunks: list[dict[str, Any]] = []
    finisher = threading.Thread(
        target=lambda: (runner.join(), store.finish(deploy.id, "succeeded")), daemon=True
    )
    finisher.start()
    started = time.monotonic()
    for event in livelog.stream(lambda: store.get(deploy.id), str, poll=0.1, limit=30):
        for kind, data in _events(event):
            if kind == "step":
                chunks.append(data)
    assert time.monotonic() - started < 20
    texts = [c["text"] for c in chunks if c["text"]]
    assert len(texts) >= 2, chunks  # the output came in pieces, not all at the end
    rebuilt = ""
    for c in chunks:
        rebuilt = rebuilt[: c["offset"]] + c["text"]
    assert rebuilt == "".join(f"line {i}\n" for i in range(4))
    later = [c for c in chunks if c["text"]][1:]
    assert all(c["offset"] > 0 for c in later)  # appended, never the whole log again


def test_delta_after_the_output_cap_dropped_the_middle() -> None:
    follower = livelog.Follower({})
    assert livelog._delta("abcdef", "abcdefgh") == (6, "gh")
    assert livelog._delta("abc[...]xyz", "abc[... 9 ...]wxyz") == (7, " 9 ...]wxyz")
    assert follower.sent == {}


def test_deploy_page_opens_at_the_failure_and_raw_log_downloads(
    client_for: Callable[..., Any],
) -> None:
    client = client_for()
    deploy_id = _failed_deploy(client.store)
    page = client.get(f"/deploys/{deploy_id}", headers=BEARER).get_data(as_text=True)
    assert 'data-open="2"' in page and 'data-live="no"' in page
    assert '<details class="step" id="step-2" data-position="2" open>' in page
    assert '<details class="step" id="step-1" data-position="1">' in page  # collapsed
    assert '2 of <span class="step-total">3</span>' in page
    assert "\x1b" not in page and "FAILED b" in page
    log = client.get(f"/deploys/{deploy_id}/log.txt", headers=BEARER)
    assert log.mimetype == "text/plain" and "attachment" in log.headers["Content-Disposition"]
    text = log.get_data(as_text=True)
    assert "== 2/3 test [exit 3" in text and "\x1b[31mFAILED" in text  # raw: colours kept
