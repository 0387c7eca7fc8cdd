"""`make bench`: seed catalogues, serve the app under the production config, load it with wrk.

For every size in BENCH_ROWS (default 100000) and each database (PostgreSQL, SQLite) the
harness creates a fresh database, seeds it with `flask seed`, starts the app with gunicorn and
deploy/gunicorn.conf.py on a free loopback port, and measures each page twice with wrk: one
client (latency, for the p95 targets) and BENCH_CONCURRENCY clients (throughput). On
PostgreSQL it also serves the baselines (bench/baselines) with the same server, measured beside
the app's /books, /books/<id>, /api/v1/books and /healthz, and compares gunicorn sync,
gunicorn gthread and granian on /books. Results go to bench/results/<date>.json, then
bench/report.py regenerates docs/PERFORMANCE.md and its chart.

Settings (environment): BENCH_ROWS=10000,100000,1000000  BENCH_DURATION=5 (seconds per
measurement)  BENCH_WARMUP=1  BENCH_CONCURRENCY=8  BENCH_DATABASES=postgresql,sqlite
BENCH_PG=postgresql://postgres@127.0.0.1:5432  BENCH_SERVERS=1 (0 skips the comparison)
BENCH_TARGETS=search_ (only the pages whose name starts with one of these comma-separated
prefixes; skips the baselines and servers, and writes the JSON without regenerating
docs/PERFORMANCE.md, which describes a full run)  BENCH_PROFILE=1 (0 skips the in-process
profile of bench/profile.py, otherwise run on the smallest catalogue and saved alongside).
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import platform
import re
import runpy
import secrets
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg

from support import (
    free_port,
    start_server,
    stop_group,
    temporary_postgres_database,
    temporary_sqlite_database,
)

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
WORK = BENCH / ".work"
RESULTS = BENCH / "results"
BIN = Path(sys.executable).parent
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"
WRK_SCRIPT = BENCH / "wrk.lua"

# Words from `flask seed`: "river" is in roughly a third of the books; a title number is rare.
COMMON_TERM = "river"
MID_TERM = "anna dickens"
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
CPUS = os.cpu_count() or 2


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


@dataclass(frozen=True)
class Settings:
    rows: list[int]
    duration: int
    warmup: int
    rounds: int
    concurrency: int
    databases: list[str]
    pg_base: str
    servers: bool
    targets: list[str]

    @classmethod
    def from_env(cls) -> Settings:
        rows = [int(n.replace("_", "")) for n in os.environ.get("BENCH_ROWS", "100000").split(",")]
        return cls(
            rows=sorted(set(rows)),
            duration=int(os.environ.get("BENCH_DURATION", "6")),
            rounds=int(os.environ.get("BENCH_ROUNDS", "3")),
            warmup=int(os.environ.get("BENCH_WARMUP", "1")),
            concurrency=int(os.environ.get("BENCH_CONCURRENCY", "8")),
            databases=os.environ.get("BENCH_DATABASES", "postgresql,sqlite").split(","),
            pg_base=os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432").rstrip("/"),
            servers=os.environ.get("BENCH_SERVERS", "1") != "0",
            targets=[t for t in os.environ.get("BENCH_TARGETS", "").split(",") if t],
        )


@dataclass(frozen=True)
class Checkout:
    """A source tree and its virtualenv: this one, or another commit's (bench/compare.py)."""

    root: Path
    name: str = "this"

    @property
    def bin(self) -> Path:
        return BIN if self.root == ROOT else self.root / ".venv" / "bin"

    @property
    def gunicorn_conf(self) -> Path:
        return self.root / "deploy" / "gunicorn.conf.py"


THIS = Checkout(ROOT)


@dataclass
class Target:
    """One URL to load; `path` may hold {id}, replaced per request by a random id in `ids`."""

    name: str
    path: str
    ids: tuple[int, int] | None = None
    # Sent with every request, e.g. the If-None-Match of a revalidation.
    headers: tuple[tuple[str, str], ...] = ()

    def sample_path(self) -> str:
        return self.path.replace("{id}", str(self.ids[0])) if self.ids else self.path


@dataclass
class Results:
    settings: Settings
    started: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat())
    runs: list[dict[str, Any]] = field(default_factory=list)
    seeds: list[dict[str, Any]] = field(default_factory=list)
    memory: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# --- processes ---------------------------------------------------------------------------


class Processes:
    """Every server the harness starts, each in its own process group, stopped in `close`
    (also on Ctrl-C or SIGTERM, so that no server outlives a run)."""

    def __init__(self) -> None:
        self.running: list[subprocess.Popen[bytes]] = []

    def start(
        self, cmd: list[str], env: dict[str, str], name: str, ready: str, cwd: Path = ROOT
    ) -> subprocess.Popen[bytes]:
        """Start a server and wait until `ready` answers. Any status under 500 will do: each
        page's own status is checked before it is measured."""
        log = WORK / f"server-{name}.log"
        proc = start_server(
            cmd, log, env=env, cwd=cwd, ready=ready, timeout=STARTUP_TIMEOUT, below=500
        )
        self.running.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        stop_group(proc, timeout=STOP_TIMEOUT)
        if proc in self.running:
            self.running.remove(proc)

    def close(self) -> None:
        for proc in list(self.running):
            self.stop(proc)


def http_get(port: int, path: str, timeout: float = 10.0) -> tuple[int, bytes]:
    status, _headers, body = http_exchange(port, path, timeout)
    return status, body


def http_exchange(
    port: int, path: str, timeout: float = 10.0
) -> tuple[int, http.client.HTTPMessage, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def revalidation(port: int, name: str, path: str) -> Target:
    """PATH asked for again with the ETag of its first answer: a warm browser or nginx."""
    _status, headers, _body = http_exchange(port, path)
    return Target(name, path, headers=(("If-None-Match", headers.get("ETag", "")),))


def child_pids(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    with suppress(OSError):
        return [int(p) for p in children.read_text().split()]
    return []


def memory_of(pid: int) -> dict[str, float]:
    """RSS and PSS (shared pages divided among the processes sharing them), in MB."""
    values: dict[str, float] = {}
    with suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in {"Rss", "Pss"}:
                values[key.lower() + "_mb"] = round(int(rest.split()[0]) / 1024, 1)
    return values


# --- servers -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    name: str
    kind: str  # gunicorn | granian
    workers: int | None = None  # None: deploy/gunicorn.conf.py decides everything
    threads: int = 1
    worker_class: str | None = None  # passed to gunicorn over the config file's

    def describe(self) -> str:
        if self.kind == "granian":
            return f"granian WSGI, {self.workers} workers x {self.threads} blocking threads"
        if self.workers is None:
            conf = production_config()
            threads = f" x {conf['threads']} threads" if conf["worker_class"] == "gthread" else ""
            return (
                f"gunicorn {conf['worker_class']}, {conf['workers']} workers{threads} "
                "(deploy/gunicorn.conf.py)"
            )
        threads = f" x {self.threads} threads" if self.worker_class == "gthread" else ""
        return f"gunicorn {self.worker_class}, {self.workers} workers{threads}"


def production_config() -> dict[str, Any]:
    """What deploy/gunicorn.conf.py sets on this machine, read from the file itself."""
    values = runpy.run_path(str(GUNICORN_CONF))
    return {
        "workers": values.get("workers", 1),
        "worker_class": values.get("worker_class", "sync"),
        "threads": values.get("threads", 1),
    }


PRODUCTION = Server("production", "gunicorn")
# Each sized for these cores: sync needs processes to overlap database waits, threads do it
# in fewer processes.
COMPARED = [
    Server("gunicorn-sync", "gunicorn", workers=CPUS * 2 + 1, worker_class="sync"),
    Server("gunicorn-gthread", "gunicorn", workers=CPUS, threads=4, worker_class="gthread"),
    Server("granian", "granian", workers=CPUS, threads=4),
]


def app_env(database_url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GUNICORN_", "GRANIAN_"))}
    env.update(
        BOOKSHELF_ENV="production",
        SECRET_KEY=secrets.token_hex(32),  # fresh per run, never written anywhere
        DATABASE_URL=database_url,
        FLASK_APP="bookshelf",
        BOOKSHELF_INSTANCE_PATH=str(WORK / "instance"),
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.pop("FLASK_DEBUG", None)
    env.update(extra or {})
    return env


@contextmanager
def serving(
    procs: Processes,
    server: Server,
    target: str,
    env: dict[str, str],
    ready_path: str,
    checkout: Checkout = THIS,
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = free_port()
    if server.kind == "gunicorn":
        approot = WORK / ("approot" if checkout == THIS else f"approot-{checkout.name}")
        approot.mkdir(parents=True, exist_ok=True)
        current = approot / "current"
        if current.is_symlink() and current.resolve() != checkout.root.resolve():
            current.unlink()
        if not current.is_symlink():
            current.symlink_to(checkout.root)
        env = dict(
            env,
            APP_ROOT=str(approot),
            GUNICORN_BIND=f"127.0.0.1:{port}",
            GUNICORN_PIDFILE=str(WORK / f"gunicorn-{port}.pid"),
        )
        if server.workers:
            env["GUNICORN_WORKERS"] = str(server.workers)
        cmd = [str(checkout.bin / "python"), "-m", "gunicorn", "-c", str(checkout.gunicorn_conf)]
        if server.worker_class:
            cmd += ["--worker-class", server.worker_class]
        if server.threads > 1:
            cmd += ["--threads", str(server.threads)]
        cmd.append(target)
    else:
        module, _, attr = target.partition(":")
        factory = attr.endswith("()")
        cmd = [
            str(BIN / "granian"),
            "--interface",
            "wsgi",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(server.workers or CPUS),
            "--blocking-threads",
            str(server.threads),
            "--no-ws",
            "--access-log",  # gunicorn logs every request in production; so does this one
        ]
        if factory:
            cmd.append("--factory")
        cmd.append(f"{module}:{attr.removesuffix('()')}")
    ready = f"http://127.0.0.1:{port}{ready_path}"
    proc = procs.start(cmd, env, f"{server.name}-{checkout.name}", ready, cwd=checkout.root)
    try:
        yield port, proc
    finally:
        procs.stop(proc)


# --- load --------------------------------------------------------------------------------


def run_wrk(port: int, target: Target, connections: int, seconds: int) -> dict[str, Any]:
    cmd = [
        "wrk",
        "-t1",  # one load thread: the other core serves
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(WRK_SCRIPT),
        f"http://127.0.0.1:{port}{target.path if not target.ids else '/'}",
    ]
    for name, value in target.headers:
        cmd[1:1] = ["-H", f"{name}: {value}"]
    if target.ids:
        cmd += ["--", target.path, str(target.ids[0]), str(target.ids[1])]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=True)
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("BENCHJSON "))
    raw = json.loads(line.removeprefix("BENCHJSON "))
    errors = sum(raw[k] for k in raw if k.endswith("_errors")) + raw["timeouts"]
    return {
        "requests": raw["requests"],
        "rps": round(raw["requests"] / (raw["duration_us"] / 1e6), 1),
        "p50_ms": raw["p50_us"] / 1000,
        "p90_ms": raw["p90_us"] / 1000,
        "p95_ms": raw["p95_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        "errors": errors,
        "kb_per_response": round(raw["bytes"] / max(raw["requests"], 1) / 1024, 1),
    }


@dataclass(frozen=True)
class Entry:
    """One URL on one server, measured as part of a group."""

    port: int
    target: Target
    meta: dict[str, Any]

    def label(self) -> str:
        return f"{self.target.name} ({self.meta.get('rows', 0):,}, {self.meta['server']})"


def usable(results: Results, entry: Entry) -> bool:
    """Only pages that answer 200 are measured; the rest are recorded as skipped."""
    status, _ = http_get(entry.port, entry.target.sample_path())
    if status == 200:
        return True
    base = dict(entry.meta, target=entry.target.name, path=entry.target.path)
    if status == 404:
        log(f"  {entry.label()}: {entry.target.path} answers 404, skipped")
        results.runs.append(dict(base, skipped="answers 404 (not implemented yet)"))
    else:
        # Measuring an error page would flatter the numbers: say so and move on.
        log(f"  {entry.label()}: {entry.target.path} answers {status}, skipped")
        results.runs.append(dict(base, skipped=f"answers {status}"))
        results.notes.append(f"{entry.meta} {entry.target.path} answered {status}")
    return False


def measure_group(results: Results, entries: list[Entry], modes: tuple[int, ...]) -> None:
    """Measure ENTRIES in alternating rounds and keep the median of each percentile.

    The machine is shared: a burst of other work lands in one round of one entry, not in all
    of an entry's measurement, and it cannot pass for a difference between the entries."""
    settings = results.settings
    entries = [e for e in entries if usable(results, e)]
    seconds = max(1, settings.duration // settings.rounds)
    for connections in modes:
        rounds: list[list[dict[str, Any]]] = [[] for _ in entries]
        for entry in entries:
            if settings.warmup:
                run_wrk(entry.port, entry.target, connections, settings.warmup)
        for number in range(settings.rounds):
            order = list(enumerate(entries))
            for i, entry in order if number % 2 == 0 else reversed(order):
                stats = run_wrk(entry.port, entry.target, connections, seconds)
                if stats["errors"]:
                    # Another user of this machine may restart PostgreSQL: retry the round
                    # once, and list the failed one in the run's notes rather than in the median.
                    results.notes.append(
                        f"{entry.label()} c{connections}: a round with {stats['errors']} errors "
                        f"of {stats['requests']} requests was measured again"
                    )
                    time.sleep(3)
                    stats = run_wrk(entry.port, entry.target, connections, seconds)
                stats["loadavg_1m"] = round(os.getloadavg()[0], 2)
                rounds[i].append(stats)
        for entry, measured in zip(entries, rounds, strict=True):
            stats = combine(measured)
            results.runs.append(
                dict(
                    entry.meta,
                    target=entry.target.name,
                    path=entry.target.path,
                    connections=connections,
                    **stats,
                    rounds=measured,
                )
            )
            log(
                f"  {entry.label():<40} c{connections:<2} {stats['rps']:>7.0f} req/s  "
                f"p50 {stats['p50_ms']:6.2f}  p95 {stats['p95_ms']:6.2f}  "
                f"p99 {stats['p99_ms']:6.2f} ms  errors {stats['errors']}"
            )
            if stats["errors"]:
                results.notes.append(
                    f"{entry.meta} {entry.target.name} c{connections}: {stats['errors']} errors"
                )


def combine(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Requests and errors add up; the latency percentiles are the median over the rounds."""
    combined: dict[str, Any] = {
        "requests": sum(r["requests"] for r in rounds),
        "rps": round(statistics.median(r["rps"] for r in rounds), 1),
        "errors": sum(r["errors"] for r in rounds),
        "kb_per_response": rounds[0]["kb_per_response"],
        "loadavg_1m": round(statistics.mean(r["loadavg_1m"] for r in rounds), 2),
    }
    for key in ("p50_ms", "p90_ms", "p95_ms", "p99_ms"):
        combined[key] = round(statistics.median(r[key] for r in rounds), 3)
    combined["max_ms"] = max(r["max_ms"] for r in rounds)
    return combined


def record_memory(results: Results, proc: subprocess.Popen[bytes], meta: dict[str, Any]) -> None:
    workers = [dict(pid=pid, **memory_of(pid)) for pid in child_pids(proc.pid)]
    results.memory.append(dict(meta, master=memory_of(proc.pid), workers=workers))
    rss = ", ".join(f"{w.get('rss_mb', 0):.0f}" for w in workers)
    log(f"  RSS per worker after the run (MB): {rss}")


# --- databases ---------------------------------------------------------------------------


def seed(results: Results, db: str, rows: int, url: str, checkout: Checkout = THIS) -> None:
    env = app_env(url)
    flask = str(checkout.bin / "flask")
    cwd = checkout.root
    subprocess.run([flask, "db", "upgrade"], env=env, cwd=cwd, check=True, capture_output=True)
    log(f"seeding {rows:,} books into {db}")
    started = time.perf_counter()
    proc = subprocess.Popen(
        [flask, "seed", "--count", str(rows)],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert proc.stdout is not None
    output = proc.stdout.read().decode(errors="replace")
    # wait4 gives this child's own peak RSS: the "memory flat" check.
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if proc.returncode:
        raise RuntimeError(f"flask seed failed:\n{output[-2000:]}")
    match = re.search(r"in ([\d.]+) s \(([\d,]+) rows/s\)", output)
    record = {
        "db": db,
        "rows": rows,
        "rows_per_s": int(match.group(2).replace(",", "")) if match else round(rows / wall),
        "seconds": float(match.group(1)) if match else round(wall, 1),
        "wall_s_with_startup": round(wall, 1),
        "max_rss_mb": round(usage.ru_maxrss / 1024, 1),
    }
    results.seeds.append(record)
    log(
        f"  {record['rows_per_s']:,} rows/s ({record['seconds']} s), "
        f"peak RSS {record['max_rss_mb']} MB"
    )


def id_range(db: str, url: str) -> tuple[int, int]:
    sql = "SELECT min(id), max(id) FROM books"
    if db == "postgresql":
        with psycopg.connect(url) as connection:
            row = connection.execute(sql).fetchone()
    else:
        with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
            row = connection.execute(sql).fetchone()
    assert row is not None and row[0] is not None
    return int(row[0]), int(row[1])


def targets_for(low: int, high: int, rows: int) -> list[Target]:
    rare = str(low + rows // 2 + 7)  # a title number: a handful of prefix matches
    return [
        Target("books_first", "/books"),
        # The deepest pages: "Last" and the second-to-last page reached by Next (keyset).
        Target("books_last", "/books?last=1"),
        Target("books_deep", f"/books?after={low + 40}&page={max(rows // 20 - 1, 2)}"),
        Target("book_show", "/books/{id}", (low, high)),
        Target("search_common", f"/search?term={quote(COMMON_TERM)}"),
        Target("search_rare", f"/search?term={quote(rare)}"),
        # Two words each in about a tenth of the books, together in one in 120: the costliest
        # kind of search.
        Target("search_mid", f"/search?term={quote(MID_TERM)}"),
        # A Russian word form ("войны": the seed's titles say "война"), a Latin spelling of a
        # Cyrillic word ("voina") and of a Latin author in Cyrillic ("Толстой"), and a typo
        # that finds nothing and gets a suggestion ("Did you mean river night?").
        Target("search_wordform", f"/search?term={quote('войны')}"),
        Target("search_translit", f"/search?term={quote('voina')}"),
        Target("search_cyrillic_author", f"/search?term={quote('Толстой')}"),
        Target("search_typo", f"/search?term={quote('rivr nigth')}"),
        Target("api_books", "/api/v1/books"),
        Target("healthz", "/healthz"),
    ]


@dataclass(frozen=True)
class Catalogue:
    db: str
    rows: int
    url: str
    low: int
    high: int

    @property
    def meta(self) -> dict[str, Any]:
        return {"db": self.db, "rows": self.rows}


def prepare(
    results: Results, stack: ExitStack, db: str, rows: int, checkout: Checkout = THIS
) -> Catalogue:
    """A fresh database of ROWS books, seeded by CHECKOUT's code, dropped when STACK closes."""
    if db == "postgresql":
        admin_url = f"{results.settings.pg_base}/postgres"
        url = stack.enter_context(temporary_postgres_database(f"bookshelf_bench_{rows}", admin_url))
        seed(results, db, rows, url, checkout)
        with psycopg.connect(url, autocommit=True) as connection:
            # A steady state: autovacuum would do this within minutes of the COPY.
            connection.execute("VACUUM (ANALYZE) books")
    else:
        url = stack.enter_context(temporary_sqlite_database(WORK, f"bench-{rows}"))
        seed(results, db, rows, url, checkout)
    low, high = id_range(db, url)
    return Catalogue(db, rows, url, low, high)


def bench_pages(results: Results, procs: Processes, catalogues: list[Catalogue]) -> None:
    """Every page at every size, page by page, the sizes in alternating rounds: they are
    compared within seconds of each other, so other load cannot pass for an effect of size."""
    modes = (1, results.settings.concurrency)
    with ExitStack() as servers:
        started = {
            cat.rows: servers.enter_context(
                serving(procs, PRODUCTION, "bookshelf:create_app()", app_env(cat.url), "/healthz")
            )
            for cat in catalogues
        }
        log(f"{catalogues[0].db}: app under {PRODUCTION.describe()}, one per size")
        for index, target in enumerate(targets_for(1, 2, 2)):
            wanted = results.settings.targets
            if wanted and not target.name.startswith(tuple(wanted)):
                continue
            group = [
                Entry(
                    started[cat.rows][0],
                    targets_for(cat.low, cat.high, cat.rows)[index],
                    {**cat.meta, "server": PRODUCTION.name},
                )
                for cat in catalogues
            ]
            measure_group(results, group, modes)
        for cat in catalogues:
            meta = {**cat.meta, "server": PRODUCTION.name, "app": "bookshelf"}
            record_memory(results, started[cat.rows][1], meta)


def bench_baselines(results: Results, procs: Processes, cat: Catalogue) -> None:
    """On one catalogue: the app's pages beside the baselines, then /books on the other
    servers, each group in alternating rounds."""
    modes = (1, results.settings.concurrency)
    env = app_env(cat.url, {"BENCH_RAW_DATABASE_URL": cat.url})
    meta = {**cat.meta, "server": PRODUCTION.name, "block": "baselines"}
    pages = {target.name: target for target in targets_for(cat.low, cat.high, cat.rows)}
    books, ids = pages["books_first"], pages["book_show"].ids
    log(f"postgresql {cat.rows:,}: the app's pages and the baselines on the same server")
    with ExitStack() as servers:

        def start(spec: str, ready: str) -> int:
            return servers.enter_context(serving(procs, PRODUCTION, spec, env, ready))[0]

        app = start("bookshelf:create_app()", "/healthz")
        hello = start("bench.baselines.hello:app", "/")
        raw = start("bench.baselines.raw_listing:app", "/raw/healthz")
        flask = start("bench.baselines.flask_hello:app", "/")
        # Each page beside its floor: /books, /books/<id> and /api/v1/books beside their
        # hand-written equivalents (b), (d) and (e), the book page asking for the same random
        # ids; the same /books revalidated (304 from the catalogue version, bookshelf.http_cache);
        # /healthz beside Flask alone (c); and the bare WSGI ceiling (a).
        group = [
            Entry(app, books, meta),
            Entry(app, revalidation(app, "books_304", books.path), meta),
            Entry(app, pages["healthz"], meta),
            Entry(hello, Target("baseline_hello", "/"), meta),
            Entry(raw, Target("baseline_raw", "/raw/books"), meta),
            Entry(flask, Target("baseline_flask", "/"), meta),
            Entry(app, pages["book_show"], meta),
            Entry(raw, Target("baseline_raw_book", "/raw/books/{id}", ids), meta),
            Entry(app, pages["api_books"], meta),
            Entry(raw, Target("baseline_raw_api", "/raw/api/v1/books"), meta),
        ]
        measure_group(results, group, modes)
    if not results.settings.servers:
        return
    log(f"postgresql {cat.rows:,}: server comparison on /books")
    with ExitStack() as servers:
        running = {
            server.name: servers.enter_context(
                serving(procs, server, "bookshelf:create_app()", env, "/healthz")
            )
            for server in [PRODUCTION, *COMPARED]
        }
        group = [
            Entry(port, books, {**cat.meta, "server": name, "block": "servers"})
            for name, (port, _) in running.items()
        ]
        measure_group(results, group, modes)
        for name, (_, proc) in running.items():
            record_memory(
                results, proc, {**cat.meta, "server": name, "app": "bookshelf", "block": "servers"}
            )


def machine() -> dict[str, Any]:
    def version(cmd: list[str]) -> str:
        with suppress(Exception):
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
        return "?"

    model = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        "?",
    )
    return {
        "cpus": CPUS,
        "cpu": model,
        "python": platform.python_version(),
        "wrk": version(["wrk", "--version"]).splitlines()[0] if shutil.which("wrk") else "?",
        "gunicorn": version([str(BIN / "python"), "-m", "gunicorn", "--version"]),
        "granian": version([str(BIN / "granian"), "--version"]),
        "postgres": version(["psql", "--version"]),
        "sqlite": sqlite3.sqlite_version,
        "commit": version(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]),
        "loadavg_at_start": os.getloadavg(),
    }


def interrupted(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    if not shutil.which("wrk"):
        print("wrk is missing: `apt-get install wrk` (make bench does it)", file=sys.stderr)
        return 2
    settings = Settings.from_env()
    WORK.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    results = Results(settings)
    info = machine()
    procs = Processes()
    # SIGTERM (make interrupted, timeout) takes the same cleanup path as Ctrl-C.
    signal.signal(signal.SIGTERM, interrupted)
    started = time.monotonic()
    try:
        with ExitStack() as databases:
            catalogues = {
                db: [prepare(results, databases, db, rows) for rows in settings.rows]
                for db in settings.databases
            }
            for db in settings.databases:
                bench_pages(results, procs, catalogues[db])
            for cat in catalogues.get("postgresql", []) if not settings.targets else []:
                bench_baselines(results, procs, cat)
            profiled = profile_catalogue(catalogues)
    finally:
        procs.close()
    info["loadavg_at_end"] = os.getloadavg()
    info["elapsed_s"] = round(time.monotonic() - started)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H%MZ")
    out = RESULTS / f"{stamp}.json"
    payload = {
        "started": results.started,
        "machine": info,
        "settings": {
            "rows": settings.rows,
            "duration_s": settings.duration,
            "rounds": settings.rounds,
            "warmup_s": settings.warmup,
            "concurrency": settings.concurrency,
            "wrk_threads": 1,
            "databases": settings.databases,
            "production_server": PRODUCTION.describe(),
            "compared_servers": [s.describe() for s in COMPARED],
            "servers": {s.name: s.describe() for s in [PRODUCTION, *COMPARED]},
        },
        "seeds": results.seeds,
        "runs": results.runs,
        "memory": results.memory,
        "notes": results.notes,
    }
    out.write_text(json.dumps(payload, indent=1) + "\n")
    log(f"wrote {out.relative_to(ROOT)} in {info['elapsed_s']} s")
    if settings.targets:
        return 0  # a partial run: the report describes full runs only
    from bench.report import write_report

    write_report(out)
    if profiled is not None:
        # The report rewrites the document: put the profile's section back in.
        from bench.profile import markdown, write_section

        write_section(markdown(json.loads(profiled.read_text())))
    return 0


def profile_catalogue(catalogues: dict[str, list[Catalogue]]) -> Path | None:
    """The in-process breakdown (bench/profile.py) on the smallest PostgreSQL catalogue, else
    the smallest SQLite one, while it still exists."""
    from bench.profile import run_in_subprocess

    cats = catalogues.get("postgresql") or catalogues.get("sqlite") or []
    if not cats or os.environ.get("BENCH_PROFILE", "1") == "0":
        return None
    cat = min(cats, key=lambda c: c.rows)
    log(f"{cat.db} {cat.rows:,}: in-process profile (bench/profile.py)")
    return run_in_subprocess(cat.url)


if __name__ == "__main__":
    sys.exit(main())
