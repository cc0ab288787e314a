"""What a run did so far, kept in two places: the summary printed at the end and the run's
manifest on disk (rewritten while the run goes, so a crash leaves figures behind)."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from journeygen.models import Usage
from journeygen.runtime import Stack
from journeygen.store import Manifest

__all__ = ["RunSummary", "record_figures"]


@dataclass
class RunSummary:
    """What a run did, for the closing summary line and for tests. `usage` and `cost` are
    what this session paid; replays from the request cache are `cached` and cost nothing."""

    problems: int = 0
    rejects: int = 0
    decontaminated: int = 0
    trees: int = 0
    reused: int = 0
    pending: int = 0
    status: Counter[str] = field(default_factory=Counter)
    exported: dict[str, int] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)
    cost: float = 0.0
    cached: int = 0
    failures: int = 0
    stopped: str | None = None
    interrupted: bool = False
    wall_s: float = 0.0
    out_dir: Path = Path()


def record_figures(
    summary: RunSummary, manifest: Manifest, stack: Stack, started: float | None
) -> None:
    """Copy the run's figures (every model's, each at its own price) into the summary and
    the manifest."""
    summary.usage = stack.usage
    summary.cost = stack.session_cost
    summary.cached = sum(layer.backend.hits for layer in stack.layers)
    summary.failures = stack.failures.count
    summary.stopped = stack.gate.reason
    manifest.counts = {"trees": summary.trees, **summary.status}
    if summary.pending:
        manifest.counts["pending"] = summary.pending
    manifest.usage = stack.run_usage
    manifest.cost_usd = round(stack.run_cost, 6)
    manifest.stopped = summary.stopped
    if started is not None:
        manifest.wall_s = time.monotonic() - started
