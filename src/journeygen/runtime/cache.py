"""A request cache (sqlite) around any backend, so a rerun replays answers and pays nothing twice.

Each sample is stored under (hash of the canonical request without `n`, sample index): the
request's messages, its sampling options (seed included, which the search derives from the
problem, the node and the depth) and the backend's identity. A request whose `n` samples
are all stored is answered from disk with the very same `Completion`s (text, reasoning,
finish reason, usage), so a tree rebuilt from the cache is byte-identical to the first one.
A request for more samples than stored asks the backend again and keeps the stored ones first.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from journeygen.backends.base import Backend, ChatMessage, Completion, SamplingOptions
from journeygen.models import Usage

__all__ = [
    "CHECKPOINT_EVERY",
    "CachedBackend",
    "CachedRequest",
    "look_up",
    "look_up_many",
    "request_key",
]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS samples (
    key TEXT NOT NULL,
    idx INTEGER NOT NULL,
    completion TEXT NOT NULL,
    PRIMARY KEY (key, idx)
);
CREATE TABLE IF NOT EXISTS requests (
    key TEXT PRIMARY KEY,
    request TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS payments (
    key TEXT NOT NULL,
    calls INTEGER NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL
);
"""

CHECKPOINT_EVERY = 200
"""Answers between two checkpoints of the write-ahead log: at 3-5 pages an answer, about
SQLite's own threshold of 1,000 pages."""


def _canonical(namespace: str, messages: list[ChatMessage], options: SamplingOptions) -> str:
    """What decides an answer, as one canonical JSON text (without `n`)."""
    return json.dumps(
        {
            "backend": namespace,
            "messages": messages,
            "options": options.model_dump(mode="json", exclude={"n"}),
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def _hashed(canonical: str) -> str:
    return hashlib.sha256(canonical.encode()).hexdigest()


def request_key(namespace: str, messages: list[ChatMessage], options: SamplingOptions) -> str:
    """Hash of what decides an answer, minus `n` (samples are keyed by index on their own)."""
    return _hashed(_canonical(namespace, messages, options))


def _located(key: str, completions: list[Completion]) -> list[Completion]:
    """The completions, each carrying where the cache keeps it."""
    return [c.model_copy(update={"request": f"{key}/{i}"}) for i, c in enumerate(completions)]


def _checkpoint(path: Path) -> None:
    """Copy the write-ahead log into the database, from a connection of this thread's own.
    PASSIVE never waits for the writer, and the writer never waits for it."""
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA wal_checkpoint(PASSIVE)")
    finally:
        db.close()


class CachedBackend:
    """Answers from `path` when it can, else asks `inner` and stores every sample it returns.

    `namespace` names the model (e.g. "openai:gpt-4o-mini") so another model's answers are
    never replayed. Only successful answers are stored; each is committed at once, so a
    killed process loses at most the requests in flight.
    """

    def __init__(self, inner: Backend, path: Path, *, namespace: str) -> None:
        self.inner = inner
        self.name = inner.name
        self.namespace = namespace
        self.hits = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        # The default isolation level opens a transaction before an INSERT, so `with self._db`
        # commits the answer and what it cost together: one commit, one WAL append per answer.
        self._db = sqlite3.connect(path)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # WAL: durable across process crashes
        # SQLite's automatic checkpoint runs inside a commit, with an fsync: on the event loop
        # that stalls every request slot for 10-25 ms, several times a minute. `_committed`
        # runs checkpoints on a worker thread instead.
        self._db.execute("PRAGMA wal_autocheckpoint=0")
        self._db.executescript(_SCHEMA)
        self._path = path
        self._since_checkpoint = 0
        self._checkpoint: asyncio.Future[None] | None = None

    async def complete(
        self, messages: list[ChatMessage], options: SamplingOptions
    ) -> list[Completion]:
        canonical = _canonical(self.namespace, messages, options)
        key = _hashed(canonical)
        rows = self._db.execute(
            "SELECT completion FROM samples WHERE key = ? AND idx < ? ORDER BY idx",
            (key, options.n),
        ).fetchall()
        stored = [Completion.model_validate_json(row[0]) for row in rows]
        if len(stored) == options.n:
            self.hits += 1
            return _located(key, stored)
        completions = await self.inner.complete(messages, options)
        usage = sum((completion.usage for completion in completions), Usage())
        with self._db:  # one transaction: the answer and what it cost
            self._db.execute(
                "INSERT INTO payments VALUES (?, ?, ?, ?)",
                (key, usage.calls, usage.prompt_tokens, usage.completion_tokens),
            )
            self._db.execute(
                "INSERT OR IGNORE INTO requests VALUES (?, ?)",
                (key, canonical),
            )
            self._db.executemany(
                "INSERT OR IGNORE INTO samples VALUES (?, ?, ?)",
                [
                    (key, i, c.model_dump_json(exclude={"request"}))
                    for i, c in enumerate(completions)
                ],
            )
        self._committed()
        # Samples stored before stay as they were (trees built on them must not change).
        return _located(key, stored + completions[len(stored) :])

    def _committed(self) -> None:
        """Every `CHECKPOINT_EVERY` answers, checkpoint on a worker thread (one at a time).
        A checkpoint that failed (a full disk, say) is raised with the next answer, which is
        stored already: the run stops as on a failed tree write, instead of the log growing
        unseen."""
        if self._checkpoint is not None and self._checkpoint.done():
            failed, self._checkpoint = self._checkpoint.exception(), None
            if failed is not None:
                raise failed
        self._since_checkpoint += 1
        if self._since_checkpoint >= CHECKPOINT_EVERY and self._checkpoint is None:
            self._since_checkpoint = 0
            self._checkpoint = asyncio.ensure_future(asyncio.to_thread(_checkpoint, self._path))

    def stored(self) -> int:
        """How many answers the cache holds (what a rerun replays for free)."""
        (count,) = self._db.execute("SELECT COUNT(*) FROM samples").fetchone()
        return int(count)

    def paid(self) -> Usage:
        """Calls and tokens of every answer ever stored: what the run has paid for so far."""
        calls, prompt, completion = self._db.execute(
            "SELECT COALESCE(SUM(calls), 0), COALESCE(SUM(prompt_tokens), 0), "
            "COALESCE(SUM(completion_tokens), 0) FROM payments"
        ).fetchone()
        return Usage(calls=calls, prompt_tokens=prompt, completion_tokens=completion)

    def close(self) -> None:
        """Close the database (the inner backend stays open: its owner closes it). The last
        connection to close checkpoints the rest of the log, a running checkpoint's included."""
        self._db.close()

    async def aclose(self) -> None:
        self.close()
        await self.inner.aclose()


@dataclass(frozen=True)
class CachedRequest:
    """One request as it was sent (backend, messages, sampling options) and the answer kept
    for one of its samples: what a user audits behind a step's label."""

    backend: str
    messages: list[dict[str, Any]]
    options: dict[str, Any]
    completion: Completion | None


def look_up(path: Path, reference: str) -> CachedRequest | None:
    """The request and answer a `Completion.request` reference (`KEY/INDEX`) points at in the
    cache at `path`, read without locking the run; None when the cache does not hold it."""
    return look_up_many(path, [reference]).get(reference)


def look_up_many(path: Path, references: Iterable[str]) -> dict[str, CachedRequest]:
    """`look_up` for many references over one read-only connection (a report of a run asks
    for thousands); each request is parsed once for all its samples, and the references the
    cache does not hold are left out."""
    wanted = [ref for ref in dict.fromkeys(references) if ref.partition("/")[2].isdigit()]
    if not path.is_file() or not wanted:
        return {}
    found: dict[str, CachedRequest] = {}
    sent: dict[str, dict[str, Any] | None] = {}
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        for reference in wanted:
            key, _, index = reference.partition("/")
            if key not in sent:
                row = db.execute("SELECT request FROM requests WHERE key = ?", (key,)).fetchone()
                sent[key] = json.loads(row[0]) if row else None
            request = sent[key]
            if request is None:
                continue
            sample = db.execute(
                "SELECT completion FROM samples WHERE key = ? AND idx = ?", (key, int(index))
            ).fetchone()
            completion = Completion.model_validate_json(sample[0]) if sample else None
            found[reference] = CachedRequest(
                request["backend"], request["messages"], request["options"], completion
            )
    except sqlite3.OperationalError:  # a cache written before requests were kept
        return {}
    finally:
        db.close()
    return found
