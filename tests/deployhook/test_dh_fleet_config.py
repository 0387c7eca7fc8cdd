"""Fleet configuration: [[hosts]], [ssh] and [rollout] are checked like every other table,
every problem at once, and a config without [[hosts]] is the single-host config it always was."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from dh_helpers import DEPLOYHOOK, SECRET, base_config

from deployhook.config import ConfigError, config_from_dict

ENV = {"DEPLOYHOOK_SECRET": SECRET}


def fleet_config(tmp_path: Path, hosts: list[dict[str, Any]] | None = None, **extra: Any) -> dict:
    (tmp_path / "id_ed25519").write_text("not read by the config\n")
    (tmp_path / "known_hosts").write_text("")
    data = base_config(tmp_path)
    data["reload"] = {"method": "gunicorn-usr2"}
    data["hosts"] = hosts or [
        {
            "name": f"web{n}",
            "address": f"10.0.0.{n}",
            "user": "deploy",
            "deploy_to": "/srv/app",
            "pidfile": "/run/app/gunicorn.pid",
            "health_url": f"http://10.0.0.{n}:8000/healthz",
        }
        for n in (1, 2, 3)
    ]
    data["ssh"] = {"key_file": "id_ed25519", "known_hosts": "known_hosts"}
    data.update(extra)
    return data


def test_a_fleet_is_parsed_with_its_defaults(tmp_path: Path) -> None:
    cfg = config_from_dict(
        fleet_config(tmp_path, rollout={"batch_size": 2, "install": [["make", "install"]]}),
        ENV,
        base_dir=tmp_path,
    )
    assert cfg.fleet and [h.name for h in cfg.hosts] == ["web1", "web2", "web3"]
    web2 = cfg.hosts[1]
    assert (web2.address, web2.port, web2.user) == ("10.0.0.2", 22, "deploy")
    assert web2.deploy_to == PurePosixPath("/srv/app")
    assert web2.reload_method == "gunicorn-usr2"
    assert web2.reload_pidfile == PurePosixPath("/run/app/gunicorn.pid")
    assert cfg.ssh is not None and cfg.ssh.key_file == tmp_path / "id_ed25519"
    assert cfg.ssh.known_hosts == tmp_path / "known_hosts" and cfg.ssh.allow_agent is False
    assert (cfg.rollout.canary, cfg.rollout.batch_size, cfg.rollout.abort) == (1, 2, "rollback")
    assert cfg.rollout.install == (("make", "install"),)
    assert cfg.rollout.exclude == (".venv", ".git")
    # No global pidfile or health URL is needed: each host has its own.
    assert cfg.reload_pidfile is None and cfg.health_url is None


def test_a_single_host_config_is_unchanged(tmp_path: Path) -> None:
    cfg = config_from_dict(base_config(tmp_path), ENV)
    assert not cfg.fleet and cfg.hosts == () and cfg.ssh is None
    # ...and still needs its own pidfile when it reloads gunicorn.
    data = base_config(tmp_path, reload={"method": "gunicorn-usr2"})
    with pytest.raises(ConfigError, match="pidfile is required"):
        config_from_dict(data, ENV)


def test_every_fleet_problem_is_reported_at_once(tmp_path: Path) -> None:
    hosts = [
        {"name": "web 1", "address": "-oProxyCommand=x", "deploy_to": "srv", "port": 0},
        {
            "name": "web2",
            "address": "10.0.0.2",
            "deploy_to": "/srv",
            "user": "root;id",
            "health_via": "carrier pigeon",
        },
        {
            "name": "web2",
            "address": "10.0.0.3",
            "deploy_to": "/srv",
            "pidfile": "/p",
            "health_url": "ftp://x",
            "bogus": 1,
        },
    ]
    data = fleet_config(
        tmp_path,
        hosts,
        rollout={
            "canary": 4,
            "batch_size": 0,
            "pause_seconds": -1,
            "abort": "pray",
            "install": "make install",
        },
    )
    data["ssh"] = {"key_file": "missing-key", "connect_timeout": 0}
    with pytest.raises(ConfigError) as err:
        config_from_dict(data, ENV, base_dir=tmp_path)
    text = "\n".join(err.value.problems)
    for expected in (
        "[hosts 1] name 'web 1' may only contain",
        "[hosts 1] address '-oProxyCommand=x' is not a host name or an IP address",
        "[hosts 1] port must be between 1 and 65535",
        "[hosts 1] deploy_to must be an absolute path on the host",
        "[hosts 1] pidfile (an absolute path on the host) is required",
        "[hosts 2] user 'root;id' is not a plain user name",
        "[hosts 2] health_via must be one of ['deploy-host', 'ssh'], got 'carrier pigeon'",
        "[hosts 3] health_url must be an http(s) URL",
        "[hosts 3] unknown key 'bogus'",
        "[[hosts]] name 'web2' is used more than once",
        f"[ssh] key_file {tmp_path / 'missing-key'} does not exist",
        "[ssh] known_hosts is required",
        "[ssh] connect_timeout must be positive",
        "[rollout] canary must be between 1 and the number of hosts (3)",
        "[rollout] batch_size must be at least 1",
        "[rollout] pause_seconds must not be negative",
        "[rollout] abort must be one of ['rollback', 'halt']",
        "[rollout] install must be a list of argument lists",
    ):
        assert expected in text, f"{expected!r} not in:\n{text}"


def test_ssh_and_rollout_need_hosts(tmp_path: Path) -> None:
    data = base_config(tmp_path, ssh={"key_file": "k"}, rollout={"canary": 1})
    with pytest.raises(ConfigError) as err:
        config_from_dict(data, ENV)
    assert "[ssh] only applies to a fleet" in str(err.value)
    assert "[rollout] only applies to a fleet" in str(err.value)


@pytest.mark.parametrize("hosts", [[], "web1", [{"name": "a"}, 3]])
def test_hosts_must_be_a_list_of_tables(tmp_path: Path, hosts: Any) -> None:
    data = fleet_config(tmp_path)
    data["hosts"] = hosts
    with pytest.raises(ConfigError, match=r"\[\[hosts\]\] must be a non-empty list of tables"):
        config_from_dict(data, ENV, base_dir=tmp_path)


def test_a_fleet_without_ssh_settings_is_refused(tmp_path: Path) -> None:
    data = fleet_config(tmp_path)
    del data["ssh"]
    with pytest.raises(ConfigError, match="a fleet needs \\[ssh\\] with key_file and known_hosts"):
        config_from_dict(data, ENV, base_dir=tmp_path)


def test_check_config_lists_the_hosts_and_never_the_key(tmp_path: Path) -> None:
    key = tmp_path / "id_ed25519"
    # Built at run time: the repository's secret scan rightly flags a key-shaped literal.
    key.write_text("-----BEGIN " + "OPENSSH PRIVATE KEY-----\nc2VjcmV0LWtleS1ib2R5\n-----END\n")
    (tmp_path / "known_hosts").write_text("")
    config = tmp_path / "fleet.toml"
    config.write_text(
        f"""
[app]
name = "widget"
repository = "acme/widget"
git_url = "{tmp_path / "origin.git"}"
branch = "main"
deploy_to = "{tmp_path / "build"}"
[commands]
test = [["true"]]
[[hosts]]
name = "web1"
address = "10.0.0.1"
deploy_to = "/srv/app"
pidfile = "/run/app/gunicorn.pid"
health_url = "http://10.0.0.1:8000/healthz"
[ssh]
key_file = "id_ed25519"
known_hosts = "known_hosts"
[rollout]
batch_size = 2
"""
    )
    out = subprocess.run(
        [str(DEPLOYHOOK), "check-config", "--config", str(config)],
        env={**os.environ, **ENV},
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "host web1 (deploy@10.0.0.1:22): /srv/app, reload gunicorn-usr2" in out.stdout
    assert f"ssh key {key};" in out.stdout
    assert "rollout: canary 1, batches of 2, on failure rollback" in out.stdout
    assert "c2VjcmV0" not in out.stdout + out.stderr
