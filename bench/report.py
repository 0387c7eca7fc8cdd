"""Turn one bench/results/*.json into docs/PERFORMANCE.md and docs/performance-latency.png.

`python -m bench.report [results.json]` regenerates the page from a saved run (the newest one
by default); bench/notes.md, hand-written, is appended as it is.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "PERFORMANCE.md"
CHART = ROOT / "docs" / "performance-latency.png"
NOTES = ROOT / "bench" / "notes.md"

PAGES = {
    "books_first": "`/books` first page",
    "books_last": "`/books?last=1` last page",
    "books_deep": "`/books?after=…` second-to-last page",
    "book_show": "`/books/<id>` (random id)",
    "search_common": "`/search` common term",
    "search_rare": "`/search` rare term",
    "search_mid": "`/search` two mid-frequency words",
    "search_wordform": "`/search` Russian word form (войны)",
    "search_translit": "`/search` Latin spelling of a Cyrillic word (voina)",
    "search_cyrillic_author": "`/search` Cyrillic spelling of a Latin author (Толстой)",
    "search_typo": "`/search` typo, no match, suggestion (rivr nigth)",
    "api_books": "`/api/v1/books`",
    "healthz": "`/healthz`",
    "baseline_hello": "baseline (a): bare WSGI Hello, World",
    "baseline_raw": "baseline (b): Flask + psycopg_pool + Jinja, 20 books",
    "books_304": "`/books` revalidated: If-None-Match, 304",
    "baseline_flask": "baseline (c): Flask alone, Hello, World",
    "baseline_raw_book": "baseline (d): Flask + psycopg_pool + Jinja, one book by random id",
    "baseline_raw_api": "baseline (e): Flask + psycopg_pool + Flask's json, 20 books",
}
# The pages whose p95 must stay flat from the smallest to the largest catalogue.
FLAT_PAGES = [
    "books_first",
    "books_last",
    "books_deep",
    "book_show",
    "search_common",
    "search_rare",
]
SEARCH_PAGES = [
    "search_common",
    "search_rare",
    "search_mid",
    "search_wordform",
    "search_translit",
    "search_cyrillic_author",
    "search_typo",
]
SQLITE_PAGES = [
    "books_first",
    "books_last",
    "books_deep",
    "book_show",
    *SEARCH_PAGES,
]


class Run:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.settings = data["settings"]
        self.c = self.settings["concurrency"]
        # The server of deploy/gunicorn.conf.py; runs before 2026-11-26 08:00 called it so.
        self.prod = "production" if "servers" in self.settings else "gunicorn-sync"

    def find(self, **where: Any) -> dict[str, Any] | None:
        """A page run (every page at every size), unless `block` is given."""
        where.setdefault("block", None)
        for run in self.data["runs"]:
            if all(run.get(k) == v for k, v in where.items()):
                return run
        return None

    def paired(self, **where: Any) -> dict[str, Any] | None:
        """A run from the block where /books and the baselines ran back to back."""
        return self.find(block="baselines", **where) or self.find(**where)

    def sizes(self, db: str) -> list[int]:
        return sorted({r["rows"] for r in self.data["runs"] if r["db"] == db})


def ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def verdict(ok: bool | None) -> str:
    return "not measured" if ok is None else "**met**" if ok else "**not met**"


def table(header: list[str], rows: Iterable[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def targets(run: Run) -> tuple[str, list[str]]:
    rows: list[list[str]] = []
    summary: list[str] = []
    c = run.c
    pg_sizes = run.sizes("postgresql")

    def add(name: str, measured: str, ok: bool | None) -> None:
        rows.append([name, measured, verdict(ok)])
        summary.append(f"{name}: {verdict(ok)}")

    def ratio_row(name: str, target: str, baseline: str, minimum: float) -> None:
        """A page's req/s over a baseline's, measured back to back in the baselines block."""
        parts, oks = [], []
        for n in pg_sizes:
            page = run.paired(
                db="postgresql", rows=n, server=run.prod, target=target, connections=c
            )
            floor = run.paired(
                db="postgresql", rows=n, server=run.prod, target=baseline, connections=c
            )
            if page and floor:
                ratio = page["rps"] / floor["rps"]
                oks.append(ratio >= minimum)
                parts.append(
                    f"{n:,}: {page['rps']:.0f} / {floor['rps']:.0f} req/s = **{ratio:.2f}x**"
                )
        add(name, "; ".join(parts) or "–", all(oks) if oks else None)

    # 1. /books, /books/<id> and /api/v1/books against their hand-written floors; warm
    # revalidations (304 by the catalogue version); /healthz against Flask alone. Each pair ran
    # back to back on the same server. Runs saved before a baseline existed say "not measured".
    ratio_row("`/books` >= 0.8x the req/s of baseline (b)", "books_first", "baseline_raw", 0.8)
    ratio_row(
        "`/books/<id>` >= 0.8x the req/s of baseline (d)", "book_show", "baseline_raw_book", 0.8
    )
    ratio_row(
        "`/api/v1/books` >= 0.8x the req/s of baseline (e)", "api_books", "baseline_raw_api", 0.8
    )
    ratio_row(
        "`/books` revalidated (304) >= 2x the req/s of baseline (b)", "books_304", "baseline_raw", 2
    )
    ratio_row("`/healthz` >= 0.5x the req/s of baseline (c)", "healthz", "baseline_flask", 0.5)

    # 2. p95 growth from the smallest to the largest PostgreSQL catalogue.
    if len(pg_sizes) >= 2 and pg_sizes[0] < pg_sizes[-1]:
        lo, hi = pg_sizes[0], pg_sizes[-1]
        parts, oks = [], []
        for page in FLAT_PAGES:
            a = run.find(db="postgresql", rows=lo, server=run.prod, target=page, connections=1)
            b = run.find(db="postgresql", rows=hi, server=run.prod, target=page, connections=1)
            if a and b:
                ratio = b["p95_ms"] / a["p95_ms"]
                oks.append(ratio <= 1.5)
                parts.append(f"{page} {ms(a['p95_ms'])} → {ms(b['p95_ms'])} ms = **{ratio:.2f}x**")
        add(
            f"PostgreSQL p95 grows <= 1.5x from {lo:,} to {hi:,} books",
            "<br>".join(parts),
            all(oks) if oks else None,
        )
    else:
        add("PostgreSQL p95 grows <= 1.5x from 10k to 1M books", "needs two sizes", None)

    # 3. Search at a million books.
    big = [n for n in pg_sizes if n >= 1_000_000]
    if big:
        parts, oks = [], []
        for page in SEARCH_PAGES:
            r = run.find(db="postgresql", rows=big[-1], server=run.prod, target=page, connections=1)
            if r:
                oks.append(r["p95_ms"] <= 25)
                parts.append(
                    f"{page} p95 **{ms(r['p95_ms'])} ms** ({r['p95_ms'] / 25:.2f}x the budget)"
                )
        add(
            f"`/search` p95 <= 25 ms at {big[-1]:,} books (PostgreSQL, 1 client)",
            "<br>".join(parts),
            all(oks) if oks else None,
        )
    else:
        add("`/search` p95 <= 25 ms at 1M books (PostgreSQL, 1 client)", "1M not in this run", None)

    # 4. SQLite at 100k.
    if 100_000 in run.sizes("sqlite"):
        parts, oks = [], []
        for page in SQLITE_PAGES:
            r = run.find(db="sqlite", rows=100_000, target=page, connections=1)
            if r:
                oks.append(r["p95_ms"] <= 25)
                parts.append(f"{page} {ms(r['p95_ms'])}")
        add(
            "SQLite at 100,000 books: every page p95 <= 25 ms (1 client)",
            "p95 ms: " + ", ".join(parts),
            all(oks) if oks else None,
        )
    else:
        add("SQLite at 100,000 books: every page p95 <= 25 ms", "100k not in this run", None)

    # 5. Seeding speed and flat memory.
    pg_seeds = [s for s in run.data["seeds"] if s["db"] == "postgresql"]
    if pg_seeds:
        parts = [
            f"{s['rows']:,}: {s['rows_per_s']:,} rows/s, peak RSS {s['max_rss_mb']:.0f} MB"
            for s in pg_seeds
        ]
        fast = all(s["rows_per_s"] >= 50_000 for s in pg_seeds)
        rss = [s["max_rss_mb"] for s in pg_seeds]
        flat = max(rss) <= min(rss) * 1.25
        ratio = min(s["rows_per_s"] for s in pg_seeds) / 50_000
        add(
            "`flask seed` >= 50,000 rows/s on PostgreSQL, memory flat",
            "; ".join(parts)
            + f" (slowest = **{ratio:.2f}x** the target;"
            + f" peak RSS max/min = {max(rss) / min(rss):.2f})",
            fast and flat,
        )

    # 6. Memory per worker: the production server after serving every page; others listed.
    def largest(memory: list[dict[str, Any]]) -> tuple[float, dict[str, Any]] | None:
        sizes = [(w.get("rss_mb", 0), m) for m in memory for w in m["workers"]]
        return max(sizes, key=lambda x: x[0]) if sizes else None

    prod = largest(
        [m for m in run.data["memory"] if m["server"] == run.prod and not m.get("block")]
    )
    if prod:
        top, where = prod
        others = largest([m for m in run.data["memory"] if m["server"] != run.prod])
        extra = (
            f"; of all servers compared: {others[0]:.0f} MB ({others[1]['server']})"
            if others
            else ""
        )
        add(
            "RSS per worker <= 80 MB",
            f"production server, largest worker **{top:.0f} MB** ({top / 80:.2f}x the budget; "
            f"{where['db']}, {where['rows']:,} books){extra}",
            top <= 80,
        )
    return table(["Target", "Measured (this run)", "Verdict"], rows), summary


def page_table(run: Run, db: str, rows_n: int) -> str:
    c = run.c
    lines = []
    for page, label in PAGES.items():
        # The baselines ran in their own block, back to back with /books.
        find = run.paired if page.startswith("baseline_") else run.find
        one = find(db=db, rows=rows_n, server=run.prod, target=page, connections=1)
        many = find(db=db, rows=rows_n, server=run.prod, target=page, connections=c)
        skipped = next(
            (
                r
                for r in run.data["runs"]
                if r["db"] == db and r["rows"] == rows_n and r["target"] == page and "skipped" in r
            ),
            None,
        )
        if skipped:
            lines.append([label, f"skipped: {skipped['skipped']}", "", "", "", "", "", ""])
            continue
        if not one:
            continue
        lines.append(
            [
                label,
                f"{one['rps']:.0f}",
                f"{ms(one['p50_ms'])} / {ms(one['p95_ms'])} / {ms(one['p99_ms'])}",
                f"{many['rps']:.0f}" if many else "–",
                f"{ms(many['p50_ms'])} / {ms(many['p95_ms'])} / {ms(many['p99_ms'])}"
                if many
                else "–",
                f"{one['kb_per_response']}",
                str(one["errors"] + (many["errors"] if many else 0)),
                f"{one.get('loadavg_1m', '–')}",
            ]
        )
    return table(
        [
            "Page",
            "req/s, 1 client",
            "p50 / p95 / p99 ms, 1 client",
            f"req/s, {c} clients",
            f"p50 / p95 / p99 ms, {c} clients",
            "KB",
            "errors",
            "load avg",
        ],
        lines,
    )


def servers_table(run: Run, rows_n: int) -> str:
    c = run.c
    described = run.settings.get("servers") or {
        "gunicorn-gthread": run.settings["compared_servers"][0],
        "granian": run.settings["compared_servers"][1],
        "gunicorn-sync": run.settings["production_server"],
    }
    lines = []
    for server, label in described.items():
        where = {"db": "postgresql", "rows": rows_n, "server": server, "target": "books_first"}
        one = run.find(block="servers", connections=1, **where)
        many = run.find(block="servers", connections=c, **where)
        mem = next(
            (
                m
                for m in run.data["memory"]
                if m["db"] == "postgresql"
                and m["rows"] == rows_n
                and m["server"] == server
                and m.get("block") == "servers"
            ),
            None,
        )
        if not (one and many):
            continue
        rss = ", ".join(f"{w.get('rss_mb', 0):.0f}" for w in mem["workers"]) if mem else "–"
        total_pss = sum(w.get("pss_mb", 0) for w in mem["workers"]) if mem else 0
        lines.append(
            [
                label,
                f"{many['rps']:.0f}",
                f"{ms(many['p50_ms'])} / {ms(many['p95_ms'])} / {ms(many['p99_ms'])}",
                f"{ms(one['p95_ms'])}",
                rss,
                f"{total_pss:.0f}",
            ]
        )
    return table(
        [
            "Server",
            f"req/s, {c} clients",
            f"p50 / p95 / p99 ms, {c} clients",
            "p95 ms, 1 client",
            "RSS per worker MB",
            "PSS of all workers MB",
        ],
        lines,
    )


def chart(run: Run) -> bool:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 5.5), dpi=110)
    plotted = False
    for db, style in (("postgresql", "-"), ("sqlite", "--")):
        sizes = run.sizes(db)
        for i, page in enumerate(FLAT_PAGES):
            points = [
                (n, r["p95_ms"])
                for n in sizes
                if (r := run.find(db=db, rows=n, server=run.prod, target=page, connections=1))
            ]
            if points:
                xs, ys = zip(*points, strict=True)
                ax.plot(xs, ys, style, marker="o", color=f"C{i}", label=f"{page} ({db})")
                plotted = True
    if not plotted:
        plt.close(fig)
        return False
    ax.axhline(25, color="grey", linestyle=":", linewidth=1)
    ax.text(ax.get_xlim()[0], 25.5, " 25 ms budget", color="grey", fontsize=8, va="bottom")
    ax.set_xscale("log")
    ax.set_xlabel("books in the catalogue (log scale)")
    ax.set_ylabel("p95 latency, one client (ms)")
    ax.set_title("bookshelf: p95 latency against catalogue size (gunicorn sync, wrk -c1)")
    ax.set_ylim(bottom=0)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(CHART)
    plt.close(fig)
    return True


def render(results_path: Path) -> str:
    data = json.loads(results_path.read_text())
    run = Run(data)
    s, m = data["settings"], data["machine"]
    target_table, _ = targets(run)
    has_chart = chart(run)
    parts = [
        "# Performance",
        "",
        f"<!-- Generated by `make bench` (bench/report.py) from "
        f"`{results_path.relative_to(ROOT)}`; edit bench/notes.md, not this file. -->",
        "",
        f"Run of {data['started'][:16].replace('T', ' ')} UTC on commit `{m['commit']}`: "
        f"{m['cpus']} CPUs ({m['cpu']}), Python {m['python']}, {m['postgres']}, "
        f"SQLite {m['sqlite']}, {m['gunicorn']}, {m['granian']}, {m['wrk']}. "
        f"Load average at start {m['loadavg_at_start'][0]:.2f}, "
        f"at end {m['loadavg_at_end'][0]:.2f}; "
        f"the whole run took {m['elapsed_s'] / 60:.1f} min.",
        "",
        f"Method: each measurement is `wrk -t1` for {s['duration_s']} s after a {s['warmup_s']} s "
        f"warm-up, split into {s.get('rounds', 1)} rounds that alternate with the other "
        "entries of its group (the same page at the other sizes; /books and the baselines; "
        "the three servers); req/s and each percentile are the median over the rounds, and "
        "every round is kept in the JSON. It runs once with 1 connection (latency; the p95 "
        "targets) and once with "
        f"{s['concurrency']} connections (throughput). wrk, the server and the database share "
        f"the {m['cpus']} cores. The app runs with `BOOKSHELF_ENV=production`, a fresh random "
        f"`SECRET_KEY` and {s['production_server']}, access log on, as in production. "
        "PostgreSQL catalogues are seeded with `flask seed` (COPY) and then `VACUUM (ANALYZE)`d "
        "(the steady state autovacuum reaches); SQLite files are used as seeded. "
        "One app server per catalogue size runs at once and every page is measured at every "
        "size before the next page, so the sizes are compared within seconds of each other. "
        "The baselines run afterwards in a group of their own with the app's `/books`, "
        "`/books/<id>`, `/api/v1/books` and `/healthz` on the same server (the ratio targets "
        "use that group), then the three servers as a group. "
        "`load avg` is the machine's 1-minute load average as the 1-client run started: "
        "other work on this shared machine shows there.",
        "",
        "## Targets",
        "",
        target_table,
        "",
    ]
    if has_chart:
        parts += [
            "## Latency against catalogue size",
            "",
            f"![p95 latency against catalogue size]({CHART.name})",
            "",
        ]
    for db in ("postgresql", "sqlite"):
        for n in run.sizes(db):
            parts += [
                f"## {'PostgreSQL' if db == 'postgresql' else 'SQLite'}, {n:,} books",
                "",
                page_table(run, db, n),
                "",
            ]
            if db == "postgresql" and run.find(db=db, rows=n, block="servers"):
                parts += [
                    f"Server comparison on `/books` ({n:,} books):",
                    "",
                    servers_table(run, n),
                    "",
                ]
    seeds = data["seeds"]
    if seeds:
        parts += [
            "## `flask seed`",
            "",
            table(
                ["Database", "Books", "rows/s", "seconds", "peak RSS MB"],
                (
                    [
                        s_["db"],
                        f"{s_['rows']:,}",
                        f"{s_['rows_per_s']:,}",
                        f"{s_['seconds']}",
                        f"{s_['max_rss_mb']:.0f}",
                    ]
                    for s_ in seeds
                ),
            ),
            "",
        ]
    mem_rows = []
    for mem in data["memory"]:
        workers = mem["workers"]
        mem_rows.append(
            [
                f"{mem['db']} {mem['rows']:,}",
                mem["server"],
                ", ".join(f"{w.get('rss_mb', 0):.0f}" for w in workers),
                ", ".join(f"{w.get('pss_mb', 0):.0f}" for w in workers),
            ]
        )
    if mem_rows:
        parts += [
            "## Memory per worker after the run",
            "",
            table(["Catalogue", "Server", "RSS MB", "PSS MB"], mem_rows),
            "",
        ]
    if data["notes"]:
        parts += ["## Warnings from the run", "", *(f"- {n}" for n in data["notes"]), ""]
    if NOTES.exists():
        parts += [NOTES.read_text().strip(), ""]
    return "\n".join(parts)


def write_report(results_path: Path) -> None:
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(render(results_path))
    print(
        f"[bench] wrote {DOC.relative_to(ROOT)}"
        + (f" and {CHART.relative_to(ROOT)}" if CHART.exists() else "")
    )


def newest_results() -> Path:
    return max((ROOT / "bench" / "results").glob("*.json"), key=lambda p: p.name)


if __name__ == "__main__":
    write_report(Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else newest_results())
