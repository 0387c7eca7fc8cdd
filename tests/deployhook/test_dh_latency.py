"""A push is answered "within milliseconds, whatever the tests take". Measured on a
real `deployhook serve` whose worker is busy with a slow test command the whole time."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from dh_helpers import SECRET, base_config, github_request, push_payload, start_deployhook, to_toml

from support import free_port, stop_group


@pytest.mark.slow
def test_webhook_answers_fast_while_a_deploy_runs(tmp_path: Path) -> None:
    port = free_port()
    origin = tmp_path / "origin"
    subprocess.run(["git", "init", "-q", "-b", "main", str(origin)], check=True)
    subprocess.run(
        [
            "git",
            "-C",
            str(origin),
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@e",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "one",
        ],
        check=True,
    )
    head = subprocess.run(
        ["git", "-C", str(origin), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    data = base_config(tmp_path / "srv")
    data["app"]["git_url"] = str(origin)
    data["server"].update(port=port, rate_limit="100000/minute", debounce_seconds=0.0)
    # The deploy's test step sleeps far longer than GitHub's 10 s delivery timeout.
    data["commands"]["test"] = [[sys.executable, "-c", "import time; time.sleep(20)"]]
    config = tmp_path / "dh.toml"
    config.write_text(to_toml(data))
    env = dict(os.environ, DEPLOYHOOK_SECRET=SECRET)
    proc = start_deployhook(port, tmp_path / "deployhook.log", env, "--config", config)
    url = f"http://127.0.0.1:{port}/webhook"
    try:
        # A real commit first: the worker then sits in the slow test step while we measure.
        body, headers = github_request(push_payload(head))
        urllib.request.urlopen(urllib.request.Request(url, data=body, headers=headers)).close()
        status_deadline = time.monotonic() + 30
        while "import time" not in _running_step(tmp_path):
            assert time.monotonic() < status_deadline, "the deploy never reached its test step"
            time.sleep(0.1)
        timings = []
        for _ in range(200):
            body, headers = github_request(push_payload())
            req = urllib.request.Request(url, data=body, headers=headers)
            start = time.perf_counter()
            with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - loopback
                assert resp.status == 202
                json.loads(resp.read())
            timings.append(time.perf_counter() - start)
        timings.sort()
        p50 = statistics.median(timings) * 1000
        p95 = timings[int(len(timings) * 0.95)] * 1000
        print(
            f"\nwebhook 202 latency over {len(timings)} pushes: p50 {p50:.1f} ms, "
            f"p95 {p95:.1f} ms, max {timings[-1] * 1000:.1f} ms"
        )
        # Generous bounds for a loaded 2-core CI box; typical numbers are a few ms.
        assert p95 < 250 and timings[-1] < 2.0
        assert "import time" in _running_step(tmp_path)  # still busy: nothing waited on it
    finally:
        stop_group(proc)
    # SIGTERM to serve also ended the step's own process group.
    time.sleep(0.5)
    leftovers = subprocess.run(
        ["pgrep", "-f", "time.sleep\\(20\\)"], capture_output=True, text=True
    )
    assert leftovers.stdout.strip() == ""


def _running_step(tmp_path: Path) -> str:
    """Command of the step the deploy is running now, read straight from the SQLite file."""
    import sqlite3

    db = tmp_path / "srv" / "deployhook.sqlite3"
    if not db.exists():
        return ""
    with sqlite3.connect(db, timeout=10) as conn:
        row = conn.execute(
            "SELECT command FROM steps WHERE finished_at IS NULL ORDER BY id DESC LIMIT 1"
        ).fetchone()
    return row[0] if row else ""
