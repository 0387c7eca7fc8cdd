"""Results passed between the worker, the release pipeline and the reloader.

Kept apart from all three so that none of them imports its caller to name a return type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Outcome:
    """Final status of a deploy plus fields learnt on the way (sha, release names)."""

    status: str
    reason: str = ""
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass
class StepResult:
    """How a step ended; ``exit_code`` is None for a timeout or a Python-side failure."""

    ok: bool
    exit_code: int | None
    output: str
    duration: float


@dataclass
class ReloadResult:
    """``old_retired`` tells a rollback whether the old server is still there to fall back on."""

    ok: bool
    log: str
    old_retired: bool
