"""Live deploy logs as Server-Sent Events: each step's state and only the new output.

The stream polls the database (the runner stores a running step's output every second) and
sends, per step, what changed since the last event: the text from the first character that
differs. The browser keeps the text up to that offset and appends the rest, so a log that
grows is appended to, and one whose middle was dropped by the output cap is still right.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .store import FINAL, Deploy, Step

# CSI sequences (colours, cursor moves), OSC sequences (titles, links) and lone escapes.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]")
POLL_SECONDS = 0.5
STREAM_SECONDS = 600.0  # then the browser reconnects (EventSource does so by itself)


def strip_ansi(text: str) -> str:
    """Terminal colour and control sequences removed; a lone carriage return ends a line."""
    return _ANSI.sub("", text).replace("\r\n", "\n").replace("\r", "\n")


def step_state(step: Step) -> str:
    """ "running", "succeeded" or "failed" (a timeout or cancel counts as failed)."""
    if step.finished_at is None:
        return "running"
    return "succeeded" if step.exit_code == 0 else "failed"


def step_label(step: Step) -> str:
    """What the step's badge says."""
    if step.finished_at is None:
        return "running"
    if step.exit_code == 0:
        return "succeeded"
    return "stopped" if step.exit_code is None else f"exit {step.exit_code}"


def failing_step(deploy: Deploy) -> int | None:
    """Position of the step the operator should see first when a deploy did not succeed."""
    if deploy.status not in ("failed", "rolled_back", "cancelled"):
        return None
    failed = [s.position for s in deploy.steps if s.finished_at is not None and s.exit_code != 0]
    return failed[-1] if failed else None


def _delta(old: str, new: str) -> tuple[int, str]:
    if new.startswith(old):
        return len(old), new[len(old) :]
    same = 0
    for a, b in zip(old, new, strict=False):
        if a != b:
            break
        same += 1
    return same, new[same:]


@dataclass
class Follower:
    """Remembers what one browser has been sent, to send only what changed."""

    sent: dict[int, tuple[str, str, str]]
    total: int = 0

    def step_events(
        self, deploy: Deploy, mask: Callable[[str], str], total: int
    ) -> Iterator[dict[str, Any]]:
        """One event per step whose state, duration or output changed."""
        for step in deploy.steps:
            text = mask(strip_ansi(step.output or ""))
            state = step_label(step)
            duration = "" if step.duration is None else f"{step.duration:.1f}s"
            old = self.sent.get(step.position)
            if old == (text, state, duration) and total == self.total:
                continue
            offset, added = _delta(old[0] if old else "", text)
            self.sent[step.position] = (text, state, duration)
            yield {
                "position": step.position,
                "total": total,
                "name": step.name,
                "command": " ".join(json.loads(step.command)) if step.command else "",
                "state": step_state(step),
                "label": state,
                "duration": duration,
                "offset": offset,
                "text": added,
            }


def sse(event: str, data: dict[str, Any]) -> str:
    """One Server-Sent Event."""
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


def step_total(deploy: Deploy, planned: Callable[[Deploy], int] | None) -> int:
    """The "of N": the real count once finished, else the plan (never fewer than so far)."""
    if deploy.status in FINAL or planned is None:
        return len(deploy.steps)
    return max(planned(deploy), len(deploy.steps))


def stream(
    load: Callable[[], Deploy | None],
    mask: Callable[[str], str],
    *,
    planned: Callable[[Deploy], int] | None = None,
    poll: float = POLL_SECONDS,
    limit: float = STREAM_SECONDS,
) -> Iterator[str]:
    """Events until the deploy is final (then ``done``) or ``limit`` seconds have passed."""
    follower = Follower({})
    deadline = time.monotonic() + limit
    yield "retry: 2000\n\n"
    while True:
        deploy = load()
        if deploy is None:
            yield sse("gone", {})
            return
        total = step_total(deploy, planned)
        for data in follower.step_events(deploy, mask, total):
            yield sse("step", data)
        follower.total = total
        if deploy.status in FINAL:
            yield sse("done", _summary(deploy, mask))
            return
        if time.monotonic() > deadline:
            return
        yield ": keep-alive\n\n"
        time.sleep(poll)


def _summary(deploy: Deploy, mask: Callable[[str], str]) -> dict[str, Any]:
    return {
        "status": deploy.status,
        "reason": mask(deploy.reason or ""),
        "duration": "" if deploy.duration is None else f"{deploy.duration:.1f}s",
        "open": failing_step(deploy),
    }


def raw_log(deploy: Deploy, mask: Callable[[str], str]) -> str:
    """The whole deploy as plain text, for download."""
    lines = [
        f"deploy #{deploy.id} {deploy.status} commit {deploy.commit_sha or '-'} ({deploy.trigger})",
        mask(f"reason: {deploy.reason}") if deploy.reason else "",
    ]
    for step in deploy.steps:
        command = " ".join(json.loads(step.command)) if step.command else ""
        duration = "" if step.duration is None else f" {step.duration:.1f}s"
        lines.append(
            f"\n== {step.position}/{len(deploy.steps)} {step.name} [{step_label(step)}"
            f"{duration}] {command}"
        )
        lines.append(step.output or "")
    return mask("\n".join(lines)) + "\n"
