"""Run one logged step: an argument list (never a shell), with a timeout and capped output."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .procs import end_group
from .redact import Redactor
from .results import Outcome, StepResult
from .store import Store

log = logging.getLogger(__name__)

FLUSH_EVERY = 1.0  # seconds between live output updates in the database

# What a step inherits from deployhook's own environment. Everything else (the webhook
# secret, the operator token, whatever systemd or a shell put there) stays out: steps run
# third-party installers and the pushed code's tests, which must not learn our secrets.
INHERITED = ("PATH", "HOME", "LANG", "TZ")
INHERITED_PREFIXES = ("LC_",)


def step_environment(
    extra: Mapping[str, str] | None = None, source: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The allow-listed part of ``source`` (default: our environment) plus ``extra``."""
    source = os.environ if source is None else source
    env = {
        name: value
        for name, value in source.items()
        if name in INHERITED or name.startswith(INHERITED_PREFIXES)
    }
    env.update(extra or {})
    return env


# Process groups of running steps: they live in their own sessions (so a timeout can kill
# the whole tree), which also means nobody else stops them when deployhook shuts down.
_ACTIVE: set[int] = set()
_ACTIVE_LOCK = threading.Lock()


def kill_active_steps() -> int:
    """Terminate every running step's process group (on shutdown); returns how many."""
    with _ACTIVE_LOCK:
        groups = list(_ACTIVE)
    for pgid in groups:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
    return len(groups)


class CappedBuffer:
    """Keeps the first and the last part of a long output, which is where errors live."""

    def __init__(self, cap: int) -> None:
        self.cap = max(cap, 1024)
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0
        self.lock = threading.Lock()

    def write(self, data: bytes) -> None:
        """Append, dropping the middle once the cap is reached."""
        with self.lock:
            room = self.cap // 4 - len(self.head)
            if room > 0:
                self.head += data[:room]
                data = data[room:]
            self.tail += data
            excess = len(self.tail) - (self.cap - self.cap // 4)
            if excess > 0:
                del self.tail[:excess]
                self.dropped += excess

    def text(self) -> str:
        """Decoded output with a marker where bytes were dropped."""
        with self.lock:
            middle = f"\n[... {self.dropped} bytes omitted ...]\n" if self.dropped else ""
            return (bytes(self.head).decode("utf-8", "replace") + middle) + bytes(self.tail).decode(
                "utf-8", "replace"
            )


@dataclass
class OpenStep:
    """A step row that has been created and not yet finished."""

    id: int
    started: float


class StepLogger:
    """The one writer of a running deploy's record: its steps (commands and Python-side
    actions), the fields learnt on the way, and its outcome. Everything it stores passes
    through the redactor first.
    """

    def __init__(
        self,
        store: Store,
        deploy_id: int,
        output_cap: int = 64 * 1024,
        redactor: Redactor | None = None,
    ) -> None:
        self.store = store
        self.deploy_id = deploy_id
        self.output_cap = output_cap
        self.redactor = redactor or Redactor()
        self._cancelled = False
        # A fleet deploy logs steps from one thread per host: positions are handed out in turn.
        self._begin_lock = threading.Lock()

    def cancel_requested(self) -> bool:
        """Whether an operator asked to cancel this deploy (remembered once seen)."""
        if not self._cancelled:
            try:
                self._cancelled = self.store.cancel_requested(self.deploy_id)
            except Exception:  # an unreadable flag must not break the deploy itself
                log.warning("could not read the cancel flag of deploy %s", self.deploy_id)
        return self._cancelled

    # -- the deploy row --------------------------------------------------------------------
    def update(self, **fields: Any) -> None:
        """Record fields discovered while running (resolved sha, release names)."""
        self.store.update_deploy(self.deploy_id, **fields)

    def host(self, name: str, **fields: Any) -> None:
        """Record how far a fleet host got (status, live commit and release, reason)."""
        if "reason" in fields:
            fields["reason"] = self.redactor.text(fields["reason"])
        self.store.set_host(self.deploy_id, name, **fields)

    def finish(self, outcome: Outcome) -> None:
        """Record the outcome and release the app lock."""
        reason = self.redactor.text(outcome.reason)
        self.store.finish(self.deploy_id, outcome.status, reason, **outcome.fields)

    # -- step rows -------------------------------------------------------------------------
    def begin(
        self, name: str, command: Sequence[str] | None = None, host: str | None = None
    ) -> OpenStep:
        """Create the step row now, so the dashboard shows it while it runs; ``host`` names
        the fleet host it runs on."""
        # git fetch's argument list holds the repository URL, credentials and all.
        shown = [self.redactor.text(arg) for arg in command] if command is not None else None
        with self._begin_lock:
            step_id = self.store.start_step(self.deploy_id, name, shown, host)
        return OpenStep(step_id, time.monotonic())

    def end(self, step: OpenStep, ok: bool, text: str) -> StepResult:
        """Finish a Python-side step: exit code 0 or 1 and its report."""
        return self._end(step, 0 if ok else 1, text)

    def _end(self, step: OpenStep, exit_code: int | None, text: str) -> StepResult:
        duration = time.monotonic() - step.started
        text = self.redactor.text(text)
        self.store.end_step(step.id, exit_code, duration, text)
        return StepResult(exit_code == 0, exit_code, text, duration)

    def call(
        self,
        name: str,
        func: Callable[[], str],
        command: list[str] | None = None,
        host: str | None = None,
    ) -> StepResult:
        """Log a Python-side step (symlink switch, health check, a command on a fleet host)
        like a command."""
        step = self.begin(name, command, host)
        try:
            return self.end(step, True, func())
        except StepFailed as exc:
            return self.end(step, False, str(exc))
        except OSError as exc:
            return self.end(step, False, f"{type(exc).__name__}: {exc}")

    def run(
        self,
        name: str,
        argv: Sequence[str],
        *,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 600.0,
    ) -> StepResult:
        """Run ``argv`` in its own process group, so a timeout kills its children too.

        The environment is :func:`step_environment` plus ``env``; output is masked by the
        redactor before it is stored, even while the step is still running.
        """
        step = self.begin(name, argv)
        if self.cancel_requested():
            return self._end(step, None, "[deployhook: not started, the deploy was cancelled]")
        try:
            proc = subprocess.Popen(  # noqa: S603 - argv comes from the config, never the payload
                list(argv),
                cwd=cwd,
                env=step_environment(env),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            return self._end(step, None, f"could not start {argv[0]!r}: {exc}")
        with _ACTIVE_LOCK:
            _ACTIVE.add(proc.pid)
        try:
            self._record_group(step, proc.pid)
            text, finished = self._follow(step, proc, timeout)
        finally:
            if proc.poll() is None:  # we are leaving on an error: take the step with us
                _kill_group(proc)
            with _ACTIVE_LOCK:
                _ACTIVE.discard(proc.pid)
        if not finished and self._cancelled:
            text += "\n[deployhook: cancelled by the operator, process group ended]"
            return self._end(step, None, text)
        if not finished:
            text += f"\n[deployhook: timed out after {timeout:g}s, process group killed]"
            return self._end(step, None, text)
        return self._end(step, proc.returncode, text)

    def _record_group(self, step: OpenStep, pgid: int) -> None:
        # Recorded so that a restarted deployhook can end this group if we die mid-step.
        # Failing to record it weakens only that, so the step goes on.
        try:
            self.store.step_process(step.id, pgid)
        except Exception:
            log.warning("could not record process group %s of step %s", pgid, step.id)

    def _follow(
        self, step: OpenStep, proc: subprocess.Popen[bytes], timeout: float
    ) -> tuple[str, bool]:
        """Collect masked output until the process exits or its time is up (then kill its
        group); store the output so far every FLUSH_EVERY seconds. Returns (output, exited)."""
        assert proc.stdout is not None
        stdout = proc.stdout
        buf = CappedBuffer(self.output_cap)
        masked = self.redactor.stream(buf.write)

        def pump() -> None:
            for chunk in iter(lambda: stdout.read1(8192), b""):
                masked.write(chunk)

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        deadline = step.started + timeout
        last_flush = step.started
        exited = True
        while True:
            try:
                proc.wait(timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                now = time.monotonic()
                if now >= deadline:
                    exited = False
                    _kill_group(proc)
                    break
                if now - last_flush >= FLUSH_EVERY:
                    last_flush = now
                    self.store.step_output(step.id, buf.text())
                    if self.cancel_requested():
                        exited = False
                        _kill_group(proc)
                        break
        reader.join(timeout=5)
        masked.close()
        return buf.text(), exited


class StepFailed(Exception):
    """A Python-side step failed with a message meant for the operator."""


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    # TERM first so test runners can clean up; KILL whatever is left after a grace period.
    # The step's own process exiting is not enough: a server it started may still be
    # shutting down with its output elsewhere, so the whole group is watched in /proc.
    end_group(proc.pid, grace=5.0)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5.0)
