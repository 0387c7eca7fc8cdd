"""Resident memory of the production app's gunicorn workers after serving the bench's pages.

RSS does not depend on load, so this needs no wrk and no long run: it creates a fresh
catalogue (as bench/run.py does: `flask db upgrade`, `flask seed`), starts gunicorn with
deploy/gunicorn.conf.py and the production settings on a free loopback port, asks every page
of bench/run.py's list (and the revalidation of /books with its ETag) a few hundred times and
a few thousand different book pages, then prints each worker's RSS and PSS before and after,
and where the worker's resident memory lies (its largest mappings: the heap, each library).

    .venv/bin/python -m bench.memory          # 10,000 books, 2 workers, 300 + 2,000 requests
    .venv/bin/python -m bench.memory --database sqlite
    .venv/bin/python -m bench.memory --modules            # and what a worker has imported
    .venv/bin/python -m bench.memory --import-costs       # and the RSS each package adds

--modules serves the same pages from a second server, whose one worker runs under tracemalloc
and answers one extra path with its sys.modules and its Python allocations by package (the
wrapper, bench.memory_probe, is not the production app: its RSS is not the one reported).
--import-costs builds the app in a fresh interpreter as a worker does, then imports the rest
of the worker's modules, and prints the RSS each module's own body added (its imports are
counted where they belong), summed by top-level package and the largest modules. A body is
charged for every page it was first to touch, so a small module's share can be a few hundred
KB too high or too low: trust the sums and the large ones, and weigh a small one by building
the app with and without it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench.memory_probe import PROBE_PATH
from bench.run import (
    ROOT,
    WORK,
    Processes,
    Results,
    Server,
    Settings,
    app_env,
    child_pids,
    http_exchange,
    memory_of,
    prepare,
    revalidation,
    serving,
    targets_for,
)

APP = "bookshelf:create_app()"


def serve_pages(port: int, low: int, high: int, rows: int, requests: int, books: int) -> None:
    """REQUESTS answers, the bench's pages in turn, then BOOKS more book pages, each of a
    different book (a long wrk run shows thousands: what a worker remembers per page fills
    up), each answer checked to be a 200 (304 for the revalidation)."""
    import http.client

    targets = [*targets_for(low, high, rows), revalidation(port, "books_revalidated", "/books")]
    show = next(t for t in targets if "{id}" in t.path)
    ids = random.Random(1).sample(range(low, high + 1), min(books, high - low + 1))
    for n in range(requests + len(ids)):
        target = targets[n % len(targets)] if n < requests else show
        path = target.path.replace("{id}", str(ids[n % len(ids)]))
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            connection.request("GET", path, headers=dict(target.headers))
            response = connection.getresponse()
            response.read()
        finally:
            connection.close()
        expected = 304 if target.headers else 200
        if response.status != expected:
            raise SystemExit(f"{path} answered {response.status}, not {expected}")


def largest_mappings(pid: int, count: int = 15) -> list[tuple[str, float]]:
    """The worker's resident memory by mapping (file, [heap], [anon]...), in MB, largest first."""
    sizes: Counter[str] = Counter()
    name = "?"
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        fields = line.split()
        if fields and "-" in fields[0] and not fields[0].endswith(":"):
            name = fields[5] if len(fields) > 5 else "[anon]"
            name = name.replace(str(Path(sys.prefix)), "$VENV")
        elif fields and fields[0] == "Rss:":
            sizes[name] += int(fields[1]) / 1024
    return [(n, round(mb, 1)) for n, mb in sizes.most_common(count)]


def import_costs(modules: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Each module's own RSS, built as a worker builds the app, in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.memory_probe"],
        input=json.dumps(modules),
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=env,
    )
    return json.loads(done.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--requests", type=int, default=300, help="per server")
    parser.add_argument("--books", type=int, default=2000, help="distinct book pages asked")
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--modules", action="store_true")
    parser.add_argument("--import-costs", action="store_true")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    results = Results(Settings.from_env())
    procs = Processes()
    try:
        with ExitStack() as stack:
            cat = prepare(results, stack, args.database, args.rows)
            env = app_env(cat.url)
            server = Server("memory", "gunicorn", workers=args.workers)
            with serving(procs, server, APP, env, "/healthz") as (port, proc):
                workers = child_pids(proc.pid)
                booted = {pid: memory_of(pid) for pid in workers}
                serve_pages(port, cat.low, cat.high, cat.rows, args.requests, args.books)
                print(f"gunicorn, deploy/gunicorn.conf.py, {len(workers)} sync workers, {cat.db}")
                asked = f"{args.requests} + {args.books} requests"
                print(f"{cat.rows:,} books, {asked}; master {memory_of(proc.pid)}")
                for pid in workers:
                    threads = Path(f"/proc/{pid}/task").iterdir()
                    print(
                        f"worker {pid}: {memory_of(pid)} after the pages, {booted[pid]} before;"
                        f" {len(list(threads))} threads"
                    )
                print("largest mappings of one worker (RSS MB):")
                for name, mb in largest_mappings(workers[0]):
                    print(f"  {mb:6.1f}  {name}")
            if not (args.modules or args.import_costs):
                return 0
            probe = Server("memory-probe", "gunicorn", workers=1)
            traced = dict(env, PYTHONTRACEMALLOC="1")
            with serving(procs, probe, "bench.memory_probe:probe_app()", traced, "/healthz") as (
                port,
                _,
            ):
                serve_pages(port, cat.low, cat.high, cat.rows, args.requests, args.books)
                _status, _headers, body = http_exchange(port, PROBE_PATH)
            seen = json.loads(body)
            modules = seen["modules"]
            if args.modules:
                tops = sorted({m.split(".")[0] for m in modules})
                print(f"{len(modules)} modules, {len(tops)} top-level: {' '.join(tops)}")
                print("Python allocations by package (MB, under tracemalloc):")
                for name, mb in seen["python_mb"].items():
                    print(f"  {mb:6.2f}  {name}")
                print("... of which allocated while serving the pages (MB):")
                for name, mb in seen["grown_mb"].items():
                    print(f"  {mb:6.2f}  {name}")
            if args.import_costs:
                costs = import_costs(modules, env)
                print(
                    f"RSS of a fresh interpreter {costs['interpreter_mb']} MB, after create_app()"
                    f" {costs['after_create_app_mb']} MB, after the worker's other modules"
                    f" {costs['after_all_mb']} MB; each one's own share (MB):"
                )
                for kind in ("packages_mb", "modules_mb"):
                    print("  " + ", ".join(f"{n} {mb}" for n, mb in costs[kind].items() if mb))
    finally:
        procs.close()
    return 0


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
