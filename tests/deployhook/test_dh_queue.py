"""Queue: coalescing under concurrent deliveries, one running per app, restart recovery."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from dh_helpers import FakePipeline, github_request, push_payload, random_sha
from werkzeug.serving import make_server

from deployhook.config import Config
from deployhook.store import AppLock, Deploy, Store
from deployhook.web import create_app
from deployhook.worker import Worker
from support import free_port


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - loopback http
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_concurrent_deliveries_one_running_newest_wins(make_config: Callable[..., Config]) -> None:
    """40 deliveries from 8 threads against a real server with the worker thread running."""
    cfg = make_config(server={"debounce_seconds": 0.0, "rate_limit": "10000/minute"})
    store = Store(cfg.database_url, cfg.app_name)
    pipeline = FakePipeline(duration=0.15)
    worker = Worker(store, cfg, pipeline, poll_interval=0.05)
    app = create_app(cfg, store=store, worker=worker)
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    worker.start()
    url = f"http://127.0.0.1:{server.port}/webhook"
    codes: list[int] = []
    barrier = threading.Barrier(8)

    def client(n: int) -> None:
        barrier.wait()
        for _ in range(5):
            body, headers = github_request(push_payload(random_sha()))
            codes.append(_post(url, body, headers))

    try:
        threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert codes.count(202) == 40, codes
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            statuses = [d.status for d in store.latest(100)]
            if "queued" not in statuses and "running" not in statuses:
                break
            time.sleep(0.05)
    finally:
        worker.stop(timeout=10)
        server.shutdown()
    deploys = store.latest(100)
    statuses = {d.id: d.status for d in deploys}
    assert len(statuses) == 40
    assert pipeline.max_active == 1
    newest = max(statuses)
    assert statuses[newest] == "succeeded"
    assert set(statuses.values()) <= {"succeeded", "superseded"}
    # Coalescing actually happened: far fewer deploys ran than were received.
    assert sum(s == "succeeded" for s in statuses.values()) == len(pipeline.ran) < 40
    assert any(s == "superseded" for s in statuses.values())
    for d in deploys:
        if d.status == "superseded":
            assert d.started_at is None and "superseded by" in d.reason
            # Only pushes queued before a newer one may be superseded by it.
            assert int(d.reason.rsplit("#", 1)[1]) > d.id
    assert store.lock_holder() is None
    store.close()


def test_db_lock_holds_across_independent_engines(make_config: Callable[..., Config]) -> None:
    """Separate engines share no Python lock: only the database can make this hold."""
    cfg = make_config()
    stores = [Store(cfg.database_url, cfg.app_name) for _ in range(6)]
    for _ in range(5):
        stores[0].enqueue(commit_sha=random_sha(), ref="refs/heads/main")
    claimed: list[Deploy] = []
    barrier = threading.Barrier(len(stores))

    def claim(s: Store) -> None:
        barrier.wait()
        deploy = s.claim()
        if deploy is not None:
            claimed.append(deploy)

    threads = [threading.Thread(target=claim, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(claimed) == 1
    winner = claimed[0]
    assert winner.id == max(d.id for d in stores[0].latest())
    assert [d.status for d in stores[0].latest()] == ["running"] + ["superseded"] * 4
    # A second claim while one runs gets nothing, even with new work queued.
    stores[1].enqueue(commit_sha=random_sha(), ref="refs/heads/main")
    assert stores[2].claim() is None
    stores[3].finish(winner.id, "succeeded")
    nxt = stores[4].claim()
    assert nxt is not None and nxt.id == winner.id + 1
    for s in stores:
        s.close()


def test_claim_across_processes(make_config: Callable[..., Config]) -> None:
    """Real OS processes racing for the lock: exactly one wins."""
    cfg = make_config()
    store = Store(cfg.database_url, cfg.app_name)
    for _ in range(3):
        store.enqueue(commit_sha=random_sha(), ref="refs/heads/main")
    code = (
        "import sys, time; from deployhook.store import Store\n"
        "s = Store(sys.argv[1], sys.argv[2]); t = float(sys.argv[3])\n"
        "time.sleep(max(0, t - time.time()))\n"
        "d = s.claim(); print(d.id if d else 0)\n"
    )
    start_at = str(time.time() + 1.5)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, cfg.database_url, cfg.app_name, start_at],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = [int(p.communicate(timeout=60)[0].strip()) for p in procs]
    assert sorted(results)[:-1] == [0, 0, 0] and max(results) > 0
    assert store.lock_holder() == max(results)
    store.close()


def test_queued_deploy_survives_restart(make_config: Callable[..., Config]) -> None:
    cfg = make_config()
    first = Store(cfg.database_url, cfg.app_name)
    queued = first.enqueue(commit_sha=random_sha(), ref="refs/heads/main")
    first.close()
    second = Store(cfg.database_url, cfg.app_name)
    assert second.recover() == []
    worker = Worker(second, cfg, FakePipeline())
    done = worker.run_once()
    assert done is not None and done.id == queued.id and done.status == "succeeded"
    assert [s.name for s in done.steps] == ["echo"]
    assert "deploying" in done.steps[0].output and done.steps[0].exit_code == 0
    second.close()


def test_restart_recovery_fails_running_and_frees_lock(make_config: Callable[..., Config]) -> None:
    cfg = make_config()
    crashed = Store(cfg.database_url, cfg.app_name)
    crashed.enqueue(commit_sha=random_sha(), ref="refs/heads/main")
    running = crashed.claim()
    assert running is not None
    # Make the owner a process on this host that no longer exists.
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with crashed.session() as s:
        lock = s.get(AppLock, cfg.app_name)
        assert lock is not None
        lock.owner = f"{crashed.owner.rpartition(':')[0]}:{dead.pid}"
        s.commit()
    later = crashed.enqueue(commit_sha=random_sha(), ref="refs/heads/main")
    crashed.close()

    restarted = Store(cfg.database_url, cfg.app_name)
    assert restarted.recover() == [running.id]
    failed = restarted.get(running.id)
    assert failed is not None and failed.status == "failed"
    assert "stopped while this deploy was running" in failed.reason and failed.finished_at
    assert restarted.lock_holder() is None
    # No stale lock: the next deploy runs.
    done = Worker(restarted, cfg, FakePipeline()).run_once()
    assert done is not None and done.id == later.id and done.status == "succeeded"
    restarted.close()


def test_recovery_leaves_a_live_owner_alone(make_config: Callable[..., Config]) -> None:
    cfg = make_config()
    store = Store(cfg.database_url, cfg.app_name)
    store.enqueue(commit_sha=random_sha(), ref="refs/heads/main")
    running = store.claim()
    assert running is not None
    with store.session() as s:
        lock = s.get(AppLock, cfg.app_name)
        assert lock is not None
        lock.owner = f"{store.owner.rpartition(':')[0]}:1"  # pid 1 is always alive
        s.commit()
    assert store.recover() == []
    got = store.get(running.id)
    assert got is not None and got.status == "running"
    store.close()


def test_pipeline_crash_fails_deploy_and_releases_lock(make_config: Callable[..., Config]) -> None:
    class Boom:
        def run(self, deploy: Any, steps: Any) -> Any:
            raise RuntimeError("kaboom")

    cfg = make_config()
    store = Store(cfg.database_url, cfg.app_name)
    store.enqueue(commit_sha=random_sha(), ref="refs/heads/main")
    done = Worker(store, cfg, Boom()).run_once()
    assert done is not None and done.status == "failed" and "kaboom" in done.reason
    assert store.lock_holder() is None
    store.close()


def test_debounce_lets_a_burst_settle(make_config: Callable[..., Config]) -> None:
    cfg = make_config(server={"debounce_seconds": 0.3})
    store = Store(cfg.database_url, cfg.app_name)
    worker = Worker(store, cfg, FakePipeline())
    store.enqueue(commit_sha=random_sha(), ref="refs/heads/main")
    assert worker.run_once() is None  # too fresh
    newest = store.enqueue(commit_sha=random_sha(), ref="refs/heads/main")
    time.sleep(0.35)
    done = worker.run_once()
    assert done is not None and done.id == newest.id
    assert [d.status for d in store.latest()] == ["succeeded", "superseded"]
    store.close()


def test_step_output_is_capped_and_timeouts_are_logged(make_config: Callable[..., Config]) -> None:
    from deployhook.runner import StepLogger

    cfg = make_config()
    store = Store(cfg.database_url, cfg.app_name)
    deploy = store.enqueue(commit_sha=random_sha(), ref="refs/heads/main")
    steps = StepLogger(store, deploy.id, output_cap=4096)
    big = steps.run("big", [sys.executable, "-c", "print('A' * 100000); print('THE END')"])
    assert big.ok and len(big.output) < 6000 and "omitted" in big.output and "THE END" in big.output
    slow = steps.run("slow", [sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.5)
    assert not slow.ok and slow.exit_code is None and "timed out" in slow.output
    assert slow.duration < 10
    missing = steps.run("missing", ["/nonexistent/binary"])
    assert not missing.ok and "could not start" in missing.output
    got = store.get(deploy.id)
    assert got is not None
    assert [(s.name, s.exit_code) for s in got.steps] == [
        ("big", 0),
        ("slow", None),
        ("missing", None),
    ]
    assert json.loads(got.steps[0].command)[0] == sys.executable
    store.close()
