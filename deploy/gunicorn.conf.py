"""gunicorn settings for a WSGI app deployed by deployhook (bookshelf by default).

Run from systemd (deploy/bookshelf.service) as
    /srv/bookshelf/current/.venv/bin/python -m gunicorn \
        -c /srv/bookshelf/current/deploy/gunicorn.conf.py 'bookshelf:create_app()'

deployhook reloads with USR2 (re-exec a new master on the same socket), waits until the new
master's workers report the new commit on the health URL, then TERMs the old master. For that
re-exec to load the *new* release, everything that could pin the old one is resolved through
the ``current`` symlink again in the new process: the working directory (``chdir``), the
interpreter and its venv (``on_starting`` below), and this file (pass it via ``current/``).
A plain HUP would keep the master's interpreter, venv and cwd (gunicorn issue 394) and, with
broken code, could leave no healthy workers at all.

Every value can be overridden with an environment variable, so one file serves any app.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import sys
from typing import Any

APP_ROOT = os.environ.get("APP_ROOT", "/srv/bookshelf")
CURRENT = os.path.join(APP_ROOT, "current")

# In a plain checkout (no deployhook layout) the file still works: no chdir, no pidfile.
DEPLOYED = os.path.isdir(CURRENT)

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
pidfile = os.environ.get("GUNICORN_PIDFILE") or (
    "/run/bookshelf/gunicorn.pid" if os.path.isdir("/run/bookshelf") else None
)
# Measured (docs/PERFORMANCE.md): on 2 cores, sync with 2n+1 workers serves /books as
# fast as any gunicorn option and steadier than gthread 2x4; granian is ~10% faster but has no
# USR2 re-exec, which the zero-downtime reload relies on.
workers = int(os.environ.get("GUNICORN_WORKERS", str(min(multiprocessing.cpu_count() * 2 + 1, 8))))
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# How long old workers may finish in-flight requests after deployhook TERMs the old master.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
# chdir is applied again by the re-exec'd master, so it lands in the new release.
if DEPLOYED:
    chdir = CURRENT
# The app must be imported by the new master's workers, not inherited from the old master.
preload_app = False
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-") or None
errorlog = "-"
# Above the app's own limit (4096, bookshelf.api.protocol): the app answers an over-long URL
# itself (414 problem+json); 8190 is gunicorn's largest, and what nginx's 8k buffer holds.
limit_request_line = 8190
# Trust X-Forwarded-* only from nginx on the same host.
forwarded_allow_ips = "127.0.0.1"
# Every this many requests a worker hands the free pages of its C heap back to the kernel
# (glibc's malloc_trim; 0 turns it off). glibc gives memory back only from the top of the
# heap, so what a worker frees after its imports and its first pages (compiling templates
# and statements, reading its first result sets) stays resident between live objects for
# good: 1.5-1.7 MB of a bookshelf worker's RSS (bench/memory.py). A trim takes about 0.1 ms,
# and the requests after it take few of those pages back (0.3 MB in the next 45). Fewer
# malloc arenas (MALLOC_ARENA_MAX) would not help: a sync worker runs one thread.
malloc_trim_every = int(os.environ.get("GUNICORN_MALLOC_TRIM_EVERY", "100"))


def on_starting(server: Any) -> None:
    """Make a later USR2 re-exec go through ``current`` (new venv, new code, new cwd)."""
    if not DEPLOYED:
        return
    server.START_CTX["cwd"] = CURRENT
    venv_python = os.path.join(CURRENT, ".venv", "bin", "python")
    if os.path.exists(venv_python):
        # `python -m gunicorn` instead of the console script: the script's shebang names
        # the venv of the release it was installed in, i.e. the old one.
        server.START_CTX[0] = venv_python
        server.START_CTX["args"] = [venv_python, "-m", "gunicorn", *sys.argv[1:]]


_requests_since_trim = 0


def post_request(worker: Any, req: Any, environ: Any, resp: Any) -> None:
    """See malloc_trim_every; runs in the worker after each answer has been written."""
    global _requests_since_trim
    _requests_since_trim += 1
    if malloc_trim_every <= 0 or _requests_since_trim < malloc_trim_every:
        return
    _requests_since_trim = 0
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Any:
    """glibc's malloc_trim, or None on a C library without one (musl, macOS)."""
    import ctypes  # here: only workers trim, and an app that never needs ctypes saves it

    return getattr(ctypes.CDLL(None), "malloc_trim", None)


def warn_about_unshared_limits(server: Any) -> None:
    """Rate limits kept in memory:// are per worker: N workers allow N times the limit."""
    storage = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    app = str(getattr(server.app, "app_uri", None) or server.cfg.wsgi_app or "")
    if server.cfg.workers > 1 and storage.startswith("memory://") and "bookshelf" in app:
        server.log.warning(
            "RATELIMIT_STORAGE_URI is memory:// with %d workers: each worker counts sign-in "
            "attempts on its own, so the login limit is %d times looser. Set "
            "RATELIMIT_STORAGE_URI=redis://... (README: Accounts, sessions and cookies).",
            server.cfg.workers,
            server.cfg.workers,
        )


def when_ready(server: Any) -> None:
    """After a USR2 re-exec, tell systemd (NotifyAccess=all) that this master is the service."""
    warn_about_unshared_limits(server)
    if server.master_pid:
        from gunicorn import systemd

        systemd.sd_notify(f"MAINPID={os.getpid()}", server.log)
