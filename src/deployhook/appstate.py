"""What a running deployhook app holds (config, store, pipeline, health watch, worker), reached
from any view through one set of accessors instead of each module digging in app.extensions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Response, current_app, jsonify

if TYPE_CHECKING:
    from .config import Config
    from .overview import HealthWatch
    from .pipeline import ReleasePipeline
    from .store import Store
    from .worker import Worker


def _held() -> dict[str, Any]:
    return current_app.extensions["deployhook"]


def config() -> Config:
    return _held()["config"]


def store() -> Store:
    return _held()["store"]


def pipeline() -> ReleasePipeline:
    return _held()["pipeline"]


def health() -> HealthWatch:
    return _held()["health"]


def worker() -> Worker | None:
    """The in-process deploy worker, or None when `deployhook worker` runs on its own."""
    return _held()["worker"]


def json_response(data: dict[str, Any], status: int) -> Response:
    response = jsonify(data)
    response.status_code = status
    return response
