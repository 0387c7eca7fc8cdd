"""Fixtures for deployhook's tests; plain helpers live in dh_helpers.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from dh_helpers import SECRET, TOKEN, FakePipeline, base_config

from deployhook.config import Config, config_from_dict
from deployhook.store import Store
from deployhook.web import create_app
from deployhook.worker import Worker
from support import (
    require_postgres,
    sqlalchemy_url,
    temporary_postgres_database,
    temporary_sqlite_database,
)


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., Config]:
    """Build a validated Config rooted in tmp_path; pass env= to change secrets."""

    def make(env: dict[str, str] | None = None, **sections: dict[str, Any]) -> Config:
        environ = {"DEPLOYHOOK_SECRET": SECRET, "DEPLOYHOOK_OPERATOR_TOKEN": TOKEN}
        if env is not None:
            environ = env
        return config_from_dict(base_config(tmp_path, **sections), environ, base_dir=tmp_path)

    return make


@pytest.fixture
def store(make_config: Callable[..., Config]) -> Iterator[Store]:
    """A fresh SQLite store for the test's config."""
    cfg = make_config()
    s = Store(cfg.database_url, cfg.app_name)
    yield s
    s.close()


@pytest.fixture
def client_for(make_config: Callable[..., Config]) -> Iterator[Callable[..., Any]]:
    """Flask test client for a config built from sections; the worker is not started."""
    stores: list[Store] = []

    def make(env: dict[str, str] | None = None, **sections: dict[str, Any]) -> Any:
        cfg = make_config(env=env, **sections)
        s = Store(cfg.database_url, cfg.app_name)
        stores.append(s)
        app = create_app(cfg, store=s, worker=Worker(s, cfg, FakePipeline()))
        client = app.test_client()
        client.store = s
        return client

    yield make
    for s in stores:
        s.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """deployhook's store on SQLite, and on a throwaway PostgreSQL database (skipped locally
    without a server, required when CI=true)."""
    if request.param == "sqlite":
        with temporary_sqlite_database(tmp_path, "dh") as url:
            yield url
        return
    require_postgres()
    with temporary_postgres_database("deployhook_test") as url:
        yield sqlalchemy_url(url)
