"""Reloading the app server without dropping requests, and checking it serves the new commit."""

from __future__ import annotations

import json
import signal
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePath

from .hostops import LOCAL, HostOps
from .procs import pid_alive
from .results import ReloadResult


def read_pid(path: PurePath, host: HostOps = LOCAL) -> int | None:
    """PID from a gunicorn pidfile (on ``host``), or None when absent or garbled."""
    text = host.read_text(str(path))
    if text is None:
        return None
    text = text.strip()
    return int(text) if text.isdigit() else None


@dataclass
class Health:
    """Polls a URL until its JSON reports the expected commit."""

    url: str
    field: str = "commit"
    interval: float = 0.5
    confirmations: int = 3

    def probe(self) -> tuple[bool, str]:
        """One request: (reports something, the commit or an error description)."""
        try:
            # The URL comes from the operator's config, not from a webhook payload.
            with urllib.request.urlopen(self.url, timeout=3) as resp:  # noqa: S310
                data = json.loads(resp.read(64 * 1024))
        except urllib.error.HTTPError as exc:
            return False, f"HTTP {exc.code}"
        except (OSError, ValueError) as exc:
            return False, f"{type(exc).__name__}: {exc}"
        value = data.get(self.field) if isinstance(data, dict) else None
        return True, str(value)

    def wait_for(
        self,
        expected: str,
        timeout: float,
        *,
        confirmations: int | None = None,
        alive: int | None = None,
        alive_check: Callable[[int], bool] = pid_alive,
    ) -> tuple[bool, str]:
        """Poll until ``confirmations`` consecutive answers report ``expected``.

        ``alive`` is a PID that must stay up (the new gunicorn master): if it dies, the
        new release failed to boot and waiting longer is pointless. ``alive_check`` asks
        the host it runs on.
        """
        need = confirmations or self.confirmations
        deadline = time.monotonic() + timeout
        streak = 0
        seen: list[str] = []
        attempts = 0
        while time.monotonic() < deadline:
            attempts += 1
            answered, value = self.probe()
            if not seen or seen[-1] != value:
                seen.append(value)
            streak = streak + 1 if answered and value == expected else 0
            if streak >= need:
                return True, _summary(self.url, expected, attempts, seen, True)
            if alive is not None and not alive_check(alive):
                return False, _summary(self.url, expected, attempts, seen, False) + (
                    f"\nnew master {alive} exited (the release did not boot)"
                )
            time.sleep(self.interval if streak == 0 else min(self.interval, 0.1))
        return False, _summary(
            self.url, expected, attempts, seen, False
        ) + f"\ntimed out after {timeout:g}s"


def _summary(url: str, expected: str, attempts: int, seen: list[str], ok: bool) -> str:
    shown = ", ".join(seen[-10:])
    verdict = "healthy" if ok else "NOT healthy"
    return (
        f"GET {url}: {verdict} after {attempts} probes; expected {expected}; answers seen: {shown}"
    )


def gunicorn_usr2(
    pidfile: PurePath,
    health: Health,
    expected: str,
    reload_timeout: float,
    health_timeout: float,
    host: HostOps = LOCAL,
) -> ReloadResult:
    """Blue/green inside gunicorn: USR2 starts a new master on the same socket, in the new
    release; the old master is stopped (TERM, graceful) only once the new one serves the new
    commit. Unlike HUP, which keeps the master's working directory and interpreter, USR2
    re-execs, so ``--chdir`` through the ``current`` symlink and the interpreter are resolved
    again, and a broken release never replaces working workers. ``host`` is where gunicorn
    runs: this machine, or a fleet host reached over SSH.
    """
    lines: list[str] = []
    alive = host.pid_alive

    def note(msg: str) -> None:
        lines.append(f"[{time.strftime('%H:%M:%S')}] {msg}")

    old = read_pid(pidfile, host)
    if old is None or not alive(old):
        note(f"gunicorn is not running (pidfile {pidfile} -> {old})")
        return ReloadResult(False, "\n".join(lines), old_retired=True)
    note(f"USR2 -> old master {old}")
    host.signal(old, signal.SIGUSR2)
    # gunicorn >= 23 has the new master write "<pidfile>.2"; older releases renamed the old
    # one to ".oldbin" and let the new master take "<pidfile>". Accept either.
    candidates = (pidfile.with_name(f"{pidfile.name}.2"), pidfile)
    deadline = time.monotonic() + reload_timeout
    new: int | None = None
    while new is None and time.monotonic() < deadline:
        for path in candidates:
            candidate = read_pid(path, host)
            if candidate and candidate != old and alive(candidate):
                new = candidate
                break
        else:
            time.sleep(0.05)
    if new is None:
        note(f"no new master appeared in {pidfile}(.2) within {reload_timeout:g}s")
        return ReloadResult(False, "\n".join(lines), old_retired=False)
    note(f"new master {new} started; waiting for it to serve {expected}")
    ok, report = health.wait_for(
        expected, health_timeout, confirmations=1, alive=new, alive_check=alive
    )
    note(report)
    if not ok:
        note(f"TERM -> new master {new}; old master {old} keeps serving the previous release")
        host.signal(new, signal.SIGTERM)
        _wait_gone(new, 30, alive)
        return ReloadResult(False, "\n".join(lines), old_retired=False)
    note(f"TERM -> old master {old} (graceful: in-flight requests finish)")
    host.signal(old, signal.SIGTERM)
    gone = _wait_gone(old, reload_timeout, alive)
    note(f"old master {'exited' if gone else 'still exiting'}")
    promote_deadline = time.monotonic() + 5
    while time.monotonic() < promote_deadline and read_pid(pidfile, host) != new:
        time.sleep(0.05)
    note(f"pidfile {pidfile} -> {read_pid(pidfile, host)}")
    ok, report = health.wait_for(expected, health_timeout, alive=new, alive_check=alive)
    note(report)
    return ReloadResult(ok, "\n".join(lines), old_retired=True)


def _wait_gone(pid: int, timeout: float, alive: Callable[[int], bool]) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False
