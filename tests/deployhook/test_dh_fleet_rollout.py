"""The fleet rollout's decisions with real git, a real store and fake app servers, on hosts
that are this machine (the SSH transport itself is tested against real sshd in
test_dh_ssh.py and test_dh_fleet_e2e.py): batches, all-or-nothing, and `abort = "halt"`."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from dh_helpers import SECRET, FakeAppServer, base_config, git

from deployhook.config import Config, HostConfig, config_from_dict
from deployhook.fleet import FleetPipeline, Target
from deployhook.hostops import LocalHost
from deployhook.store import Store
from deployhook.worker import Worker

HOSTS = ("web1", "web2", "web3")


class LocalFleetHost(LocalHost):
    """A fleet host that is this machine: the SFTP-side operations as plain file calls."""

    def __init__(self, host: HostConfig) -> None:
        self.host = host
        self.label = host.label

    def listdir(self, path: str) -> list[str]:
        try:
            return os.listdir(path)
        except OSError:
            return []

    def is_dir(self, path: str) -> bool:
        return Path(path).is_dir()

    def exists(self, path: str) -> bool:
        return os.path.lexists(path)

    def put(self, local: Path, remote: str) -> None:
        shutil.copyfile(local, remote)

    def close(self) -> None:
        pass


class Fleet:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.origin = tmp / "origin"
        self.origin.mkdir()
        git(self.origin, "init", "-q", "-b", "main")
        self.apps = {name: FakeAppServer(tmp / name) for name in HOSTS}
        (tmp / "key").write_text("")
        (tmp / "known_hosts").write_text("")
        self.n = 0

    def commit(self) -> str:
        self.n += 1
        (self.origin / "VERSION").write_text(str(self.n))
        git(self.origin, "add", "-A")
        git(self.origin, "commit", "-q", "-m", f"v{self.n}")
        return git(self.origin, "rev-parse", "HEAD")

    def config(self, **rollout: Any) -> Config:
        data = base_config(self.tmp / "build")
        data["app"]["git_url"] = str(self.origin)
        data["reload"] = {"method": "command", "command": ["true"]}
        data["health"] = {"interval": 0.05, "confirmations": 1}
        data["timeouts"] = {"health": 2}
        data["hosts"] = [
            {
                "name": name,
                "address": f"10.0.0.{n}",
                "deploy_to": str(self.tmp / name),
                "health_url": self.apps[name].url,
            }
            for n, name in enumerate(HOSTS, 1)
        ]
        data["ssh"] = {
            "key_file": str(self.tmp / "key"),
            "known_hosts": str(self.tmp / "known_hosts"),
        }
        data["rollout"] = rollout
        return config_from_dict(data, {"DEPLOYHOOK_SECRET": SECRET}, base_dir=self.tmp)

    def deploy(self, config: Config, **options: Any) -> Any:
        store = Store(config.database_url, config.app_name)
        try:
            store.enqueue(trigger="manual", ref="refs/heads/main", options=options)
            pipeline = FleetPipeline(config, connector=LocalFleetHost)
            done = Worker(store, config, pipeline).run_once()
            assert done is not None
            return done
        finally:
            store.close()

    def live(self) -> dict[str, str]:
        return {n: (self.tmp / n / "current" / "REVISION").read_text().strip() for n in HOSTS}


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    f = Fleet(tmp_path)
    yield f
    for app in f.apps.values():
        app.server.shutdown()


def test_canary_then_batches_in_config_order(fleet: Fleet) -> None:
    pipeline = FleetPipeline(fleet.config(canary=1, batch_size=2), connector=LocalFleetHost)
    targets = [Target(HostConfig(f"h{n}", "a", PurePosixPath("/srv"))) for n in range(1, 6)]
    batches = [[t.name for t in batch] for batch in pipeline.batches(targets)]
    assert batches == [["h1"], ["h2", "h3"], ["h4", "h5"]]


def test_a_failure_on_the_second_host_takes_every_switched_host_back(fleet: Fleet) -> None:
    first = fleet.commit()
    boot = fleet.deploy(fleet.config(), skip_reload=True)
    assert boot.status == "succeeded", boot.reason
    assert fleet.live() == dict.fromkeys(HOSTS, first)
    broken = fleet.commit()
    fleet.apps["web2"].broken.add(broken)
    done = fleet.deploy(fleet.config())
    assert done.status == "rolled_back", done.reason
    assert done.reason.startswith("web2 (deploy@10.0.0.2:22): the new release failed")
    assert fleet.live() == dict.fromkeys(HOSTS, first)
    rows = {h.host: (h.status, h.live_commit) for h in done.hosts}
    assert rows == {
        "web1": ("rolled_back", first),
        "web2": ("rolled_back", first),
        "web3": ("untouched", first),
    }
    # The rejected release is removed everywhere; the migrations ran once, on web1.
    for name in HOSTS:
        assert not any(
            p.name.endswith(broken[:7]) for p in (fleet.tmp / name / "releases").iterdir()
        )


def test_halt_keeps_the_hosts_that_passed_and_takes_the_failing_one_back(fleet: Fleet) -> None:
    first = fleet.commit()
    assert fleet.deploy(fleet.config(), skip_reload=True).status == "succeeded"
    broken = fleet.commit()
    fleet.apps["web2"].broken.add(broken)
    done = fleet.deploy(fleet.config(abort="halt"))
    assert done.status == "failed", done.reason
    assert "halted as configured: the new release stays live on web1" in done.reason
    assert fleet.live() == {"web1": broken, "web2": first, "web3": first}
    rows = {h.host: h.status for h in done.hosts}
    assert rows == {"web1": "live", "web2": "rolled_back", "web3": "untouched"}


def test_a_failing_migration_switches_nothing(fleet: Fleet) -> None:
    first = fleet.commit()
    assert fleet.deploy(fleet.config(), skip_reload=True).status == "succeeded"
    fleet.commit()
    config = fleet.config()
    failing = config.__class__(**{**config.__dict__, "migrate": (("false",),)})
    done = fleet.deploy(failing)
    assert done.status == "failed" and "migrate on web1 failed" in done.reason, done.reason
    assert "nothing switched" in done.reason
    assert fleet.live() == dict.fromkeys(HOSTS, first)
    assert {h.host: h.status for h in done.hosts} == {
        "web1": "failed",
        "web2": "untouched",
        "web3": "untouched",
    }


def test_recovery_after_a_crash_switches_hosts_back_and_removes_the_release(
    fleet: Fleet,
) -> None:
    first = fleet.commit()
    assert fleet.deploy(fleet.config(), skip_reload=True).status == "succeeded"
    fleet.commit()
    # Stands in for a deploy that died after switching every host: its record names the
    # release and, per host, the release each one served before.
    config = fleet.config()
    crashed = fleet.deploy(config, skip_reload=True)
    assert {row.previous_release for row in crashed.hosts} == {crashed.previous_release}
    note = FleetPipeline(config, connector=LocalFleetHost).recover(crashed)
    assert fleet.live() == dict.fromkeys(HOSTS, first)
    for name in HOSTS:
        assert f"{name}: current switched back to {crashed.previous_release}" in note
        assert not (fleet.tmp / name / "releases" / crashed.release).exists()
    assert "run `deployhook rollback`" in note
