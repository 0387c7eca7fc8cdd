"""Test-gated atomic releases, Capistrano style.

<deploy_to>/repo        bare git cache, updated with ``git fetch`` (never a pull into live code)
<deploy_to>/releases/   one directory per deploy: <UTC timestamp>-<short sha>, a git worktree
<deploy_to>/current     symlink to the live release, switched atomically with rename(2)
<deploy_to>/shared/     files that outlive releases (.env, instance/), symlinked into each
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from .config import Config, valid_branch
from .events import SHA_RE
from .hostops import switch_symlink
from .reload import Health, gunicorn_usr2
from .results import Outcome, ReloadResult
from .runner import StepFailed, StepLogger, step_environment
from .store import Deploy

BuildT = TypeVar("BuildT", bound="Build")
RELEASE_RE = re.compile(r"^\d{14}-[0-9a-f]{7}(-\d+)?$")

log = logging.getLogger(__name__)


class StageFailed(Exception):
    """A stage before the switch failed; ``reason`` becomes the deploy's reason and
    ``status`` its status (``superseded`` when a newer commit made this one moot)."""

    def __init__(self, reason: str, status: str = "failed") -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass
class Build:
    """One deploy on its way through the stages: what is known so far."""

    deploy: Deploy
    steps: StepLogger
    branch: str
    sha: str | None
    release: Path | None = None
    previous: str | None = None
    stage: str = ""  # the stage running (or that stopped the deploy)

    @property
    def branch_ref(self) -> str:
        """The branch as a full ref."""
        return f"refs/heads/{self.branch}"

    @property
    def commit(self) -> str:
        """The verified commit (from the verify stage on)."""
        assert self.sha is not None
        return self.sha

    @property
    def directory(self) -> Path:
        """The new release's directory (from the checkout stage on)."""
        assert self.release is not None
        return self.release

    def fields(self) -> dict[str, Any]:
        """What the deploy record learns from this build."""
        fields: dict[str, Any] = {}
        if self.sha is not None:
            fields["commit_sha"] = self.sha
        if self.release is not None:
            fields["release"] = self.release.name
            fields["previous_release"] = self.previous
        return fields


class ReleasePipeline:
    """Fetch, check out, install, test, migrate, switch, reload, health-check, prune."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.root = config.deploy_to
        self.repo = self.root / "repo"
        self.releases = self.root / "releases"
        self.current = self.root / "current"
        self.shared = self.root / "shared"

    # -- helpers ---------------------------------------------------------------------------
    def live_release(self) -> str | None:
        """Name of the release ``current`` points to, if any."""
        try:
            return Path(os.readlink(self.current)).name
        except OSError:
            return None

    def release_names(self) -> list[str]:
        """Existing releases, oldest first (names start with a sortable UTC timestamp)."""
        if not self.releases.is_dir():
            return []
        return sorted(p.name for p in self.releases.iterdir() if RELEASE_RE.match(p.name))

    def release_commit(self, name: str) -> str | None:
        """The commit a kept release was built from (its REVISION file)."""
        if not RELEASE_RE.match(name):
            return None
        return _revision(self.releases / name)

    def planned_steps(self, deploy: Deploy) -> int:
        """How many steps this deploy has when nothing goes wrong, for "3 of 9" while it runs
        (a failure adds cleanup steps; a finished deploy shows its real count)."""
        cfg = self.config
        reload_steps = self._planned_reload_steps(deploy)
        if deploy.trigger == "rollback":
            return 1 + reload_steps
        first = (
            any(step.name == "init cache" for step in deploy.steps)
            or not (self.repo / "HEAD").exists()
        )
        return (
            int(first)
            + 2  # fetch, verify commit is on the branch
            + int(deploy.trigger == "webhook")  # verify the push moves forward
            + 2  # checkout, verify HEAD and write REVISION
            + len(cfg.install)
            + len(cfg.test)
            + int(bool(cfg.shared_paths))  # link shared
            + len(cfg.migrate)
            + 1  # switch current
            + reload_steps
            + 1  # prune
        )

    def _planned_reload_steps(self, deploy: Deploy) -> int:
        if deploy.options.get("skip_reload"):
            return 1
        method, health = self.config.reload_method, int(bool(self.config.health_url))
        if method == "gunicorn-usr2":
            return 1  # USR2 and the health check are one step
        return int(method == "command") + health

    def release_subject(self, name: str) -> tuple[str, str] | None:
        """The commit message's first line and its author, from git, for a kept release."""
        if not RELEASE_RE.match(name) or not (self.releases / name).is_dir():
            return None
        out = _git_out(self.releases / name, "log", "-1", "--format=%s%x00%an", "HEAD")
        if not out or "\0" not in out:
            return None
        subject, _, author = out.partition("\0")
        return subject, author

    def _env(self, release: Path, sha: str) -> dict[str, str]:
        # Added to the runner's allow-listed environment: the config's [commands] env and
        # the data a step needs about this deploy. The sha is a verified 40-hex string.
        env = dict(self.config.env)
        env.update(
            DEPLOYHOOK_SHA=sha,
            DEPLOYHOOK_RELEASE_DIR=str(release),
            DEPLOYHOOK_SHARED_DIR=str(self.shared),
            DEPLOYHOOK_APP=self.config.app_name,
        )
        return env

    def _git(self, steps: StepLogger, name: str, *args: str, timeout: float | None = None) -> bool:
        env = {**self.config.env, **_GIT_ENV}
        result = steps.run(
            name, ["git", *args], timeout=timeout or self.config.timeout("fetch"), env=env
        )
        return result.ok

    def _prune_worktrees(self) -> None:
        """Forget git worktrees whose release directory was removed."""
        subprocess.run(  # noqa: S603 - fixed argument list
            ["git", "-C", str(self.repo), "worktree", "prune"],  # noqa: S607
            check=False,
            capture_output=True,
            env=_git_env(),
        )

    def _remove_release(self, steps: StepLogger, release: Path) -> None:
        def remove() -> str:
            shutil.rmtree(release, ignore_errors=True)
            self._prune_worktrees()
            return f"removed {release} (logs are kept in this deploy record)"

        steps.call("remove release", remove)

    # -- the pipeline ----------------------------------------------------------------------
    def run(self, deploy: Deploy, steps: StepLogger) -> Outcome:
        """Entry point used by the worker."""
        for d in (self.releases, self.shared):
            d.mkdir(parents=True, exist_ok=True)
        if deploy.trigger == "rollback":
            return self.rollback(deploy, steps)
        return self.deploy(deploy, steps)

    def deploy(self, deploy: Deploy, steps: StepLogger) -> Outcome:
        """Build and test a new release, then switch to it; the live app is touched only last.

        Capistrano's flow: fetch the branch into the cache, verify the commit, check out a
        new release, install, test, link shared files, migrate, switch ``current``, reload
        (switching back if the new release is unhealthy), prune old releases. Until the
        switch, a failure removes the new release and leaves the live app as it was.
        """
        try:
            build = Build(deploy, steps, *self._target(deploy))
        except StageFailed as exc:
            return Outcome("failed", exc.reason)
        stages: tuple[tuple[str, Callable[[Build], None]], ...] = (
            ("fetch", self.fetch),
            ("verify", self.verify),
            ("checkout", self.checkout),
            ("install", self.install),
            ("test", self.test),
            ("link", self.link),
            ("migrate", self.migrate),
            ("switch", self.switch),
        )
        try:
            self.run_stages(build, stages)
        except StageFailed as exc:
            status, reason = exc.status, exc.reason
            if steps.cancel_requested():
                # Only stages before the switch stop here: the live app was never touched.
                status = "cancelled"
                reason = f"cancelled by the operator during {build.stage}; live app untouched"
            log.info("deploy #%s %s: %s", deploy.id, status, reason)
            if build.release is not None:
                self._remove_release(steps, build.release)
            return Outcome(status, reason, build.fields())
        log.info("deploy #%s: reload", deploy.id)
        return self.reload(build)

    def run_stages(
        self, build: BuildT, stages: Sequence[tuple[str, Callable[[BuildT], None]]]
    ) -> None:
        """Run named stages in order, each logged; stop before the next once cancelled."""
        for name, stage in stages:
            build.stage = name
            if build.steps.cancel_requested():
                raise StageFailed(f"cancelled by the operator before {name}")
            log.info("deploy #%s: %s", build.deploy.id, name)
            stage(build)

    # -- the stages of a deploy, in order ---------------------------------------------------
    def _target(self, deploy: Deploy) -> tuple[str, str | None]:
        """The branch to fetch and the commit asked for (None: the branch's head)."""
        branch = self.config.branch
        if deploy.ref.startswith("refs/heads/"):
            branch = deploy.ref[len("refs/heads/") :]
        if not valid_branch(branch):
            raise StageFailed(f"refusing invalid branch name {branch!r}")
        sha = deploy.commit_sha
        if sha is not None and not SHA_RE.match(sha):
            raise StageFailed("refusing a commit that is not a 40-hex sha")
        return branch, sha

    def fetch(self, build: Build) -> None:
        """Update the bare cache from the repository (never a pull into live code)."""
        steps = build.steps
        if not (self.repo / "HEAD").exists() and not self._git(
            steps, "init cache", "init", "--bare", "--quiet", str(self.repo)
        ):
            raise StageFailed("could not create the git cache")
        ref = build.branch_ref
        if not self._git(
            steps,
            "fetch",
            "-C",
            str(self.repo),
            "fetch",
            "--prune",
            "--no-tags",
            "--force",
            self.config.git_url,
            f"+{ref}:{ref}",
        ):
            raise StageFailed("git fetch failed")

    def verify(self, build: Build) -> None:
        """Resolve the commit (the branch head for a manual deploy) and check it is on the
        branch as just fetched."""
        ref = build.branch_ref
        if build.sha is None:
            head = _git_out(
                self.repo, "rev-parse", "--verify", "--end-of-options", f"{ref}^{{commit}}"
            )
            if head is None or not SHA_RE.match(head):
                raise StageFailed(f"could not resolve {ref}")
            build.sha = build.deploy.commit_sha = head
        if not self._git(
            build.steps,
            "verify commit is on the branch",
            "-C",
            str(self.repo),
            "merge-base",
            "--is-ancestor",
            build.sha,
            ref,
        ):
            raise StageFailed(f"commit {build.sha} is not on {ref} in {self.config.git_url}")
        if build.deploy.trigger == "webhook":
            # A webhook may only move production forward: a replayed or late push of an
            # older commit is set aside, never built. Going back is an operator's action.
            sha = build.sha
            check = build.steps.call(
                "verify the push moves forward", lambda: self._forward_only(sha, ref)
            )
            if not check.ok:
                raise StageFailed(check.output, status="superseded")

    def checkout(self, build: Build) -> None:
        """A new release directory: a detached worktree of the commit, stamped REVISION."""
        sha = build.commit
        release = build.release = self._new_release_dir(sha)
        build.previous = self.live_release()
        # Recorded now, not only at the end: if deployhook dies mid-deploy, recovery on the
        # next start knows which release directory to clean up and where to switch back.
        build.steps.update(**build.fields())
        if not self._git(
            build.steps,
            "checkout",
            "-C",
            str(self.repo),
            "worktree",
            "add",
            "--detach",
            str(release),
            sha,
        ):
            raise StageFailed("git worktree add failed")

        def verify_and_stamp() -> str:
            head = _git_out(release, "rev-parse", "HEAD")
            if head != sha:
                raise StepFailed(f"checked-out HEAD {head} is not the pushed commit {sha}")
            (release / "REVISION").write_text(sha + "\n")
            return f"HEAD is {sha}; wrote REVISION"

        if not build.steps.call("verify HEAD, write REVISION", verify_and_stamp).ok:
            raise StageFailed("checked-out tree does not match the pushed commit")

    def install(self, build: Build) -> None:
        """[commands] install in the new release."""
        self._run_commands(build, "install")

    def test(self, build: Build) -> None:
        """[commands] test: the gate; nothing goes live unless every command passes."""
        self._run_commands(build, "test")

    def link(self, build: Build) -> None:
        """Symlink shared paths (.env, instance/) into the release."""
        # Linked only after the tests: they run on a pristine checkout, as in CI, so
        # production settings in shared/.env cannot leak into them.
        if self.config.shared_paths:
            release = build.directory
            build.steps.call("link shared", lambda: self._link_shared(release))

    def migrate(self, build: Build) -> None:
        """[commands] migrate, with the shared files linked."""
        self._run_commands(build, "migrate")

    def switch(self, build: Build) -> None:
        """Point ``current`` at the new release in one rename."""
        release = build.directory
        if not build.steps.call(
            "switch current", lambda: self._switch(release), ["ln", "-sfn", str(release), "current"]
        ).ok:
            raise StageFailed("could not switch the current symlink")

    def reload(self, build: Build) -> Outcome:
        """Reload the app server onto the new release; switch back if it is unhealthy."""
        fields = build.fields()
        if build.deploy.options.get("skip_reload"):
            build.steps.call(
                "reload", lambda: "skipped (first deploy: start the app server on current/)"
            )
            self.prune(build)
            return Outcome("succeeded", "deployed without reload", fields)
        result = self._reload(build.steps, build.commit)
        if result.ok:
            self.prune(build)
            return Outcome("succeeded", "", fields)
        return self._switch_back(build, result)

    def prune(self, build: Build) -> None:
        """Remove releases beyond keep_releases, never the new or the previous one."""
        log.info("deploy #%s: prune", build.deploy.id)
        self._prune(build.steps, keep={build.directory.name, build.previous})

    def _switch_back(self, build: Build, result: ReloadResult) -> Outcome:
        fields, steps, previous = build.fields(), build.steps, build.previous
        if previous is None or not (self.releases / previous).is_dir():
            return Outcome(
                "failed", "new release is unhealthy and there is no previous release", fields
            )
        log.info("deploy #%s: unhealthy, switching back to %s", build.deploy.id, previous)
        prev_sha = _revision(self.releases / previous) or ""
        steps.call("rollback: switch current back", lambda: self._switch(self.releases / previous))
        if result.old_retired:
            back = self._reload(steps, prev_sha, label="rollback: reload")
            note = "previous release reloaded" if back.ok else "previous release ALSO unhealthy"
        else:
            self._check_health(steps, prev_sha, label="rollback: health")
            note = "old server never stopped serving the previous release"
        self._remove_release(steps, build.directory)
        return Outcome("rolled_back", f"new release failed its reload/health check; {note}", fields)

    def _run_commands(self, build: Build, stage: str) -> None:
        cfg = self.config
        release = build.directory
        env = self._env(release, build.commit)
        commands: tuple[tuple[str, ...], ...] = getattr(cfg, stage)
        for i, argv in enumerate(commands, 1):
            label = stage if len(commands) == 1 else f"{stage} {i}/{len(commands)}"
            result = build.steps.run(label, argv, cwd=release, env=env, timeout=cfg.timeout(stage))
            if not result.ok:
                how = "timed out" if result.exit_code is None else f"exited {result.exit_code}"
                raise StageFailed(f"{stage} command {' '.join(argv)!r} {how}; live app untouched")

    def _new_release_dir(self, sha: str) -> Path:
        name = time.strftime("%Y%m%d%H%M%S", time.gmtime()) + f"-{sha[:7]}"
        release = self.releases / name
        suffix = 2
        while release.exists():
            release = self.releases / f"{name}-{suffix}"
            suffix += 1
        return release

    # -- operator actions -------------------------------------------------------------------
    def rollback(self, deploy: Deploy, steps: StepLogger) -> Outcome:
        """Switch to the previous (or named) release with the same reload and health check."""
        names = self.release_names()
        live = self.live_release()
        wanted = deploy.options.get("release")
        if wanted:
            if not isinstance(wanted, str) or not RELEASE_RE.match(wanted) or wanted not in names:
                return Outcome("failed", f"no release named {wanted!r} (have: {', '.join(names)})")
            target = wanted
        else:
            older = [n for n in names if live is None or n < live]
            if not older:
                return Outcome("failed", f"no release older than {live} to roll back to")
            target = older[-1]
        if target == live:
            return Outcome("failed", f"{target} is already live")
        sha = _revision(self.releases / target)
        if sha is None:
            return Outcome("failed", f"{target} has no valid REVISION file")
        fields: dict[str, object] = {"commit_sha": sha, "release": target, "previous_release": live}
        steps.call("switch current", lambda: self._switch(self.releases / target))
        result = self._reload(steps, sha)
        if result.ok:
            return Outcome("succeeded", f"rolled back from {live} to {target}", fields)
        if live is not None:
            live_sha = _revision(self.releases / live) or ""
            steps.call("revert: switch current back", lambda: self._switch(self.releases / live))
            if result.old_retired:
                self._reload(steps, live_sha, label="revert: reload")
            else:
                self._check_health(steps, live_sha, label="revert: health")
        return Outcome("failed", f"{target} failed its health check; stayed on {live}", fields)

    def recover(self, deploy: Deploy) -> str:
        """After a crash: undo what a half-finished deploy left behind; say what was done."""
        notes = []
        release = deploy.release
        if not release or not RELEASE_RE.match(release):
            return ""
        live = self.live_release()
        previous = deploy.previous_release
        if live == release and previous and (self.releases / previous).is_dir():
            switch_symlink(self.current, self.releases / previous)
            notes.append(
                f"current switched back to {previous}; if the app server was already reloaded, "
                "run `deployhook rollback` or redeploy"
            )
            live = previous
        if live != release and (self.releases / release).exists():
            shutil.rmtree(self.releases / release, ignore_errors=True)
            notes.append(f"removed unfinished release {release}")
        return "; ".join(notes)

    def _forward_only(self, sha: str, branch_ref: str) -> str:
        """A webhook may deploy only the branch tip as just fetched, or a commit ahead of the
        live one: a signed body replayed later can never take production back. Going back is
        an operator's act (`deployhook rollback`, `deployhook deploy SHA`)."""
        live = _revision(self.current)
        tip = _git_out(self.repo, "rev-parse", "--verify", "--end-of-options", branch_ref)
        if sha == live:
            raise StepFailed(f"commit {sha} is already live; nothing to deploy")
        if sha == tip:
            return f"{sha} is the tip of {branch_ref}"
        ahead = live is not None and self._is_ancestor(live, sha)
        if ahead:
            return f"{sha} is ahead of the live commit {live}"
        raise StepFailed(
            f"commit {sha} is not the tip of {branch_ref} ({tip}) and not ahead of the live "
            f"commit ({live or 'none'}): a webhook never moves production backwards; an "
            f"operator can run `deployhook deploy {sha}`"
        )

    def _is_ancestor(self, older: str, newer: str) -> bool:
        proc = subprocess.run(  # noqa: S603 - fixed arguments, validated shas
            ["git", "-C", str(self.repo), "merge-base", "--is-ancestor", older, newer],  # noqa: S607
            capture_output=True,
            check=False,
            env=_git_env(),
        )
        return proc.returncode == 0

    # -- steps -----------------------------------------------------------------------------
    def _link_shared(self, release: Path) -> str:
        linked = []
        for rel in self.config.shared_paths:
            source, dest = self.shared / rel, release / rel
            if not source.exists():
                continue
            if dest.is_symlink() or dest.is_file():
                dest.unlink()
            elif dest.is_dir():
                shutil.rmtree(dest)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.symlink_to(source)
            linked.append(rel)
        return f"linked from {self.shared}: {', '.join(linked) or 'nothing (none exist yet)'}"

    def _switch(self, release: Path) -> str:
        before = self.live_release()
        switch_symlink(self.current, release)
        return f"current: {before} -> {release.name}"

    def _reload(self, steps: StepLogger, sha: str, label: str = "reload") -> ReloadResult:
        cfg = self.config
        health = self._health()
        if cfg.reload_method == "gunicorn-usr2":
            assert cfg.reload_pidfile is not None and health is not None
            pidfile = cfg.reload_pidfile
            step = steps.begin(f"{label} (gunicorn USR2) + health", ["kill", "-USR2", str(pidfile)])
            try:
                result = gunicorn_usr2(
                    pidfile, health, sha, cfg.timeout("reload"), cfg.timeout("health")
                )
            except OSError as exc:
                # Unknown whether the old master is still there: treat it as gone.
                steps.end(step, False, f"{type(exc).__name__}: {exc}")
                return ReloadResult(False, "", old_retired=True)
            steps.end(step, result.ok, result.log)
            return result
        if cfg.reload_method == "command":
            res = steps.run(label, cfg.reload_command, timeout=cfg.timeout("reload"))
            if not res.ok:
                return ReloadResult(False, res.output, old_retired=True)
        ok = self._check_health(steps, sha, label=f"{label}: health")
        return ReloadResult(ok, "", old_retired=True)

    def _health(self) -> Health | None:
        cfg = self.config
        if not cfg.health_url:
            return None
        return Health(
            cfg.health_url, cfg.health_commit_field, cfg.health_interval, cfg.health_confirmations
        )

    def _check_health(self, steps: StepLogger, sha: str, label: str = "health") -> bool:
        health = self._health()
        if health is None:
            return True
        cfg = self.config

        def check() -> str:
            ok, report = health.wait_for(sha, cfg.timeout("health"))
            if not ok:
                raise StepFailed(report)
            return report

        return steps.call(label, check, ["GET", health.url]).ok

    def _prune(self, steps: StepLogger, keep: set[str | None]) -> None:
        def prune() -> str:
            names = self.release_names()
            survivors = set(names[-self.config.keep_releases :]) | {n for n in keep if n}
            live = self.live_release()
            if live:
                survivors.add(live)
            removed = []
            for name in names:
                if name not in survivors:
                    shutil.rmtree(self.releases / name, ignore_errors=True)
                    removed.append(name)
            self._prune_worktrees()
            return f"kept {len(names) - len(removed)}, removed: {', '.join(removed) or 'none'}"

        steps.call(f"prune (keep {self.config.keep_releases})", prune)


# Never prompt for credentials in a background worker; fail instead.
_GIT_ENV = {"GIT_TERMINAL_PROMPT": "0"}


def _git_env() -> dict[str, str]:
    # deployhook's own git calls get the same allow-listed environment as steps.
    return step_environment(_GIT_ENV)


def _git_out(cwd: Path, *args: str) -> str | None:
    proc = subprocess.run(  # noqa: S603 - fixed arguments, validated values
        ["git", "-C", str(cwd), *args],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
        env=_git_env(),
    )
    return proc.stdout.strip() if proc.returncode == 0 else None


def _revision(release: Path) -> str | None:
    try:
        sha = (release / "REVISION").read_text().strip()
    except OSError:
        return None
    return sha if SHA_RE.match(sha) else None


PipelineFactory = Callable[[Config], ReleasePipeline]
