"""Deploying a fleet: one tested build, shipped over SSH to every host, canary first.

The release is fetched, checked out, installed and test-gated once, here, by the stages the
single-host pipeline has always run. What passed is then packed (the release tree, plus
whatever ``[rollout] package`` adds, e.g. a wheelhouse; minus ``[rollout] exclude``, e.g. the
local .venv) into one tarball with a sha256, and every host gets exactly that:

    connect   log in to every host (strict host keys); read what each one serves now
    ship      in parallel: upload, check the sha256 there, unpack into releases/<name>,
              run ``[rollout] install`` offline (PIP_NO_INDEX, PIP_FIND_LINKS=wheelhouse)
    link      shared paths into the release, on every host
    migrate   ``[commands] migrate`` once, on the first host, before any switch
    rollout   the canary hosts switch ``current`` and reload, and must become healthy; then
              the rest, batch by batch. If a host fails, every host already switched goes
              back to its previous release (``abort = "rollback"``) and the deploy ends
              ``rolled_back`` naming the host and the reason.

Until the rollout nothing any host serves has changed: a host that cannot be reached, a
checksum that does not match or an install that fails ends the deploy with nothing switched.
Each host's progress is a row in the store (``HostState``) and every remote step is logged
with the host's name, so the deploy page, the JSON API and ``deployhook status`` read it all
from one place.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tarfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import paramiko

from .config import Config, HostConfig
from .pipeline import RELEASE_RE, Build, ReleasePipeline, StageFailed
from .reload import Health, gunicorn_usr2
from .results import Outcome, ReloadResult
from .runner import StepFailed, StepLogger
from .ssh import HostUnreachable, SSHHost, connect
from .store import Deploy

log = logging.getLogger(__name__)

Connector = Callable[[HostConfig], SSHHost]
SSH_ERRORS = (OSError, EOFError, paramiko.SSHException, HostUnreachable)
# A health probe run on the host: the body, then the HTTP status on a line of its own.
CURL = (
    "curl",
    "--silent",
    "--show-error",
    "--max-time",
    "3",
    "--write-out",
    "\n%{http_code}",
    "--",
)


class HostFailed(Exception):
    """One host could not do its part; ``reason`` says what, for the deploy's reason."""

    def __init__(self, target: Target, reason: str) -> None:
        super().__init__(reason)
        self.target = target
        self.reason = reason


@dataclass
class Target:
    """One host during a fleet deploy: its connection and what it served before."""

    config: HostConfig
    ops: SSHHost | None = None
    previous: str | None = None  # the release live before this deploy
    previous_commit: str | None = None
    switched: bool = False
    failed: bool = False
    reload: ReloadResult | None = None

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def host(self) -> SSHHost:
        assert self.ops is not None, f"{self.name} is not connected"
        return self.ops

    def path(self, *parts: str) -> str:
        """A path under the host's deploy_to."""
        return str(PurePosixPath(self.config.deploy_to, *parts))


@dataclass
class FleetBuild(Build):
    """A fleet deploy on its way: the build, the package and the hosts."""

    targets: list[Target] = field(default_factory=list)
    package: Path | None = None
    digest: str = ""


class FleetPipeline(ReleasePipeline):
    """Build and test once here, ship the tested release to every host, switch them in order."""

    def __init__(self, config: Config, connector: Connector | None = None) -> None:
        super().__init__(config)
        self.packages = self.root / "packages"
        ssh = config.ssh
        assert ssh is not None, "a fleet config always has [ssh]"
        self.connector: Connector = connector or (lambda host: connect(host, ssh))

    # -- the deploy ------------------------------------------------------------------------
    def deploy(self, deploy: Deploy, steps: StepLogger) -> Outcome:
        """The local stages up to the test gate, the fleet stages, then the rollout."""
        try:
            build = FleetBuild(deploy, steps, *self._target(deploy))
        except StageFailed as exc:
            return Outcome("failed", exc.reason)
        build.targets = [Target(host) for host in self.config.hosts]
        for target in build.targets:
            steps.host(target.name, address=target.config.label, status="pending")
        stages: tuple[tuple[str, Callable[[FleetBuild], None]], ...] = (
            ("fetch", self.fetch),
            ("verify", self.verify),
            ("checkout", self.checkout),
            ("install", self.install),
            ("test", self.test),
            ("package", self.package),
            ("connect", self.connect),
            ("ship", self.ship),
            ("link", self.link_hosts),
            ("migrate", self.migrate_first),
        )
        try:
            self.run_stages(build, stages)
            log.info("deploy #%s: rollout", deploy.id)
            return self.roll_out(build, discard_on_abort=True)
        except StageFailed as exc:
            status, reason = exc.status, exc.reason
            if steps.cancel_requested():
                status, reason = "cancelled", f"cancelled by the operator; {reason}"
            self._discard(build)
            return Outcome(status, reason, build.fields())
        finally:
            self._disconnect(build)

    # -- stages after the test gate --------------------------------------------------------
    def package(self, build: FleetBuild) -> None:
        """``[rollout] package`` in the tested release, then one tarball and its sha256."""
        release = build.directory
        env = self._env(release, build.commit)
        commands = self.config.rollout.package
        for i, argv in enumerate(commands, 1):
            label = "package" if len(commands) == 1 else f"package {i}/{len(commands)}"
            timeout = self.config.timeout("install")
            if not build.steps.run(label, argv, cwd=release, env=env, timeout=timeout).ok:
                raise StageFailed(f"package command {' '.join(argv)!r} failed; nothing shipped")

        def pack() -> str:
            self.packages.mkdir(parents=True, exist_ok=True)
            path = self.packages / f"{release.name}.tar.gz"
            exclude = set(self.config.rollout.exclude)
            with tarfile.open(path, "w:gz", compresslevel=6) as tar:
                tar.add(release, arcname=".", filter=lambda info: _kept(info, exclude))
            build.package, build.digest = path, _sha256(path)
            size = path.stat().st_size
            return (
                f"{path.name}: {size} bytes, sha256 {build.digest} "
                f"(left out: {', '.join(sorted(exclude)) or 'nothing'})"
            )

        if not build.steps.call("pack release", pack).ok:
            raise StageFailed("could not pack the tested release; nothing shipped")

    def connect(self, build: FleetBuild) -> None:
        """Log in to every host (in parallel) and read the release each one serves."""

        def one(target: Target) -> None:
            def login() -> str:
                try:
                    target.ops = self.connector(target.config)
                except HostUnreachable as exc:
                    raise StepFailed(str(exc)) from None
                target.previous = _release_name(target.host.readlink(target.path("current")))
                if target.previous:
                    revision = target.host.read_text(target.path("current", "REVISION"))
                    target.previous_commit = (revision or "").strip() or None
                # previous_release now, not only at the end: after a crash mid-rollout,
                # recovery reads it to switch the host back.
                build.steps.host(
                    target.name,
                    live_release=target.previous,
                    live_commit=target.previous_commit,
                    previous_release=target.previous,
                )
                return f"connected; live release {target.previous or '(none)'}"

            self._host_step(build, target, "connect", login, ["ssh", target.config.label])

        failed = self._each(build, build.targets, one)
        if failed:
            raise StageFailed(
                f"{_names(failed)} unreachable before the switch: {failed[0].reason}; "
                "nothing switched"
            )
        build.previous = build.targets[0].previous

    def ship(self, build: FleetBuild) -> None:
        """Upload the package to every host in parallel, check it, unpack and install it."""
        failed = self._each(build, build.targets, lambda target: self._ship_one(build, target))
        if failed:
            raise StageFailed(
                f"shipping failed on {_names(failed)}: {failed[0].reason}; nothing switched"
            )

    def _ship_one(self, build: FleetBuild, target: Target) -> None:
        assert build.package is not None
        name, package, digest = build.directory.name, build.package, build.digest
        release, incoming = target.path("releases", name), target.path("incoming", package.name)
        dirs = [target.path("releases"), target.path("shared"), target.path("incoming")]
        self._remote(build, target, "prepare", ["mkdir", "-p", *dirs])

        def upload() -> str:
            target.host.put(package, incoming)
            return f"{package.stat().st_size} bytes -> {incoming}"

        self._host_step(build, target, "upload", upload, ["sftp", "put", package.name, incoming])

        def check() -> str:
            code, out = target.host.run(
                ["sha256sum", "--", incoming], timeout=120, stdout_only=True
            )
            got = out.split()[0] if code == 0 and out.split() else f"(sha256sum exited {code})"
            if got != digest:
                raise StepFailed(f"sha256 on arrival {got} is not the package's {digest}")
            return f"sha256 {got} matches"

        self._host_step(build, target, "verify sha256", check, ["sha256sum", "--", incoming])
        self._remote(build, target, "unpack", ["mkdir", release])
        self._remote(build, target, "unpack", ["tar", "-xzf", incoming, "-C", release])
        self._remote(build, target, "remove package", ["rm", "-f", "--", incoming])
        env = self._host_env(target, release, build.commit)
        commands = self.config.rollout.install
        for i, argv in enumerate(commands, 1):
            label = "install" if len(commands) == 1 else f"install {i}/{len(commands)}"
            timeout = self.config.timeout("install")
            self._remote(build, target, label, argv, cwd=release, env=env, timeout=timeout)
        build.steps.host(target.name, status="shipped")

    def link_hosts(self, build: FleetBuild) -> None:
        """Shared paths (.env, instance/) into the release on every host."""
        if not self.config.shared_paths:
            return

        def one(target: Target) -> None:
            release = target.path("releases", build.directory.name)
            for rel in self.config.shared_paths:
                source, dest = target.path("shared", rel), f"{release}/{rel}"
                if not target.host.exists(source):
                    continue  # not there yet on this host, as on a single host
                self._remote(build, target, "link shared", ["rm", "-rf", "--", dest])
                self._remote(build, target, "link shared", ["ln", "-s", "--", source, dest])

        failed = self._each(build, build.targets, one)
        if failed:
            raise StageFailed(f"linking shared files failed on {_names(failed)}; nothing switched")

    def migrate_first(self, build: FleetBuild) -> None:
        """``[commands] migrate`` once, on the first host, before any host switches: it must
        be backwards compatible with the release the other hosts still serve."""
        first = build.targets[0]
        release = first.path("releases", build.directory.name)
        env = self._host_env(first, release, build.commit)
        commands = self.config.migrate
        for i, argv in enumerate(commands, 1):
            label = "migrate" if len(commands) == 1 else f"migrate {i}/{len(commands)}"
            timeout = self.config.timeout("migrate")
            try:
                self._remote(build, first, label, argv, cwd=release, env=env, timeout=timeout)
            except HostFailed as exc:
                first.failed = True
                build.steps.host(first.name, status="failed", reason=exc.reason)
                raise StageFailed(
                    f"migrate on {first.name} failed: {exc.reason}; nothing switched"
                ) from None

    # -- the rollout -----------------------------------------------------------------------
    def batches(self, targets: Sequence[Target]) -> list[list[Target]]:
        """The canary hosts, then the rest in batches of ``batch_size``, in config order."""
        rollout = self.config.rollout
        canary, rest = list(targets[: rollout.canary]), list(targets[rollout.canary :])
        size = rollout.batch_size
        return [canary] + [rest[i : i + size] for i in range(0, len(rest), size)]

    def roll_out(self, build: FleetBuild, *, discard_on_abort: bool) -> Outcome:
        """Switch and reload host after host; on a failure, abort as ``[rollout] abort`` says."""
        name, sha = build.directory.name, build.commit
        pause = self.config.rollout.pause_seconds
        for n, batch in enumerate(self.batches(build.targets)):
            if n and pause:
                build.steps.call(f"pause {pause:g}s", lambda: _sleep(pause))
            failed = self._each(build, batch, lambda target: self._go_live(build, target))
            if failed:
                return self._abort(build, failed[0], discard_on_abort)
        for target in build.targets:
            build.steps.host(
                target.name,
                status="live",
                live_release=name,
                live_commit=sha,
                previous_release=target.previous,
                reason="",
            )
        self._prune_hosts(build)
        self.prune(build)
        return Outcome("succeeded", f"live on {len(build.targets)} hosts", build.fields())

    def _go_live(self, build: FleetBuild, target: Target) -> None:
        release = target.path("releases", build.directory.name)
        current = target.path("current")

        def switch() -> str:
            target.host.switch_symlink(current, release)
            target.switched = True
            return f"current: {target.previous} -> {build.directory.name}"

        self._host_step(build, target, "switch current", switch, ["ln", "-sfn", release, current])
        build.steps.host(target.name, live_release=build.directory.name, live_commit=build.commit)
        if build.deploy.options.get("skip_reload"):
            self._host_step(build, target, "reload", lambda: "skipped (first deploy)", None)
            return
        target.reload = self._reload_host(build.steps, target, build.commit, "reload")
        if not target.reload.ok:
            raise HostFailed(target, "the new release failed its reload/health check")

    def _abort(self, build: FleetBuild, failure: HostFailed, discard: bool) -> Outcome:
        """Put every switched host back (or stop where we are, with ``abort = "halt"``)."""
        switched = [t for t in build.targets if t.switched]
        where = f"{failure.target.config.label}: {failure.reason}"
        if self.config.rollout.abort == "halt":
            return self._halt(build, failure, where)
        notes = [self._switch_back(build, target) for target in reversed(switched)]
        for target in build.targets:
            if not target.switched:
                build.steps.host(target.name, status="untouched")
        if discard:
            self._discard(build)
        stuck = [note for note in notes if note]
        outcome = "; ".join(stuck) if stuck else "every host is back on its previous release"
        return Outcome(
            "rolled_back",
            f"{where}; switched back {_names(switched)}: {outcome}",
            build.fields(),
        )

    def _halt(self, build: FleetBuild, failure: HostFailed, where: str) -> Outcome:
        """``abort = "halt"``: the failing host goes back to its previous release; the hosts
        that passed keep the new one; the rest are not touched."""
        failing = failure.target
        if failing.switched:
            note = self._switch_back(build, failing)
            back = (
                f"did not come back cleanly ({note})" if note else "is back on its previous release"
            )
        else:
            back = "was not switched"
        live = [t for t in build.targets if t.switched and t is not failing]
        for target in build.targets:
            if target in live:
                build.steps.host(target.name, status="live", previous_release=target.previous)
            elif not target.switched and target is not failing:
                build.steps.host(target.name, status="untouched")
        return Outcome(
            "failed",
            f"{where}; halted as configured: the new release stays live on "
            f"{_names(live) or 'no host'}, {failing.name} {back}, the rest untouched",
            build.fields(),
        )

    def _switch_back(self, build: FleetBuild, target: Target) -> str:
        """Point one host back at its previous release and make sure it serves it."""
        failed_here = target.reload is not None and not target.reload.ok
        reason = "the new release failed here" if failed_here else "another host failed"
        if target.previous is None or target.previous_commit is None:
            build.steps.host(target.name, status="failed", reason=f"{reason}; no previous release")
            return f"{target.name} has no previous release to go back to"
        previous = target.path("releases", target.previous)

        def back() -> str:
            target.host.switch_symlink(target.path("current"), previous)
            return f"current: -> {target.previous}"

        self._host_step(build, target, "rollback: switch current back", back, None)
        ok = True
        if build.deploy.options.get("skip_reload"):
            pass
        elif target.reload is None or target.reload.old_retired:
            sha = target.previous_commit
            ok = self._reload_host(build.steps, target, sha, "rollback: reload").ok
        else:
            sha = target.previous_commit
            ok = self._health_host(build.steps, target, sha, "rollback: health")
        build.steps.host(
            target.name,
            status="rolled_back",
            live_release=target.previous,
            live_commit=target.previous_commit,
            reason=reason if ok else f"{reason}; previous release ALSO unhealthy",
        )
        return "" if ok else f"{target.name}: previous release ALSO unhealthy"

    # -- reload and health on a host -------------------------------------------------------
    def _health_of(self, target: Target) -> Health | None:
        cfg, url = self.config, target.config.health_url
        if not url:
            return None
        settings = (url, cfg.health_commit_field, cfg.health_interval, cfg.health_confirmations)
        if target.config.health_via == "ssh":
            return HealthOverSSH(*settings, host=target.host)
        return Health(*settings)

    def _reload_host(self, steps: StepLogger, target: Target, sha: str, label: str) -> ReloadResult:
        cfg, host = self.config, target.config
        if host.reload_method == "gunicorn-usr2":
            health = self._health_of(target)
            assert host.reload_pidfile is not None and health is not None
            step = steps.begin(
                f"{target.name}: {label} (gunicorn USR2) + health",
                ["kill", "-USR2", str(host.reload_pidfile)],
                target.name,
            )
            try:
                result = gunicorn_usr2(
                    host.reload_pidfile,
                    health,
                    sha,
                    cfg.timeout("reload"),
                    cfg.timeout("health"),
                    host=target.host,
                )
            except SSH_ERRORS as exc:
                steps.end(step, False, f"{type(exc).__name__}: {exc}")
                return ReloadResult(False, "", old_retired=True)
            steps.end(step, result.ok, result.log)
            return result
        if host.reload_method == "command":
            step = steps.begin(f"{target.name}: {label}", list(host.reload_command), target.name)
            try:
                code, out = target.host.run(host.reload_command, timeout=cfg.timeout("reload"))
            except SSH_ERRORS as exc:
                code, out = None, f"{type(exc).__name__}: {exc}"
            steps.end(step, code == 0, out)
            if code != 0:
                return ReloadResult(False, out, old_retired=True)
        ok = self._health_host(steps, target, sha, f"{label}: health")
        return ReloadResult(ok, "", old_retired=True)

    def _health_command(self, target: Target, url: str) -> list[str]:
        if target.config.health_via == "ssh":
            return ["ssh", target.config.label, *HealthOverSSH.command(url)]
        return ["GET", url]

    def _health_host(self, steps: StepLogger, target: Target, sha: str, label: str) -> bool:
        health = self._health_of(target)
        if health is None:
            return True
        timeout = self.config.timeout("health")

        def check() -> str:
            ok, report = health.wait_for(sha, timeout)
            if not ok:
                raise StepFailed(report)
            return report

        command = self._health_command(target, health.url)
        return steps.call(f"{target.name}: {label}", check, command, target.name).ok

    # -- operator rollback -----------------------------------------------------------------
    def rollback(self, deploy: Deploy, steps: StepLogger) -> Outcome:
        """Every host back to the previous (or named) release, canary first, with the same
        reload and health checks; if one fails, all go back to what they served."""
        build = FleetBuild(deploy, steps, self.config.branch, None)
        build.targets = [Target(host) for host in self.config.hosts]
        try:
            self.connect(build)
            target_name, sha = self._rollback_target(build, deploy.options.get("release"))
        except StageFailed as exc:
            self._disconnect(build)
            return Outcome("failed", exc.reason)
        build.sha, build.release = sha, self.releases / target_name
        try:
            outcome = self.roll_out(build, discard_on_abort=False)
        finally:
            self._disconnect(build)
        if outcome.status == "succeeded":
            outcome.reason = f"rolled back every host from {build.previous} to {target_name}"
        elif outcome.status == "rolled_back":
            outcome.status = "failed"
            outcome.reason = (
                f"rollback to {target_name} failed; hosts went back to what they served: "
                f"{outcome.reason}"
            )
        return outcome

    def _rollback_target(self, build: FleetBuild, wanted: Any) -> tuple[str, str]:
        first = build.targets[0]
        names = sorted(n for n in first.host.listdir(first.path("releases")) if RELEASE_RE.match(n))
        live = first.previous
        if wanted:
            if not isinstance(wanted, str) or wanted not in names:
                have = ", ".join(names)
                raise StageFailed(f"no release named {wanted!r} on {first.name} (have: {have})")
            target = wanted
        else:
            older = [n for n in names if live is None or n < live]
            if not older:
                raise StageFailed(f"no release older than {live} on {first.name} to roll back to")
            target = older[-1]
        if all(t.previous == target for t in build.targets):
            raise StageFailed(f"{target} is already live on every host")
        missing = [t for t in build.targets if target not in t.host.listdir(t.path("releases"))]
        if missing:
            raise StageFailed(f"{target} is not kept on {_names(missing)}; nothing switched")
        revision = first.host.read_text(first.path("releases", target, "REVISION")) or ""
        sha = revision.strip()
        if not sha:
            raise StageFailed(f"{target} has no REVISION file on {first.name}")
        return target, sha

    # -- after a crash ---------------------------------------------------------------------
    def recover(self, deploy: Deploy) -> str:
        """After deployhook died mid-deploy: every host switched to the unfinished release goes
        back to the release it served before (its row's previous_release), and the unfinished
        release is removed wherever it is not live. App servers are not reloaded here; the
        note says when to run `deployhook rollback`. Returns what was done."""
        notes = [super().recover(deploy)]
        release = deploy.release
        if deploy.trigger == "rollback" or not release or not RELEASE_RE.match(release):
            return "; ".join(n for n in notes if n)
        rows = {row.host: row for row in deploy.hosts}
        for host in self.config.hosts:
            row = rows.get(host.name)
            try:
                notes.append(
                    self._recover_host(host, release, row.previous_release if row else None)
                )
            except SSH_ERRORS as exc:
                notes.append(f"{host.name}: not recovered ({exc}); check it by hand")
        if any("switched back" in note for note in notes):
            notes.append(
                "if an app server had already been reloaded onto the new release, run "
                "`deployhook rollback` or redeploy"
            )
        return "; ".join(n for n in notes if n)

    def _recover_host(self, host: HostConfig, release: str, previous: str | None) -> str:
        ops = self.connector(host)
        try:
            root = PurePosixPath(host.deploy_to)
            current, releases = str(root / "current"), root / "releases"
            live = _release_name(ops.readlink(current))
            done = []
            if live == release and previous:
                ops.switch_symlink(current, str(releases / previous))
                done.append(f"current switched back to {previous}")
                live = previous
            if live != release and release in ops.listdir(str(releases)):
                ops.run(["rm", "-rf", "--", str(releases / release)], timeout=300)
                done.append(f"removed unfinished release {release}")
            return f"{host.name}: {', '.join(done)}" if done else ""
        finally:
            ops.close()

    # -- helpers ---------------------------------------------------------------------------
    def planned_steps(self, deploy: Deploy) -> int:
        """Roughly how many steps a fleet deploy has, for "3 of 40" while it runs."""
        hosts = len(self.config.hosts)
        if deploy.trigger == "rollback":
            return hosts * 3
        cfg = self.config
        local = 5 + len(cfg.install) + len(cfg.test) + int(deploy.trigger == "webhook")
        per_host = 8 + len(cfg.rollout.install) + 2 * len(cfg.shared_paths)
        return local + len(cfg.rollout.package) + 1 + hosts * per_host + len(cfg.migrate) + 1

    def _host_env(self, target: Target, release: str, sha: str) -> dict[str, str]:
        # What a step on a host learns: the same variables as a step here, with the host's
        # paths, and pip told to install only from the shipped wheelhouse (if any).
        env = dict(self.config.env)
        env.update(
            DEPLOYHOOK_SHA=sha,
            DEPLOYHOOK_RELEASE_DIR=release,
            DEPLOYHOOK_SHARED_DIR=target.path("shared"),
            DEPLOYHOOK_APP=self.config.app_name,
            DEPLOYHOOK_HOST=target.name,
            PIP_NO_INDEX="1",
            PIP_FIND_LINKS=f"{release}/wheelhouse",
        )
        return env

    def _host_step(
        self,
        build: FleetBuild,
        target: Target,
        name: str,
        func: Callable[[], str],
        command: list[str] | None,
    ) -> None:
        """Log one step on a host; raise HostFailed if it failed (SSH errors included)."""

        def guarded() -> str:
            try:
                return func()
            except SSH_ERRORS as exc:
                raise StepFailed(f"{type(exc).__name__}: {exc}") from None

        result = build.steps.call(f"{target.name}: {name}"[:64], guarded, command, target.name)
        if not result.ok:
            raise HostFailed(target, f"{name} failed: {_last_line(result.output)}")

    def _remote(
        self,
        build: FleetBuild,
        target: Target,
        name: str,
        argv: Sequence[str],
        *,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 300.0,
    ) -> None:
        """Run an argument list on a host as a logged step."""

        def run() -> str:
            code, out = target.host.run(argv, cwd=cwd, env=env, timeout=timeout)
            if code != 0:
                how = "timed out" if code is None else f"exited {code}"
                raise StepFailed(f"{out}\n[{' '.join(argv)!r} {how}]")
            return out

        self._host_step(build, target, name, run, list(argv))

    def _each(
        self, build: FleetBuild, targets: Sequence[Target], work: Callable[[Target], None]
    ) -> list[HostFailed]:
        """Run ``work`` for each host in parallel; the failures, in host order."""

        def guarded(target: Target) -> HostFailed | None:
            try:
                work(target)
            except HostFailed as exc:
                target.failed = True
                build.steps.host(target.name, status="failed", reason=exc.reason)
                return exc
            return None

        if len(targets) == 1:
            results = [guarded(targets[0])]
        else:
            with ThreadPoolExecutor(max_workers=len(targets)) as pool:
                results = list(pool.map(guarded, targets))
        return [r for r in results if r is not None]

    def _prune_hosts(self, build: FleetBuild) -> None:
        keep = self.config.keep_releases

        def one(target: Target) -> None:
            names = sorted(
                n for n in target.host.listdir(target.path("releases")) if RELEASE_RE.match(n)
            )
            survivors = set(names[-keep:]) | {build.directory.name, target.previous}
            old = [target.path("releases", n) for n in names if n not in survivors]
            if old:
                self._remote(build, target, f"prune (keep {keep})", ["rm", "-rf", "--", *old])

        # A release left over is untidy, not wrong: a failed prune never fails the deploy.
        self._each(build, build.targets, one)

    def _discard(self, build: FleetBuild) -> None:
        """Remove the new release here and on every host where it is not live."""
        if build.release is not None:
            self._remove_release(build.steps, build.release)
        if build.package is not None:
            build.package.unlink(missing_ok=True)
        name = build.release.name if build.release is not None else None

        def one(target: Target) -> None:
            if not target.switched and not target.failed:
                build.steps.host(target.name, status="untouched")
            if target.ops is None or name is None:
                return
            if _release_name(target.host.readlink(target.path("current"))) == name:
                return
            release = target.path("releases", name)
            if target.host.is_dir(release):
                self._remote(build, target, "remove release", ["rm", "-rf", "--", release])

        self._each(build, build.targets, one)

    def _disconnect(self, build: FleetBuild) -> None:
        for target in build.targets:
            if target.ops is not None:
                target.ops.close()
                target.ops = None


@dataclass
class HealthOverSSH(Health):
    """The health URL fetched on the host itself, with curl run over SSH: for an app server
    that listens only on the host's loopback."""

    host: SSHHost | None = None

    @staticmethod
    def command(url: str) -> list[str]:
        """curl's argument list: the body, then the status code on a line of its own."""
        return [*CURL, url]

    def wait_for(self, expected: str, timeout: float, **kwargs: Any) -> tuple[bool, str]:
        """As for any health URL; the report says where the requests were made."""
        ok, report = super().wait_for(expected, timeout, **kwargs)
        where = self.host.label if self.host is not None else "the host"
        return ok, f"{report}\n(fetched on {where} with curl over SSH)"

    def probe(self) -> tuple[bool, str]:
        """One request from the host: (reports something, the commit or an error)."""
        assert self.host is not None
        try:
            code, out = self.host.run(self.command(self.url), timeout=10, stdout_only=True)
        except SSH_ERRORS as exc:
            return False, f"{type(exc).__name__}: {exc}"
        body, _, status = out.rstrip("\n").rpartition("\n")
        if code != 0 or not status.isdigit():
            return False, f"curl on the host: {out.strip()[-200:] or f'exit {code}'}"
        if int(status) >= 400:
            return False, f"HTTP {status}"
        try:
            data = json.loads(body)
        except ValueError as exc:
            return False, f"ValueError: {exc}"
        value = data.get(self.field) if isinstance(data, dict) else None
        return True, str(value)


def pipeline_for(config: Config) -> ReleasePipeline:
    """The fleet pipeline for a config with [[hosts]], the single-host one otherwise."""
    return FleetPipeline(config) if config.fleet else ReleasePipeline(config)


def _kept(info: tarfile.TarInfo, exclude: set[str]) -> tarfile.TarInfo | None:
    parts = PurePosixPath(info.name).parts
    top = parts[1] if len(parts) > 1 and parts[0] == "." else (parts[0] if parts else "")
    return None if top in exclude else info


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _release_name(link: str | None) -> str | None:
    name = PurePosixPath(link).name if link else None
    return name if name and RELEASE_RE.match(name) else None


def _names(items: Sequence[Target | HostFailed]) -> str:
    return ", ".join(i.target.name if isinstance(i, HostFailed) else i.name for i in items)


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no output"


def _sleep(seconds: float) -> str:
    time.sleep(seconds)
    return f"waited {seconds:g}s before the next batch"
