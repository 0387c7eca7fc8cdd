"""Another commit against this one: the same pages, each on its own catalogue, in alternating
rounds, so that "no slower than before" is measured in the same minutes on the same machine.

`make bench` compares the pages of one commit with each other and with the baselines. A claim
about a change needs the code before it measured beside the code after it: two separate runs
on this shared machine differ by more than most changes. Here both commits' catalogues are
seeded by their own `flask seed` (their schemas differ), both apps are served by gunicorn with
their own deploy/gunicorn.conf.py and virtualenv, and every measurement alternates between
them round by round (bench.run.measure_group): other load lands on both or in one round only.

    git worktree add ../before <commit>
    (cd ../before && make .venv/.installed-bench i18n-compile)
    BENCH_ROWS=1000000 BENCH_TARGETS=books_,book_ .venv/bin/python -m bench.compare ../before

Settings as for bench/run.py (BENCH_ROWS takes the first size; BENCH_DURATION, BENCH_ROUNDS,
BENCH_CONCURRENCY, BENCH_PG); PostgreSQL only. Prints after/before per page and writes
bench/results/compare-<date>.json.
"""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench.run import (
    PRODUCTION,
    RESULTS,
    THIS,
    WORK,
    Checkout,
    Entry,
    Processes,
    Results,
    Settings,
    app_env,
    interrupted,
    log,
    machine,
    measure_group,
    prepare,
    record_memory,
    serving,
    targets_for,
)


def commit_of(root: Path) -> str:
    result = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() or "unknown"


def compare(results: Results, checkouts: list[Checkout]) -> dict[str, str]:
    """Seed, serve and measure every wanted page on each checkout; returns their commits."""
    settings = results.settings
    rows = settings.rows[0]
    commits = {c.name: commit_of(c.root) for c in checkouts}  # what the servers will load
    procs = Processes()
    try:
        with ExitStack() as stack:
            catalogues = [prepare(results, stack, "postgresql", rows, c) for c in checkouts]
            servers = [
                stack.enter_context(
                    serving(
                        procs, PRODUCTION, "bookshelf:create_app()", app_env(cat.url), "/healthz", c
                    )
                )
                for cat, c in zip(catalogues, checkouts, strict=True)
            ]
            for index, target in enumerate(targets_for(1, 2, 2)):
                if settings.targets and not target.name.startswith(tuple(settings.targets)):
                    continue
                group = [
                    Entry(
                        port,
                        targets_for(cat.low, cat.high, rows)[index],
                        {**cat.meta, "server": c.name},
                    )
                    for (port, _), cat, c in zip(servers, catalogues, checkouts, strict=True)
                ]
                measure_group(results, group, (1, settings.concurrency))
            for (_, proc), cat, c in zip(servers, catalogues, checkouts, strict=True):
                record_memory(results, proc, {**cat.meta, "server": c.name})
    finally:
        procs.close()
    return commits


def ratios(runs: list[dict[str, Any]]) -> list[str]:
    """One line per page and client count: req/s before, after, and after/before."""
    measured = {(r["target"], r["connections"], r["server"]): r for r in runs if "rps" in r}
    lines = []
    for target, connections, server in measured:
        if server != "before":
            continue
        before = measured[(target, connections, "before")]
        after = measured.get((target, connections, THIS.name))
        if after is None:
            continue
        lines.append(
            f"{target:<14} c{connections:<2} before {before['rps']:>7.1f} req/s, p95 "
            f"{before['p95_ms']:6.2f} ms | after {after['rps']:>7.1f} req/s, p95 "
            f"{after['p95_ms']:6.2f} ms | after/before {after['rps'] / before['rps']:.2f}x"
        )
    return lines


def main() -> int:
    if len(sys.argv) != 2 or not (Path(sys.argv[1]) / ".venv" / "bin" / "python").exists():
        print(__doc__, file=sys.stderr)
        return 2
    before = Checkout(Path(sys.argv[1]).resolve(), name="before")
    settings = Settings.from_env()
    WORK.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, interrupted)
    results = Results(settings)
    info = machine()
    started = time.monotonic()
    commits = compare(results, [before, THIS])
    info["elapsed_s"] = round(time.monotonic() - started)
    lines = ratios(results.runs)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H%MZ")
    out = RESULTS / f"compare-{stamp}.json"
    payload = {
        "started": results.started,
        "machine": info,
        "commits": commits,
        "settings": {
            "rows": settings.rows[0],
            "duration_s": settings.duration,
            "rounds": settings.rounds,
        },
        "seeds": results.seeds,
        "runs": results.runs,
        "memory": results.memory,
        "notes": results.notes,
        "summary": lines,
    }
    out.write_text(json.dumps(payload, indent=1) + "\n")
    log(f"before = {commits['before']}, after = {commits[THIS.name]}; wrote {out.name}")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
