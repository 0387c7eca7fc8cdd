"""The store's guarantees on both databases: one running deploy per app, newest wins,
recovery; on PostgreSQL the lock must hold under READ COMMITTED too."""

from __future__ import annotations

import threading

import pytest
from dh_helpers import random_sha
from sqlalchemy.exc import IntegrityError

from deployhook.store import Deploy, Store


def test_exactly_one_claim_across_engines(db_url: str) -> None:
    stores = [Store(db_url, "app") for _ in range(8)]
    try:
        for round_ in range(3):
            for _ in range(4):
                stores[0].enqueue(commit_sha=random_sha(), ref="refs/heads/main")
            claimed: list[Deploy] = []
            barrier = threading.Barrier(len(stores))

            def claim(s: Store, barrier: threading.Barrier, claimed: list[Deploy]) -> None:
                barrier.wait()
                got = s.claim()
                if got is not None:
                    claimed.append(got)

            threads = [threading.Thread(target=claim, args=(s, barrier, claimed)) for s in stores]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            assert len(claimed) == 1, (round_, claimed)
            newest = max(d.id for d in stores[0].latest(100))
            assert claimed[0].id == newest
            statuses = [d.status for d in stores[0].latest(100)]
            assert statuses.count("running") == 1 and statuses.count("queued") == 0
            stores[1].finish(claimed[0].id, "succeeded")
            assert stores[2].lock_holder() is None
    finally:
        for s in stores:
            s.close()


def test_database_refuses_a_second_running_row(db_url: str) -> None:
    store = Store(db_url, "app")
    try:
        with store.session() as s:
            s.add(Deploy(app="app", status="running"))
            s.commit()
        with store.session() as s, pytest.raises(IntegrityError):
            s.add(Deploy(app="app", status="running"))
            s.commit()
        # Other apps are independent.
        with store.session() as s:
            s.add(Deploy(app="other", status="running"))
            s.commit()
    finally:
        store.close()


def test_delivery_ids_are_unique(db_url: str) -> None:
    store = Store(db_url, "app")
    try:
        first = store.record_delivery("github:abc", "push", "queued", Deploy(app="app"))
        assert not first.duplicate and isinstance(first.deploy, Deploy)
        assert first.deploy.id is not None
        again = store.record_delivery("github:abc", "push", "queued", Deploy(app="app"))
        assert again.duplicate and again.deploy is None
        without_key = store.record_delivery(None, "ping", "pong")
        assert not without_key.duplicate and without_key.deploy is None
        assert len(store.latest()) == 1  # the replay's deploy was rolled back with it
    finally:
        store.close()


def test_recovery_and_timestamps(db_url: str) -> None:
    store = Store(db_url, "app")
    try:
        store.enqueue(commit_sha=random_sha(), ref="refs/heads/main")
        running = store.claim()
        assert running is not None and running.started_at is not None
        assert running.queued_at.tzinfo is not None
        with store.session() as s:
            from deployhook.store import AppLock

            lock = s.get(AppLock, "app")
            assert lock is not None
            lock.owner = "some-other-host:123"  # unknown host: judged by heartbeat age
            s.commit()
        assert store.recover(stale_after=3600) == []  # fresh heartbeat: still alive
        assert store.recover(stale_after=0) == [running.id]
        got = store.get(running.id)
        assert got is not None and got.status == "failed" and got.finished_at is not None
        assert store.lock_holder() is None
    finally:
        store.close()


def test_database_from_an_older_version_gets_the_new_columns(db_url: str) -> None:
    from sqlalchemy import create_engine, inspect

    from deployhook.store import Base

    engine = create_engine(db_url)
    Base.metadata.create_all(engine)
    with engine.begin() as conn:  # as an older deployhook left it: no process columns
        for column in ("pgid", "boot_id"):
            conn.exec_driver_sql(f"ALTER TABLE steps DROP COLUMN {column}")
    assert "pgid" not in {c["name"] for c in inspect(engine).get_columns("steps")}
    engine.dispose()
    # Stores starting together must not trip over each other adding them.
    barrier = threading.Barrier(4)
    stores: list[Store] = []

    def start() -> None:
        barrier.wait()
        stores.append(Store(db_url, "app"))

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(stores) == 4
    first, second = stores[0], stores[1]
    deploy = first.enqueue(commit_sha=random_sha(), ref="refs/heads/main")
    step_id = second.start_step(deploy.id, "test", ["true"])
    second.step_process(step_id, 4242)
    got = first.get(deploy.id)
    assert got is not None and got.steps[0].pgid == 4242 and got.steps[0].boot_id
    for s in stores:
        s.close()


def test_fleet_hosts_and_host_tagged_steps(db_url: str) -> None:
    store = Store(db_url, "app")
    other = Store(db_url, "other-app")
    try:
        old, new = random_sha(), random_sha()
        first = store.enqueue(ref="refs/heads/main")
        store.set_host(first.id, "web1", address="deploy@10.0.0.1:22", live_commit=old)
        store.set_host(first.id, "web2", address="deploy@10.0.0.2:22", live_commit=old)
        second = store.enqueue(ref="refs/heads/main")
        store.set_host(second.id, "web2", status="shipped")
        store.set_host(second.id, "web1", status="live", live_commit=new, live_release="r2")
        store.set_host(second.id, "web2", status="failed", reason="x" * 5000)
        store.start_step(second.id, "web1: upload", ["sftp", "put"], "web1")
        store.start_step(second.id, "fetch", ["git", "fetch"])
        other.set_host(other.enqueue(ref="refs/heads/main").id, "web1", live_commit=random_sha())
        record = store.get(second.id)
        assert record is not None
        data = record.to_dict(with_steps=True)
        assert [(h["host"], h["status"]) for h in data["hosts"]] == [
            ("web2", "failed"),
            ("web1", "live"),
        ]
        assert len(data["hosts"][0]["reason"]) == 2000  # capped, as a deploy's reason is
        assert [s["host"] for s in data["steps"]] == ["web1", None]
        # The fleet as last seen: each host's newest row that knows what it serves, this app only.
        seen = store.fleet_state()
        assert {name: row.live_commit for name, row in seen.items()} == {"web1": new, "web2": old}
        assert "hosts" not in store.latest(1)[0].to_dict()
        with pytest.raises(AssertionError):
            store.set_host(second.id, "web1", status="exploded")
    finally:
        store.close()
        other.close()
