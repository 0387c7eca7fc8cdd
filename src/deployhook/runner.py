"""Run one logged step: an argument list (never a shell), with a timeout and capped output."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .redact import Redactor
from .store import Store

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


@dataclass
class StepResult:
    """How a step ended; ``exit_code`` is None for a timeout or a Python-side failure."""

    ok: bool
    exit_code: int | None
    output: str
    duration: float


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


class StepLogger:
    """Writes steps of one deploy to the store; used by pipelines for commands and notes."""

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

    def _start(self, name: str, command: Sequence[str] | None) -> int:
        # git fetch's argument list holds the repository URL, credentials and all.
        shown = [self.redactor.text(arg) for arg in command] if command is not None else None
        return self.store.start_step(self.deploy_id, name, shown)

    def _end(self, step_id: int, exit_code: int | None, duration: float, text: str) -> str:
        text = self.redactor.text(text)
        self.store.end_step(step_id, exit_code, duration, text)
        return text

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
        step_id = self._start(name, argv)
        buf = CappedBuffer(self.output_cap)
        start = time.monotonic()
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
            duration = time.monotonic() - start
            text = self._end(step_id, None, duration, f"could not start {argv[0]!r}: {exc}")
            return StepResult(False, None, text, duration)

        assert proc.stdout is not None
        stdout = proc.stdout
        with _ACTIVE_LOCK:
            _ACTIVE.add(proc.pid)
        # Recorded so that a restarted deployhook can end this group if we die mid-step.
        self.store.step_process(step_id, proc.pid)
        masked = self.redactor.stream(buf.write)

        def pump() -> None:
            for chunk in iter(lambda: stdout.read1(8192), b""):
                masked.write(chunk)

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        deadline = start + timeout
        timed_out = False
        last_flush = start
        while True:
            try:
                proc.wait(timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                now = time.monotonic()
                if now >= deadline:
                    timed_out = True
                    _kill_group(proc)
                    break
                if now - last_flush >= FLUSH_EVERY:
                    last_flush = now
                    self.store.step_output(step_id, buf.text())
        with _ACTIVE_LOCK:
            _ACTIVE.discard(proc.pid)
        reader.join(timeout=5)
        masked.close()
        duration = time.monotonic() - start
        text = buf.text()
        if timed_out:
            text += f"\n[deployhook: timed out after {timeout:g}s, process group killed]"
            exit_code = None
        else:
            exit_code = proc.returncode
        text = self._end(step_id, exit_code, duration, text)
        return StepResult(exit_code == 0, exit_code, text, duration)

    def call(
        self, name: str, func: Callable[[], str], command: list[str] | None = None
    ) -> StepResult:
        """Log a Python-side step (symlink switch, health check) like a command."""
        step_id = self._start(name, command)
        start = time.monotonic()
        try:
            text = func()
            ok, code = True, 0
        except StepFailed as exc:
            text, ok, code = str(exc), False, 1
        except OSError as exc:
            text, ok, code = f"{type(exc).__name__}: {exc}", False, 1
        duration = time.monotonic() - start
        text = self._end(step_id, code, duration, text)
        return StepResult(ok, code, text, duration)


class StepFailed(Exception):
    """A Python-side step failed with a message meant for the operator."""


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    # TERM first so test runners can clean up; KILL whatever is left after a grace period.
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
