"""The README's command-line table, run as a reader runs it after `make run`.

`make run` writes `.flaskenv`; each command of the table then runs in a checkout-like
directory holding only that file, with no BOOKSHELF_ENV or SECRET_KEY in the environment.
The SQLite file goes to a temporary instance folder, never the developer's own.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# `python -m flask` is the `flask` script's own entry point; the script itself is missing where
# the tests run from a layered virtualenv (a deploy's test gate), so the module form is used.
FLASK = [sys.executable, "-m", "flask"]
PASSWORD = "correct horse battery staple 42"


def readme_cli_commands() -> list[list[str]]:
    """The table's commands, in order: the rows after the `tested: cli-table` marker."""
    text = (ROOT / "README.md").read_text()
    table = text.split("<!-- tested: cli-table -->", 1)[1].split("\n\n", 1)[0]
    commands = re.findall(r"^\| `([^`]+)` \|", table, flags=re.MULTILINE)
    assert commands, "the README's command table is empty"
    return [shlex.split(command) for command in commands]


def clean_environment(instance: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"BOOKSHELF_ENV", "SECRET_KEY", "FLASK_APP", "DATABASE_URL"}
    }
    env["BOOKSHELF_INSTANCE_PATH"] = str(instance)
    return env


def run(
    argv: list[str], cwd: Path, env: dict[str, str], stdin: str = ""
) -> subprocess.CompletedProcess:
    assert argv[0] == ".venv/bin/flask", argv
    return subprocess.run(
        [*FLASK, *argv[1:]],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_every_readme_cli_command_runs_after_make_run(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    subprocess.run(
        ["make", "-s", "-C", str(checkout), "-f", str(ROOT / "Makefile"), ".flaskenv"],
        check=True,
        capture_output=True,
    )
    # The file a reader downloads from Goodreads, where the table's import command expects it.
    sample = ROOT / "tests" / "bookshelf" / "data" / "goodreads_library_export.csv"
    (checkout / "goodreads_library_export.csv").write_bytes(sample.read_bytes())
    env = clean_environment(tmp_path / "instance")
    outputs = {}
    for argv in readme_cli_commands():
        stdin = f"{PASSWORD}\n{PASSWORD}\n" if argv[1] == "create-admin" else ""
        result = run(argv, checkout, env, stdin)
        assert result.returncode == 0, (argv, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr, (argv, result.stderr)
        outputs[argv[1]] = result.stdout
    assert "/books/new" in outputs["routes"]
    assert "rows/s" in outputs["seed"]
    assert "Only PostgreSQL has a separate index" in outputs["search-index"]  # make run: SQLite
    assert "admin alice" in outputs["create-admin"]
    assert outputs["create-token"].strip().startswith("bks_")
    assert "6 books added, 0 matched, 2 skipped" in outputs["import-goodreads"]


def test_production_without_secret_is_one_line_error(tmp_path: Path) -> None:
    """Without `.flaskenv` (a server, a release checkout) a missing key is named in one
    line, not shown as a traceback."""
    env = clean_environment(tmp_path / "instance")
    result = run([".venv/bin/flask", "routes"], tmp_path, {**env, "FLASK_APP": "bookshelf"})
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: SECRET_KEY is not set"), lines
