"""The failure log of a run: one JSON line per failed request, tree or LLM text, with its
reason."""

from __future__ import annotations

import json
import time
from contextvars import ContextVar
from pathlib import Path
from typing import Literal

__all__ = ["CURRENT_PROBLEM", "FailureLog"]

CURRENT_PROBLEM: ContextVar[str | None] = ContextVar("journeygen_problem", default=None)
"""The problem whose tree the current task builds; the runner sets it per tree task, so a
wrapper deep in the backend stack can say which problem a failed request belonged to."""

FailureKind = Literal["request", "tree", "text"]


class FailureLog:
    """Appends to `failures.jsonl`; each line is flushed at once so a crash keeps it.

    Reasons come from `BackendError` messages, which backends keep free of secrets.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0

    def add(self, kind: FailureKind, reason: str, *, retried: bool = False) -> None:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "kind": kind,
            "problem_id": CURRENT_PROBLEM.get(),
            "reason": reason,
            "retried": retried,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self.count += 1
