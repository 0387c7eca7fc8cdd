"""CPU instructions per request, counted by valgrind's callgrind in one gunicorn sync worker.

wrk's req/s and the in-process timers are wall-clock numbers: on a 2-core machine shared with
other work they move by 30 % between runs, and only side-by-side ratios survive. An instruction
count does not depend on what else runs, so one change can be judged on its own, at once,
while the machine is busy. It counts the worker process only (gunicorn's parsing and logging,
the middleware, Flask, the view, the template, the driver): not PostgreSQL's side of a query,
not the time spent waiting for it, and not the kernel's work.

The worker runs the production settings (deploy/gunicorn.conf.py, one sync worker, access log
to /dev/null) against an existing catalogue. Each path is asked 20 + 20 times in one run and
20 + 120 times in another, each request on a new connection as wrk makes them against a sync
worker; the difference of the worker's totals over 100 is the cost of one request, free of
start-up, imports and shutdown. Under callgrind a worker runs ~50x slower: about half a
minute per path.

    .venv/bin/python -m bench.instructions --database-url postgresql+psycopg://…/catalogue \
        /books /books/1 /healthz
    .venv/bin/python -m bench.instructions --app bench.baselines.raw_listing:app \
        --raw-database-url postgresql://…/catalogue /raw/books
    --revalidate   sends back the ETag of the first answer (the 304 path)

Needs valgrind (apt-get install valgrind).
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from support import free_port

ROOT = Path(__file__).resolve().parents[1]
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"
WARMUP = 20
FEW, MANY = 20, 120
READY_TIMEOUT = 120.0  # imports under callgrind take a while


def ask(port: int, path: str, etag: str | None) -> tuple[int, str | None]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request("GET", path, headers={"If-None-Match": etag} if etag else {})
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader("ETag")
    finally:
        connection.close()


def wait_ready(port: int, path: str) -> tuple[int, str | None]:
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        try:
            return ask(port, path, None)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def worker_total(app: str, path: str, requests: int, env: dict[str, str], revalidate: bool) -> int:
    """The worker's instruction total after WARMUP + `requests` answers of `path`."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-instructions-") as tmp:
        out = Path(tmp)
        command = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}/callgrind.%p",
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(GUNICORN_CONF),
            "--workers",
            "1",
            "--timeout",
            "600",
            "--bind",
            f"127.0.0.1:{port}",
            app,
        ]
        with open(out / "server.log", "wb") as log:
            master = subprocess.Popen(
                command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            status, etag = wait_ready(port, path)
            if status != 200:
                raise SystemExit(f"{path} answered {status}, not 200")
            etag = etag if revalidate else None
            for _ in range(WARMUP + requests):
                status, _tag = ask(port, path, etag)
            if status != (304 if etag else 200):
                raise SystemExit(f"{path} answered {status}")
            workers = subprocess.run(
                ["pgrep", "-P", str(master.pid)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
        finally:
            master.send_signal(signal.SIGTERM)
            master.wait(timeout=120)
        totals = [
            int(match.group(1))
            for name in out.glob(f"callgrind.{workers[0]}*")
            for match in re.finditer(r"^totals: (\d+)", name.read_text(), re.MULTILINE)
        ]
        return sum(totals)


def per_request(app: str, path: str, env: dict[str, str], revalidate: bool) -> int:
    few = worker_total(app, path, FEW, env, revalidate)
    many = worker_total(app, path, MANY, env, revalidate)
    return round((many - few) / (MANY - FEW))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--app", default="bookshelf:create_app()")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--raw-database-url", default="", help="for the baselines' own pool")
    parser.add_argument("--revalidate", action="store_true")
    args = parser.parse_args()
    env = {
        **os.environ,
        "BOOKSHELF_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": args.database_url,
        "BENCH_RAW_DATABASE_URL": args.raw_database_url,
        "GUNICORN_ACCESSLOG": "/dev/null",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    for path in args.paths:
        count = per_request(args.app, path, env, args.revalidate)
        revalidated = " (revalidated)" if args.revalidate else ""
        print(f"{args.app} {path}{revalidated}: {count:,} instructions per request", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
