"""The batch journal: which provider batch holds each request, kept in the run folder so a
restarted process waits on batches already paid for instead of sending them again."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from journeygen.backends.base import BackendError
from journeygen.store import atomic_open

__all__ = ["BATCH_JOURNAL", "BatchJournal", "Submission"]

BATCH_JOURNAL = "batches.jsonl"
"""The journal's file name in the run folder."""


@dataclass(frozen=True)
class Submission:
    """A batch about to be created: its token, when, and its request keys."""

    token: str
    at: float
    keys: list[str]


class BatchJournal:
    """`batches.jsonl` in the run folder: `{"submitting", "at", "keys"}` before a batch is
    created, `{"batch", "keys"}` once it has an id. For each key the latest line counts.

    The whole file is rewritten atomically on each new line, so a crash leaves the old or the
    new journal, never a torn line.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lines: list[str] | None = None  # read on first use, after any --fresh wipe
        self._latest: dict[str, str | Submission] = {}  # key -> batch id or submission

    def _load(self) -> list[str]:
        if self._lines is None:
            self._lines = []
            text = self.path.read_text(encoding="utf-8") if self.path.is_file() else ""
            for number, line in enumerate(text.splitlines(), 1):
                try:
                    entry = json.loads(line)
                    keys = [str(key) for key in entry["keys"]]
                    latest: str | Submission = (
                        str(entry["batch"])
                        if "batch" in entry
                        else Submission(str(entry["submitting"]), float(entry["at"]), keys)
                    )
                except (ValueError, KeyError, TypeError) as exc:
                    raise BackendError(
                        f"{self.path}:{number}: not a batch journal line ({exc})"
                    ) from None
                self._remember(latest, keys, line)
        return self._lines

    def _remember(self, latest: str | Submission, keys: list[str], line: str) -> None:
        self._load().append(line)
        for key in keys:
            self._latest[key] = latest

    def batch_of(self, key: str) -> str | None:
        """The latest batch that holds request `key`, if any."""
        self._load()
        latest = self._latest.get(key)
        return latest if isinstance(latest, str) else None

    def submission_of(self, key: str) -> Submission | None:
        """The submission that last held `key` if no batch id was written for it after."""
        self._load()
        latest = self._latest.get(key)
        return latest if isinstance(latest, Submission) else None

    def intend(self, token: str, keys: list[str]) -> Submission:
        """Note a batch about to be created, before the provider is asked."""
        submission = Submission(token, round(time.time(), 3), keys)
        entry = {"submitting": token, "at": submission.at, "keys": keys}
        self._write(submission, keys, entry)
        return submission

    def record(self, batch_id: str, keys: list[str]) -> None:
        self._write(batch_id, keys, {"batch": batch_id, "keys": keys})

    def _write(self, latest: str | Submission, keys: list[str], entry: dict[str, object]) -> None:
        line = json.dumps(entry, separators=(",", ":"))
        with atomic_open(self.path) as handle:
            handle.write("".join(f"{old}\n" for old in [*self._load(), line]))
        self._remember(latest, keys, line)
