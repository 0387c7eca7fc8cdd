"""Where production keeps its data: never inside a release, a virtualenv or site-packages.

A deploy replaces the release and its virtualenv, and pruning deletes old releases: anything
the app writes there is lost on the next deploy or comes back stale with a rollback.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import uuid
from pathlib import Path

import pytest

from bookshelf import create_app
from bookshelf.config import ConfigError
from bookshelf_helpers import TEST_SECRET, app_config


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A production environment with a valid secret and no database or instance settings."""
    monkeypatch.setenv("BOOKSHELF_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", TEST_SECRET)
    for name in ("FLASK_DEBUG", "DATABASE_URL", "BOOKSHELF_INSTANCE_PATH"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def deploy_tree(root: Path) -> Path:
    """A deploy tree as deployhook lays it out; returns the live release directory."""
    release = root / "releases" / "20260101000000-abcdef0"
    release.mkdir(parents=True)
    (root / "shared" / "instance").mkdir(parents=True)
    (root / "current").symlink_to(release)
    return release


def unique_name() -> str:
    return f"bookshelf-instance-test-{uuid.uuid4().hex[:8]}"


def refused(production: pytest.MonkeyPatch, instance: Path) -> str:
    production.setenv("BOOKSHELF_INSTANCE_PATH", str(instance))
    with pytest.raises(ConfigError) as excinfo:
        create_app({})
    message = str(excinfo.value)
    assert "\n" not in message, "the refusal is one line"
    assert not instance.exists(), "nothing is created where data must not live"
    return message


def test_instance_inside_a_virtualenv_is_refused(production: pytest.MonkeyPatch) -> None:
    # Flask's default for an installed package is <sys.prefix>/var/bookshelf-instance.
    message = refused(production, Path(sys.prefix) / "var" / unique_name())
    assert "BOOKSHELF_INSTANCE_PATH" in message and sys.prefix in message


def test_instance_inside_site_packages_is_refused(production: pytest.MonkeyPatch) -> None:
    site_packages = Path(sysconfig.get_paths()["purelib"])
    message = refused(production, site_packages / unique_name())
    assert "BOOKSHELF_INSTANCE_PATH" in message


def test_instance_inside_a_release_is_refused(
    production: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    release = deploy_tree(tmp_path / "srv")
    message = refused(production, release / "instance")
    assert "BOOKSHELF_INSTANCE_PATH" in message and "release" in message
    # Reached through the `current` symlink it is the same release.
    refused(production, tmp_path / "srv" / "current" / "var")


def test_sqlite_database_inside_a_release_is_refused(
    production: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    release = deploy_tree(tmp_path / "srv")
    production.setenv("BOOKSHELF_INSTANCE_PATH", str(tmp_path / "srv" / "shared" / "instance"))
    production.setenv("DATABASE_URL", f"sqlite:///{release / 'books.sqlite3'}")
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        create_app({})
    assert not (release / "books.sqlite3").exists()


def test_relative_sqlite_path_resolves_from_the_working_directory(
    production: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    release = deploy_tree(tmp_path / "srv")
    production.setenv("BOOKSHELF_INSTANCE_PATH", str(tmp_path / "srv" / "shared" / "instance"))
    production.setenv("DATABASE_URL", "sqlite:///books.sqlite3")
    production.chdir(tmp_path / "srv" / "current")
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        create_app({})
    assert not (release / "books.sqlite3").exists()


def test_release_instance_linked_to_shared_is_accepted(
    production: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # What deployhook's `shared = ["instance"]` does: the bytes live in shared/.
    release = deploy_tree(tmp_path / "srv")
    shared = tmp_path / "srv" / "shared" / "instance"
    (release / "instance").symlink_to(shared)
    production.setenv("BOOKSHELF_INSTANCE_PATH", str(release / "instance"))
    create_app({})
    assert (shared / "bookshelf.sqlite3").is_file()


def test_shared_instance_gets_private_files(production: pytest.MonkeyPatch, tmp_path: Path) -> None:
    instance = tmp_path / "shared" / "instance"
    production.setenv("BOOKSHELF_INSTANCE_PATH", str(instance))
    app = create_app({})
    database = instance / "bookshelf.sqlite3"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{database}"
    assert instance.stat().st_mode & 0o777 == 0o700
    assert database.stat().st_mode & 0o777 == 0o600
    # The WAL and shared-memory files SQLite creates next to it inherit the file's mode.
    with app.app_context():
        from sqlalchemy import text

        from bookshelf.extensions import db

        db.session.execute(text("CREATE TABLE t (x INTEGER)"))
        db.session.commit()
        modes = {p.name: p.stat().st_mode & 0o777 for p in instance.iterdir()}
        db.engine.dispose()
    assert modes["bookshelf.sqlite3-wal"] == 0o600, modes


def test_an_existing_world_readable_database_is_made_private(
    production: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    instance = tmp_path / "instance"
    instance.mkdir()
    database = instance / "bookshelf.sqlite3"
    database.touch()
    database.chmod(0o644)
    production.setenv("BOOKSHELF_INSTANCE_PATH", str(instance))
    create_app({})
    assert database.stat().st_mode & 0o777 == 0o600


def test_postgres_needs_the_instance_outside_too(production: pytest.MonkeyPatch) -> None:
    # Nothing but the database goes to PostgreSQL: the instance folder (future uploads,
    # caches) must still survive a deploy.
    production.setenv("DATABASE_URL", "postgresql://user@db.example/books")
    refused(production, Path(sys.prefix) / "var" / unique_name())


def test_tests_do_not_create_the_default_instance_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A test gate runs against the installed package, whose default instance folder is inside
    # the virtualenv under test: an app on another database must not create it.
    instance = Path(sys.prefix) / "var" / unique_name()
    monkeypatch.setenv("BOOKSHELF_INSTANCE_PATH", str(instance))
    create_app(app_config(f"sqlite:///{tmp_path / 'test.sqlite3'}"))
    assert not instance.exists()
    assert (tmp_path / "test.sqlite3").stat().st_mode & 0o777 == 0o600


def test_development_may_keep_data_anywhere(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    release = deploy_tree(tmp_path / "srv")
    monkeypatch.setenv("BOOKSHELF_ENV", "development")
    monkeypatch.setenv("BOOKSHELF_INSTANCE_PATH", str(release / "instance"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    create_app({})
    assert (release / "instance" / "secret_key").stat().st_mode & 0o777 == 0o600


def test_the_migrate_command_refuses_in_one_line(tmp_path: Path) -> None:
    """`flask db upgrade` is what a deploy runs: it must stop before writing anything."""
    release = deploy_tree(tmp_path / "srv")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "BOOKSHELF_INSTANCE_PATH", "FLASK_DEBUG"}
    }
    env.update(BOOKSHELF_ENV="production", SECRET_KEY=TEST_SECRET)
    out = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "bookshelf", "db", "upgrade"],
        cwd=release,
        env={**env, "BOOKSHELF_INSTANCE_PATH": str(release / "instance")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode != 0
    last = out.stderr.strip().splitlines()[-1]
    assert "BOOKSHELF_INSTANCE_PATH" in last, out.stderr
    assert not (release / "instance").exists()
