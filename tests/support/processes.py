"""Servers as separate processes: a free loopback port, a start in a process group of its
own, a wait until the server answers, and a stop that takes the whole group down.

A group of its own matters because gunicorn, nginx and `deployhook serve` fork: stopping only
the pid we started can leave workers (or a re-executed gunicorn master) running, holding
ports and databases after the test. It also keeps a Ctrl-C in the terminal from reaching the
servers before the harness has had a chance to stop them in order.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path


class ServerFailed(RuntimeError):
    """A server exited or did not answer in time; the message carries the end of its log."""


def free_port() -> int:
    """An ephemeral loopback port (another process may take it before we bind: rare, and the
    server then fails to start, which `wait_until_up` reports)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    command: Sequence[str | Path],
    log: Path,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    ready: str | None = None,
    timeout: float = 30,
    below: int = 400,
) -> subprocess.Popen[bytes]:
    """Start `command` in a new session with stdout and stderr appended to `log`.

    With `ready`, also wait until that URL answers (see `wait_until_up` for `timeout` and
    `below`); a server that does not come up is stopped before the error is raised, so a
    caller only has to stop the servers it got back.
    """
    with log.open("ab") as out:
        process = subprocess.Popen(
            [str(part) for part in command],
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    if ready is not None:
        try:
            wait_until_up(ready, process, timeout=timeout, log=log, below=below)
        except BaseException:
            stop_group(process)
            raise
    return process


def stop_group(
    process: subprocess.Popen[bytes], first: int = signal.SIGTERM, timeout: float = 10
) -> None:
    """Send `first` to the process group (SIGQUIT is nginx's graceful stop), SIGKILL what is
    left after `timeout`, and reap the process. Safe to call twice."""
    for sig in (first, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout)
            break
    # Workers of a master that has exited, or a re-executed gunicorn master, are still in
    # the group after the first process is gone.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    if process.returncode is None:
        process.wait(5)


def wait_until_up(
    url: str,
    process: subprocess.Popen[bytes] | None = None,
    *,
    timeout: float = 30,
    log: Path | None = None,
    below: int = 400,
) -> None:
    """Return once `url` answers with a status under `below`.

    Raises ServerFailed as soon as `process` has exited (rather than waiting out the timeout),
    or when the time is up, with the end of `log` in the message: the reason a server did not
    come up is almost always in its own output.
    """
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise ServerFailed(f"{url}: the server exited with {process.returncode}{_tail(log)}")
        if (status := _status(url)) is not None and status < below:
            return
        if time.monotonic() >= deadline:
            answer = "no answer" if status is None else f"only HTTP {status}"
            raise ServerFailed(f"{url}: {answer} after {timeout:.0f} s{_tail(log)}")
        time.sleep(0.1)


def _status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310  (loopback)
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except (OSError, http.client.HTTPException):
        return None


def _tail(log: Path | None, size: int = 3000) -> str:
    if log is None:
        return ""
    try:
        text = log.read_bytes()[-size:].decode(errors="replace")
    except OSError as error:
        return f"\n(no log: {error})"
    return f"\n--- last lines of {log} ---\n{text}"
