"""bench/report.py on a small made-up run: the ratio targets of the pages against their
hand-written baselines, and the per-size tables, also for a run saved before some existed."""

from __future__ import annotations

from typing import Any

from bench.report import Run, page_table, targets

ROWS = 10_000
BASELINE_TARGETS = {
    "`/books` >= 0.8x the req/s of baseline (b)": ("books_first", "baseline_raw"),
    "`/books/<id>` >= 0.8x the req/s of baseline (d)": ("book_show", "baseline_raw_book"),
    "`/api/v1/books` >= 0.8x the req/s of baseline (e)": ("api_books", "baseline_raw_api"),
}


def measured(target: str, rps: float, connections: int, block: str | None) -> dict[str, Any]:
    run: dict[str, Any] = {
        "db": "postgresql",
        "rows": ROWS,
        "server": "production",
        "target": target,
        "path": "/",
        "connections": connections,
        "requests": int(rps * 6),
        "rps": rps,
        "p50_ms": 1.0,
        "p90_ms": 1.5,
        "p95_ms": 2.0,
        "p99_ms": 3.0,
        "max_ms": 5.0,
        "errors": 0,
        "kb_per_response": 3.2,
        "loadavg_1m": 1.0,
    }
    if block:
        run["block"] = block
    return run


def results(rps: dict[str, float], pages: dict[str, float]) -> dict[str, Any]:
    """A run of one PostgreSQL catalogue: `pages` measured on their own (the pages block),
    `rps` in the baselines block; the given req/s with 8 clients, an eighth of it with one."""
    runs = [
        measured(target, value if c == 8 else value / 8, c, block)
        for block, values in ((None, pages), ("baselines", rps))
        for target, value in values.items()
        for c in (1, 8)
    ]
    return {
        "settings": {"concurrency": 8, "servers": {"production": "gunicorn sync"}},
        "runs": runs,
        "seeds": [],
        "memory": [],
        "notes": [],
    }


def rows_of(markdown: str) -> dict[str, list[str]]:
    rows = [line.strip("|").split(" | ") for line in markdown.splitlines()[2:]]
    return {row[0].strip(): [cell.strip() for cell in row[1:]] for row in rows}


def test_each_page_is_compared_with_its_own_baseline_from_the_baselines_block() -> None:
    data = results(
        rps={
            "books_first": 400,
            "baseline_raw": 1000,  # 0.40x: not met
            "book_show": 900,
            "baseline_raw_book": 1000,  # 0.90x: met
            "api_books": 800,
            "baseline_raw_api": 1000,  # 0.80x: met, the bound included
        },
        # The same pages measured on their own, at other rates: the ratios must not use them.
        pages={"books_first": 50, "book_show": 50, "api_books": 50},
    )
    table, summary = targets(Run(data))
    rows = rows_of(table)

    assert rows["`/books` >= 0.8x the req/s of baseline (b)"] == [
        "10,000: 400 / 1000 req/s = **0.40x**",
        "**not met**",
    ]
    assert rows["`/books/<id>` >= 0.8x the req/s of baseline (d)"] == [
        "10,000: 900 / 1000 req/s = **0.90x**",
        "**met**",
    ]
    assert rows["`/api/v1/books` >= 0.8x the req/s of baseline (e)"] == [
        "10,000: 800 / 1000 req/s = **0.80x**",
        "**met**",
    ]
    assert "`/books/<id>` >= 0.8x the req/s of baseline (d): **met**" in summary


def test_a_run_saved_before_the_new_baselines_says_not_measured() -> None:
    data = results(
        rps={"books_first": 400, "baseline_raw": 1000},
        pages={"books_first": 400, "book_show": 900, "api_books": 800},
    )
    rows = rows_of(targets(Run(data))[0])

    assert rows["`/books` >= 0.8x the req/s of baseline (b)"][1] == "**not met**"
    for name in list(BASELINE_TARGETS)[1:]:
        assert rows[name] == ["–", "not measured"]
    # The page tables list what was measured and leave the missing baselines out.
    pages = rows_of(page_table(Run(data), "postgresql", ROWS))
    assert "`/books/<id>` (random id)" in pages
    assert not any(label.startswith(("baseline (d)", "baseline (e)")) for label in pages)


def test_the_page_table_shows_the_new_baselines_beside_the_others() -> None:
    data = results(
        rps={name: 1000 for pair in BASELINE_TARGETS.values() for name in pair},
        pages={"book_show": 900, "api_books": 800},
    )
    pages = rows_of(page_table(Run(data), "postgresql", ROWS))

    book = pages["baseline (d): Flask + psycopg_pool + Jinja, one book by random id"]
    api = pages["baseline (e): Flask + psycopg_pool + Flask's json, 20 books"]
    assert book[0] == "125" and book[2] == "1000"  # 1 client, then 8 clients
    assert api[0] == "125" and api[2] == "1000"
    # The app's own rows are the pages block's, as for every page.
    assert pages["`/books/<id>` (random id)"][2] == "900"
    assert pages["`/api/v1/books`"][2] == "800"
