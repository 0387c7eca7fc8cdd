"""bench/memory.py's readings of a process and its probe's grouping by package."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.memory import largest_mappings
from bench.memory_probe import package_of

ROOT = Path(__file__).resolve().parents[2]


def test_largest_mappings_name_the_heap_and_the_libraries() -> None:
    mappings = dict(largest_mappings(os.getpid(), count=200))
    assert list(mappings.values()) == sorted(mappings.values(), reverse=True)
    assert any("libpython" in name or "[heap]" in name for name in mappings)
    assert sum(mappings.values()) > 10  # MB: an interpreter with pytest loaded


def test_allocations_are_grouped_by_their_package() -> None:
    venv = "/srv/app/.venv/lib/python3.11/site-packages"
    assert package_of(f"{venv}/sqlalchemy/sql/compiler.py") == "sqlalchemy"
    assert package_of(f"{venv}/typing_extensions.py") == "typing_extensions"
    assert package_of("/srv/app/src/bookshelf/models.py") == "bookshelf"
    assert package_of("/usr/lib/python3.11/json/decoder.py") == "stdlib:decoder"
    assert package_of("<frozen importlib._bootstrap>") == "<frozen importlib._bootstrap>"


def test_the_import_profiler_gives_each_module_its_own_share(tmp_path: Path) -> None:
    """The profiler builds the app as a worker does (SQLite here), then weighs the rest."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOOKSHELF_", "FLASK_"))}
    env.update(
        BOOKSHELF_ENV="production",
        SECRET_KEY="0123456789abcdef" * 4,
        DATABASE_URL=f"sqlite:///{tmp_path / 'catalogue.sqlite3'}",
        BOOKSHELF_INSTANCE_PATH=str(tmp_path / "instance"),
    )
    done = subprocess.run(
        [sys.executable, "-m", "bench.memory_probe"],
        input=json.dumps(["colorsys"]),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=True,
    )
    costs = json.loads(done.stdout.splitlines()[-1])
    assert costs["after_all_mb"] >= costs["after_create_app_mb"] > costs["interpreter_mb"] > 0
    assert costs["packages_mb"]["sqlalchemy"] > 1
