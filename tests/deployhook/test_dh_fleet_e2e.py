"""A fleet end to end, on one machine: three real OpenSSH servers on 127.0.0.2, .3 and .4
(each its own host key and deploy directory), a real gunicorn per "host" serving that host's
current release, one real nginx in front of the three, and `deployhook serve` deploying to
them over SSH. Tests share the fleet and run in file order, each from whatever is live."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from dh_helpers import (
    CHECK_PY,
    LINK_DEPS_PY,
    MIGRATE_PY,
    REPO,
    SECRET,
    TOKEN,
    LiveDeployhook,
    LoadLoop,
    git,
    start_deployhook,
)

from support import (
    Nginx,
    SSHServer,
    free_port,
    keygen,
    require,
    require_sshd,
    start_nginx,
    start_server,
    start_sshd,
    stop_group,
)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SITE = next(p for p in sys.path if p.endswith("site-packages") and str(BIN.parent) in p)
# `make install-dev` downloads the pinned wheels here; the toy app's one dependency is taken
# from it to build the wheelhouse that is shipped with each release.
WHEELHOUSE = BIN.parent / "wheelhouse"
HOSTS = ("web1", "web2", "web3")

# The toy app knows which host it runs on (FLEET_HOST, set for its gunicorn), so a release can
# be broken on one host only: the list of host names in UNHEALTHY_ON.
APP_PY = """\
import json, os, pathlib
import six  # installed on each host from the wheelhouse shipped with the release
HERE = pathlib.Path(__file__).resolve().parent
REVISION = (HERE / "REVISION").read_text().strip()
BROKEN_ON = HERE / "UNHEALTHY_ON"
HEALTHY = not BROKEN_ON.exists() or os.environ["FLEET_HOST"] not in BROKEN_ON.read_text().split()

def app(environ, start_response):
    if environ.get("PATH_INFO") == "/healthz":
        status = "200 OK" if HEALTHY else "503 Service Unavailable"
        data = {"commit": REVISION if HEALTHY else None, "host": os.environ["FLEET_HOST"],
                "six": six.__file__}
    else:
        status, data = "200 OK", {"commit": REVISION, "host": os.environ["FLEET_HOST"]}
    body = json.dumps(data).encode()
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(body)))])
    return [body]
"""


@dataclass
class Host:
    """One fleet host: its sshd, its deploy directory and its gunicorn."""

    name: str
    sshd: SSHServer
    deploy_to: Path
    app_port: int
    gunicorn: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return self.sshd.address

    @property
    def app_url(self) -> str:
        return f"http://{self.address}:{self.app_port}"

    def served_commit(self, samples: int = 5) -> str:
        seen = set()
        for _ in range(samples):
            with urllib.request.urlopen(f"{self.app_url}/healthz", timeout=5) as resp:  # noqa: S310
                seen.add(json.loads(resp.read())["commit"])
        assert len(seen) == 1, (self.name, seen)
        return seen.pop()

    def live_release(self) -> str:
        return Path(os.readlink(self.deploy_to / "current")).name

    def releases(self) -> list[str]:
        return sorted(p.name for p in (self.deploy_to / "releases").iterdir())


@dataclass
class Fleet(LiveDeployhook):
    tmp: Path
    origin: Path
    config: Path
    known_hosts: Path
    hook_port: int
    hosts: list[Host]
    nginx: Nginx | None = None
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    commits: int = 0

    def commit(self, tests_pass: bool = True, unhealthy_on: tuple[str, ...] = ()) -> str:
        self.commits += 1
        (self.origin / "TESTS_PASS").write_text("yes\n" if tests_pass else "no\n")
        broken = self.origin / "UNHEALTHY_ON"
        if unhealthy_on:
            broken.write_text(" ".join(unhealthy_on) + "\n")
        else:
            broken.unlink(missing_ok=True)
        (self.origin / "VERSION").write_text(f"{self.commits}\n")
        git(self.origin, "add", "-A")
        git(self.origin, "commit", "-q", "-m", f"version {self.commits}")
        return git(self.origin, "rev-parse", "HEAD")

    def served(self) -> dict[str, str]:
        return {host.name: host.served_commit() for host in self.hosts}

    @property
    def proxy_url(self) -> str:
        assert self.nginx is not None
        return f"{self.nginx.url}/"


def write_config(fleet: Fleet, build_dir: Path, key: Path) -> None:
    venv = [sys.executable, "-m", "venv", "--without-pip", ".venv"]
    link = [".venv/bin/python", "link_deps.py"]
    # The gate's dependency, as a wheel inside the tested release: what the hosts install from.
    wheel = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-index"]
    wheel += [
        "--find-links",
        str(WHEELHOUSE),
        "--wheel-dir",
        "wheelhouse",
        "-r",
        "requirements.txt",
    ]
    # On each host; no index or find-links given here: deployhook confines pip to the shipped
    # wheelhouse (PIP_NO_INDEX, PIP_FIND_LINKS), and --ignore-installed puts the package in
    # the release's own venv even though the borrowed site-packages has it too.
    offline = [sys.executable, "-m", "pip", "--python", ".venv/bin/python", "install", "--quiet"]
    offline += ["--ignore-installed", "--no-deps", "-r", "requirements.txt"]
    hosts = "".join(
        f"""
[[hosts]]
name = "{host.name}"
address = "{host.address}"
port = {host.sshd.port}
user = "{host.sshd.user}"
deploy_to = "{host.deploy_to}"
pidfile = "{host.deploy_to.parent / "gunicorn.pid"}"
health_url = "{host.app_url}/healthz"
health_via = "{"ssh" if host.name == "web3" else "deploy-host"}"
"""
        for host in fleet.hosts
    )
    fleet.config.write_text(
        f"""
[server]
port = {fleet.hook_port}
debounce_seconds = 0.2
rate_limit = "1000/minute"
[app]
name = "toy"
repository = "{REPO}"
git_url = "{fleet.origin}"
branch = "main"
deploy_to = "{build_dir}"
keep_releases = 3
[commands]
install = [{json.dumps(venv)}, {json.dumps(link)}]
test = [["python3", "check.py"]]
migrate = [["python3", "migrate.py"]]
env = {{ DEPS_SITE = "{SITE}" }}
[timeouts]
test = 30
reload = 30
health = 6
[reload]
method = "gunicorn-usr2"
[health]
interval = 0.1
confirmations = 3
[rollout]
canary = 1
batch_size = 1
package = [{json.dumps(wheel)}]
install = [{json.dumps(venv)}, {json.dumps(link)}, {json.dumps(offline)}]
[ssh]
key_file = "{key}"
known_hosts = "{fleet.known_hosts}"
connect_timeout = 5
{hosts}"""
    )


def start_gunicorn(host: Host) -> None:
    current = host.deploy_to / "current"
    env = dict(
        os.environ,
        FLEET_HOST=host.name,
        APP_ROOT=str(host.deploy_to),
        GUNICORN_BIND=f"{host.address}:{host.app_port}",
        GUNICORN_PIDFILE=str(host.deploy_to.parent / "gunicorn.pid"),
        GUNICORN_WORKERS="2",
        GUNICORN_GRACEFUL_TIMEOUT="10",
        GUNICORN_ACCESSLOG="",
    )
    conf = ROOT / "deploy" / "gunicorn.conf.py"
    host.gunicorn = start_server(
        [current / ".venv/bin/python", "-m", "gunicorn", "-c", conf, "app:app"],
        host.deploy_to.parent / "gunicorn.log",
        cwd=current,
        env=env,
        ready=f"{host.app_url}/healthz",
        below=600,
    )


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    require_sshd()
    require(bool(shutil.which("nginx")), "nginx")
    require(any(WHEELHOUSE.glob("six-*.whl")), f"the wheelhouse in {WHEELHOUSE} (make install-dev)")
    tmp = tmp_path_factory.mktemp("fleet")
    origin = tmp / "origin"
    origin.mkdir()
    git(origin, "init", "-q", "-b", "main")
    sources = {
        "app.py": APP_PY,
        "check.py": CHECK_PY,
        "link_deps.py": LINK_DEPS_PY,
        "migrate.py": MIGRATE_PY,
        "requirements.txt": "six==1.17.0\n",
    }
    for name, text in sources.items():
        (origin / name).write_text(text)
    key = keygen(tmp / "deploy_key", "deployhook")
    authorized = tmp / "authorized_keys"
    authorized.write_text((tmp / "deploy_key.pub").read_text())
    hosts: list[Host] = []
    fleet = Fleet(tmp, origin, tmp / "deployhook.toml", tmp / "known_hosts", free_port(), hosts)
    try:
        for n, name in enumerate(HOSTS, 2):
            sshd = start_sshd(f"127.0.0.{n}", free_port(), tmp / name / "ssh", authorized)
            hosts.append(Host(name, sshd, tmp / name / "srv", free_port()))
        fleet.known_hosts.write_text("".join(h.sshd.known_hosts_line() for h in hosts))
        write_config(fleet, tmp / "build", key)
        # The first release, before any app server runs: shipped and switched, no reload.
        first = fleet.commit()
        boot = fleet.cli("deploy", "--no-reload")
        assert boot.returncode == 0, boot.stdout + boot.stderr
        for host in hosts:
            assert (host.deploy_to / "current" / "REVISION").read_text().strip() == first
            start_gunicorn(host)
        fleet.nginx = start_nginx([f"{h.address}:{h.app_port}" for h in hosts], tmp)
        fleet.procs["deployhook"] = start_deployhook(
            fleet.hook_port, tmp / "deployhook.log", fleet.environ(), "--config", fleet.config
        )
        assert set(fleet.served().values()) == {first}
        yield fleet
    finally:
        for proc in fleet.procs.values():
            stop_group(proc)
        if fleet.nginx is not None:
            fleet.nginx.stop()
        for host in hosts:
            if host.gunicorn is not None:
                stop_group(host.gunicorn)
            host.sshd.stop()


def step_seconds(record: dict[str, Any], host: str | None, *names: str) -> float:
    return sum(
        s["duration"] or 0
        for s in record["steps"]
        if s["host"] == host and any(s["name"].startswith(n) for n in names)
    )


def test_a_push_goes_live_on_every_host_with_zero_failed_requests(fleet: Fleet) -> None:
    old = fleet.hosts[0].served_commit()
    new = fleet.commit()
    with LoadLoop(fleet.proxy_url) as load:
        time.sleep(0.5)
        started = time.monotonic()
        record = fleet.wait(fleet.push(new))
        took = time.monotonic() - started
        time.sleep(0.5)
    assert record["status"] == "succeeded", json.dumps(record, indent=1)
    assert load.failures == [], load.failures[:5]
    # Not even a failure that nginx hid by retrying on another host.
    assert fleet.nginx is not None and fleet.nginx.upstream_errors() == []
    assert load.total >= 300 and load.ok[old] > 0 and load.ok[new] > 0
    assert fleet.served() == {name: new for name in HOSTS}
    rows = {row["host"]: row for row in record["hosts"]}
    assert {name: (r["status"], r["live_commit"]) for name, r in rows.items()} == {
        name: ("live", new) for name in HOSTS
    }
    for host in fleet.hosts:
        assert host.live_release() == record["release"]
        # Its dependency came from the shipped wheelhouse, into the release's own venv.
        with urllib.request.urlopen(f"{host.app_url}/healthz", timeout=5) as resp:  # noqa: S310
            six_file = Path(json.loads(resp.read())["six"])
        venv = host.deploy_to / "releases" / record["release"] / ".venv"
        assert six_file.resolve().is_relative_to(venv.resolve()), six_file
        shipped = host.deploy_to / "releases" / record["release"] / "wheelhouse"
        assert [p.name for p in shipped.iterdir()] == ["six-1.17.0-py2.py3-none-any.whl"]
    # Built and tested once, here; every host got the same package, checked on arrival.
    names = [(s["host"], s["name"]) for s in record["steps"]]
    assert names.count((None, "test")) == 1
    for name in HOSTS:
        assert (name, f"{name}: verify sha256") in names
        assert (name, f"{name}: reload (gunicorn USR2) + health") in names
    # web3's health URL is fetched on web3 itself, over SSH.
    reloads = {s["host"]: s for s in record["steps"] if "USR2" in s["name"]}
    assert "with curl over SSH" in reloads["web3"]["output"]
    assert "with curl over SSH" not in reloads["web1"]["output"]
    # Migrations ran once, on the first host only.
    assert new in (fleet.hosts[0].deploy_to / "shared" / "migrations.log").read_text()
    for host in fleet.hosts[1:]:
        assert not (host.deploy_to / "shared" / "migrations.log").exists()
    # The canary went first: its switch ended before the second host's began.
    order = [s["host"] for s in record["steps"] if s["name"].endswith("switch current")]
    assert order == list(HOSTS)
    build = sum(s["duration"] or 0 for s in record["steps"] if s["host"] is None)
    ship = max(
        step_seconds(record, h, f"{h}: prepare", f"{h}: upload", f"{h}: verify", f"{h}: unpack")
        + step_seconds(record, h, f"{h}: remove package", f"{h}: install")
        for h in HOSTS
    )
    switch = {h: round(step_seconds(record, h, f"{h}: switch", f"{h}: reload"), 2) for h in HOSTS}
    web1 = {s["name"][6:]: round(s["duration"], 2) for s in record["steps"] if s["host"] == "web1"}
    print(
        f"\nfleet deploy: {took:.2f}s end to end; build+test once {build:.2f}s; ship (slowest "
        f"host) {ship:.2f}s; switch+reload+health per host {switch}; {load.total} requests "
        f"through nginx, {len(load.failures)} failed, per commit {dict(load.ok)}; web1's steps "
        f"{web1}"
    )


def test_a_release_unhealthy_on_the_second_host_leaves_all_three_on_the_previous_commit(
    fleet: Fleet,
) -> None:
    old = fleet.served()
    assert len(set(old.values())) == 1
    live = {host.name: host.live_release() for host in fleet.hosts}
    broken = fleet.commit(unhealthy_on=("web2",))
    with LoadLoop(fleet.proxy_url) as load:
        record = fleet.wait(fleet.push(broken))
        time.sleep(0.3)
    assert record["status"] == "rolled_back", json.dumps(record, indent=1)
    assert "web2" in record["reason"] and "health check" in record["reason"], record["reason"]
    assert load.failures == [], load.failures[:5]
    # Not even a failure that nginx hid by retrying on another host.
    assert fleet.nginx is not None and fleet.nginx.upstream_errors() == []
    assert fleet.served() == old
    assert {host.name: host.live_release() for host in fleet.hosts} == live
    rows = {row["host"]: row for row in record["hosts"]}
    assert rows["web1"]["status"] == "rolled_back"  # the canary was live, and went back
    assert rows["web2"]["status"] == "rolled_back" and "failed here" in rows["web2"]["reason"]
    assert rows["web3"]["status"] == "untouched"
    assert {r["live_commit"] for r in rows.values()} == set(old.values())
    for host in fleet.hosts:  # the rejected release is gone from every host
        assert record["release"] not in host.releases()


def test_an_unreachable_host_aborts_before_any_switch(fleet: Fleet) -> None:
    old = fleet.served()
    web3 = fleet.hosts[2]
    web3.sshd.stop()
    try:
        record = fleet.wait(fleet.push(fleet.commit()))
    finally:
        web3.sshd.start(web3.sshd.authorized_keys)
    assert record["status"] == "failed", json.dumps(record, indent=1)
    assert "web3" in record["reason"] and "nothing switched" in record["reason"]
    assert fleet.served() == old
    assert not any(s["name"].endswith("switch current") for s in record["steps"])
    rows = {row["host"]: row["status"] for row in record["hosts"]}
    assert rows == {"web1": "untouched", "web2": "untouched", "web3": "failed"}


def test_a_changed_host_key_is_refused(fleet: Fleet) -> None:
    old = fleet.served()
    web2 = fleet.hosts[1]
    web2.sshd.new_host_key()  # same address and port, another machine as far as SSH can tell
    record = fleet.wait(fleet.push(fleet.commit()))
    assert record["status"] == "failed", json.dumps(record, indent=1)
    assert "host key of web2" in record["reason"] and "does not match" in record["reason"]
    assert "nothing switched" in record["reason"]
    assert fleet.served() == old
    known = fleet.known_hosts.read_text()
    assert web2.sshd.known_hosts_line() not in known  # nothing was learnt on the way
    # The operator's fix once the new key is confirmed: the fleet deploys again.
    lines = [line for line in known.splitlines(keepends=True) if web2.address not in line]
    fleet.known_hosts.write_text("".join(lines) + web2.sshd.known_hosts_line())


def test_status_lists_each_hosts_live_commit(fleet: Fleet) -> None:
    served = fleet.served()
    out = fleet.cli("status")
    assert out.returncode == 0, out.stderr
    for host in fleet.hosts:
        line = next(x for x in out.stdout.splitlines() if x.startswith(f"host {host.name} "))
        assert f"live commit {served[host.name]}" in line and host.live_release() in line
    data = json.loads(fleet.cli("status", "--json").stdout)
    assert {h["host"]: h["live_commit"] for h in data["hosts"]} == served


def test_the_deploy_page_shows_each_host(fleet: Fleet) -> None:
    deploys = json.loads(fleet.get("/api/deploys?limit=20")[1])["deploys"]
    rolled_back = next(d for d in deploys if d["status"] == "rolled_back")
    status, page = fleet.get(f"/deploys/{rolled_back['id']}")
    assert status == 200
    assert 'id="hosts"' in page
    for name in HOSTS:
        assert f'<th scope="row">{name}</th>' in page
    assert "untouched" in page and "rolled back" in page.replace("rolled_back", "rolled back")


def test_rollback_takes_the_fleet_back_together(fleet: Fleet) -> None:
    before = fleet.served()
    live = fleet.hosts[0].live_release()
    previous = [n for n in fleet.hosts[0].releases() if n < live][-1]
    expected = (fleet.hosts[0].deploy_to / "releases" / previous / "REVISION").read_text().strip()
    assert set(before.values()) != {expected}
    with LoadLoop(fleet.proxy_url) as load:
        out = fleet.cli("rollback")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "succeeded" in out.stdout
    assert load.failures == [], load.failures[:5]
    # Not even a failure that nginx hid by retrying on another host.
    assert fleet.nginx is not None and fleet.nginx.upstream_errors() == []
    assert fleet.served() == {name: expected for name in HOSTS}
    assert {host.live_release() for host in fleet.hosts} == {previous}


def test_the_ssh_key_and_secrets_reach_no_log_or_record(fleet: Fleet) -> None:
    key = (fleet.tmp / "deploy_key").read_text()
    secrets = [line for line in key.splitlines() if line and not line.startswith("-----")]
    deploys = json.loads(fleet.get("/api/deploys?limit=50")[1])["deploys"]
    records = [fleet.get(f"/api/deploys/{d['id']}")[1] for d in deploys]
    hosts = {s["host"] for record in records for s in json.loads(record)["steps"]}
    assert set(HOSTS) <= hosts  # the records do hold the hosts' steps
    texts = [
        *records,
        (fleet.tmp / "deployhook.log").read_text(),
        *(p.read_bytes().decode("latin-1") for p in (fleet.tmp / "build").glob("*.sqlite3*")),
    ]
    for text in texts:
        assert SECRET not in text and TOKEN not in text
        assert not any(part in text for part in secrets)
