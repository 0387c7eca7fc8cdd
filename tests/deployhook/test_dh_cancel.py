"""Cancelling a running deploy: its process group ends, its release is removed, and the live
release is untouched; real git, real processes."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import pytest
from dh_helpers import random_sha
from test_dh_pipeline import Setup, setup  # noqa: F401 - git origin + fake app server, and its fixture

from deployhook.pipeline import ReleasePipeline
from deployhook.procs import pid_alive
from deployhook.runner import StepLogger
from deployhook.store import Store
from deployhook.worker import Worker

# Starts a grandchild in the same group, writes its pid, then waits for a long time.
SPAWN = (
    "import subprocess, sys, time; "
    "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)']); "
    "open(sys.argv[1], 'w').write(str(c.pid)); print('started', flush=True); time.sleep(120)"
)

# The same, but the grandchild writes nowhere (a server a test started, output to /dev/null)
# and takes a second to clean up after SIGTERM, while the step's own process exits at once:
# the step's output closing says nothing about the grandchild still running.
SPAWN_SLOW_TO_DIE = (
    "import subprocess, sys, time; "
    "c = subprocess.Popen([sys.executable, '-c', 'import signal, sys, time; "
    "signal.signal(signal.SIGTERM, lambda *a: (time.sleep(1), sys.exit(0))); time.sleep(120)'], "
    "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
    "open(sys.argv[1], 'w').write(str(c.pid)); print('started', flush=True); time.sleep(120)"
)


def _cancel_when(store: Store, deploy_id: int, ready: Path) -> threading.Thread:
    def cancel() -> None:
        deadline = time.monotonic() + 30
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert store.request_cancel(deploy_id) == "requested"

    thread = threading.Thread(target=cancel, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("spawn", [SPAWN, SPAWN_SLOW_TO_DIE], ids=["dies-at-once", "slow-to-die"])
def test_cancel_ends_the_steps_process_group(store: Store, tmp_path: Path, spawn: str) -> None:
    deploy = store.enqueue(trigger="manual", commit_sha=random_sha(), ref="refs/heads/main")
    assert store.claim() is not None
    pidfile = tmp_path / "child.pid"
    canceller = _cancel_when(store, deploy.id, pidfile)
    started = time.monotonic()
    result = StepLogger(store, deploy.id).run("test", [sys.executable, "-c", spawn, str(pidfile)])
    elapsed = time.monotonic() - started
    canceller.join(5)
    assert not result.ok and result.exit_code is None
    assert "cancelled by the operator, process group ended" in result.output
    assert elapsed < 15  # not the 120 s the step wanted
    assert not pid_alive(int(pidfile.read_text()))  # the grandchild went with the group


def test_cancelled_deploy_removes_its_release_and_leaves_live_alone(
    setup: Setup,  # noqa: F811 - the fixture from test_dh_pipeline
) -> None:
    cfg = setup.config()
    first = setup.commit()
    assert setup.run(cfg, first).status == "succeeded"
    live_before = os.readlink(setup.deploy_to / "current")
    marker = setup.tmp / "tests-started"
    slow = f"open({str(marker)!r}, 'w').close(); import time; time.sleep(120)"
    cfg = setup.config(commands={"test": [[sys.executable, "-c", slow]]})
    second = setup.commit()
    store = Store(cfg.database_url, cfg.app_name)
    try:
        queued = store.enqueue(trigger="manual", commit_sha=second, ref="refs/heads/main")
        canceller = _cancel_when(store, queued.id, marker)
        done = Worker(store, cfg, ReleasePipeline(cfg)).run_once()
        canceller.join(5)
    finally:
        store.close()
    assert done is not None and done.status == "cancelled", done.reason
    assert "live app untouched" in done.reason
    assert os.readlink(setup.deploy_to / "current") == live_before
    assert setup.live() == first
    releases = ReleasePipeline(cfg).release_names()
    assert len(releases) == 1 and done.release not in releases  # the new one was removed
    steps = [s.name for s in done.steps]
    assert steps[-1] == "remove release"


def test_planned_step_count_matches_a_successful_deploy(
    setup: Setup,  # noqa: F811 - the fixture from test_dh_pipeline
) -> None:
    # The deploy page says "3 of N" while a deploy runs; N must be what really happens.
    cfg = setup.config(commands={"test": [["true"], ["true"]], "migrate": [["true"]]})
    first = setup.run(cfg, setup.commit(), trigger="webhook")
    second = setup.run(cfg, setup.commit(), trigger="manual")
    assert (first.status, second.status) == ("succeeded", "succeeded")
    pipeline = ReleasePipeline(cfg)
    for done in (first, second):  # the first one also created the git cache
        assert pipeline.planned_steps(done) == len(done.steps), [s.name for s in done.steps]
