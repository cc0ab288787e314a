"""Provider batch mode: a backend wrapper that sends the requests of all trees as one batch.

Tree search asks for one step at a time, so `BatchingBackend` holds each `complete` call
until every tree in flight is waiting on one (or no new request came for `window` seconds),
submits all the waiting requests as one provider batch (OpenAI Batch API, Anthropic Message
Batches: half price), polls it and answers each caller: one batch per round. Each batch id
and the request keys in it go to a journal (`trees/<run>/batches.jsonl`) before anyone waits
on it, so a restarted process finds its requests in the batch already paid for and waits on
that batch instead of submitting them again. The keys and a submission token go to the
journal before the batch is created, too: a process that dies after the provider accepted a
batch but before its id was written finds the batch by that token on restart (OpenAI keeps
it in the batch's metadata; Anthropic's Message Batches take none, so there such a batch is
sent again; see `journal`). A request the provider did not answer because the batch
expired, or that failed on the provider's side (5xx, overloaded), goes into the next batch,
up to `max_attempts` times; any other per-request error fails that request with its reason
(`BackendError`, so its tree ends `failed`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from pathlib import Path

from journeygen.backends.base import BackendError, ChatMessage, Completion, SamplingOptions
from journeygen.backends.batch.journal import BatchJournal, Submission
from journeygen.backends.batch.provider import BatchItem, BatchProvider, BatchResults, Outcome

__all__ = ["POLL_ERRORS", "BatchingBackend", "request_key", "tree_scope"]


POLL_ERRORS = 5
"""Failed polls in a row (after the SDK's own retries) that fail the batch's requests."""


def request_key(
    provider: str, model: str, messages: list[ChatMessage], options: SamplingOptions
) -> str:
    """A stable custom id for a request: a hash of everything that is sent (40 hex digits)."""
    canonical = json.dumps(
        [provider, model, messages, options.model_dump(mode="json")],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:40]


def tree_scope(backend: object) -> AbstractAsyncContextManager[None]:
    """`backend.tree()` for a `BatchingBackend`, else a scope that does nothing."""
    return backend.tree() if isinstance(backend, BatchingBackend) else nullcontext()


class BatchingBackend:
    """Collects `complete` calls into provider batches; see the module docstring.

    Wrap each tree's search in `async with backend.tree():` (`tree_scope`) so a batch goes
    out as soon as every tree waits; a batch also goes out once no request came for `window`
    seconds (trees held back elsewhere, e.g. by a concurrency limit, never make it wait long).
    """

    def __init__(
        self,
        provider: BatchProvider,
        journal: Path,
        *,
        window: float = 5.0,
        poll_interval: float = 30.0,
        max_attempts: int = 3,
    ) -> None:
        self.provider = provider
        self.name = provider.name
        self.journal = BatchJournal(journal)
        self.window = window
        self.poll_interval = poll_interval
        self.max_attempts = max_attempts
        self.batches_submitted = 0
        self._active = 0
        self._waiting = 0
        self._pending: dict[str, tuple[BatchItem, asyncio.Future[str]]] = {}
        self._timer: asyncio.Task[None] | None = None
        self._results: dict[str, asyncio.Task[BatchResults]] = {}
        self._finds: dict[str, asyncio.Task[str | None]] = {}
        self._readers: dict[str, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._check_scheduled = False
        self._last_request = 0.0

    def __repr__(self) -> str:
        return f"BatchingBackend({self.provider!r}, journal={str(self.journal.path)!r})"

    @asynccontextmanager
    async def tree(self) -> AsyncIterator[None]:
        """Count a tree as in flight while the block runs."""
        self._active += 1
        try:
            yield
        finally:
            self._active -= 1
            self._maybe_flush()

    async def complete(
        self, messages: list[ChatMessage], options: SamplingOptions
    ) -> list[Completion]:
        key = request_key(self.provider.name, self.provider.model, messages, options)
        self._waiting += 1
        try:
            # paid for by an earlier process: wait on that batch
            batch_id = self.journal.batch_of(key) or await self._found(key)
            for attempt in range(1, self.max_attempts + 1):
                if batch_id is None:
                    batch_id = await self._enqueue(BatchItem(key, messages, options))
                outcome = await self._outcome(batch_id, key)
                if outcome.completions is not None and len(outcome.completions) == options.n:
                    return outcome.completions
                if outcome.completions is not None:
                    outcome = Outcome(error="fewer samples than asked for", retry=True)
                if not outcome.retry or attempt == self.max_attempts:
                    raise BackendError(
                        f"{self.name} batch {batch_id}: request {key[:12]} failed"
                        f"{f' after {attempt} batches' if attempt > 1 else ''}: {outcome.error}"
                    )
                batch_id = None
            raise AssertionError("unreachable")  # the loop returns or raises
        finally:
            self._waiting -= 1

    async def _found(self, key: str) -> str | None:
        """The batch an earlier process created for `key` but did not live to journal (one
        look-up per submission); None if it never reached the provider."""
        submission = self.journal.submission_of(key)
        if submission is None:
            return None
        if submission.token not in self._finds:
            self._finds[submission.token] = asyncio.create_task(self._find(submission))
        return await asyncio.shield(self._finds[submission.token])

    async def _find(self, submission: Submission) -> str | None:
        batch_id = await self.provider.find(submission.token, submission.at)
        if batch_id is not None:
            self.journal.record(batch_id, submission.keys)
        return batch_id

    async def aclose(self) -> None:
        for task in [*self._tasks, *self._results.values(), *self._finds.values()]:
            task.cancel()
        if self._timer is not None:
            self._timer.cancel()
        await self.provider.aclose()

    async def _enqueue(self, item: BatchItem) -> str:
        if item.key in self._pending:  # the same request twice in a round: asked once
            future = self._pending[item.key][1]
        else:
            future = asyncio.get_running_loop().create_future()
            self._pending[item.key] = (item, future)
            self._last_request = asyncio.get_running_loop().time()
            if self._timer is None:
                self._timer = asyncio.create_task(self._flush_after_window())
        self._maybe_flush()
        return await asyncio.shield(future)

    def _maybe_flush(self) -> None:
        # Decide on the next loop turn, after the tasks already scheduled (trees just started,
        # callers just answered) have run up to their next request.
        if not self._check_scheduled:
            self._check_scheduled = True
            asyncio.get_running_loop().call_soon(self._check)

    def _check(self) -> None:
        self._check_scheduled = False
        if self._pending and self._active and self._waiting >= self._active:
            self._flush()

    async def _flush_after_window(self) -> None:
        """Flush once no request has come for `window` seconds (or after 20 windows in all)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20 * self.window
        while (quiet := loop.time() - self._last_request) < self.window and loop.time() < deadline:
            await asyncio.sleep(min(self.window - quiet, deadline - loop.time()))
        self._timer = None
        self._flush()

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        task = asyncio.create_task(self._submit(pending))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _submit(self, pending: dict[str, tuple[BatchItem, asyncio.Future[str]]]) -> None:
        try:
            token = uuid.uuid4().hex
            self.journal.intend(token, list(pending))
            batch_id = await self.provider.submit([item for item, _ in pending.values()], token)
            self.journal.record(batch_id, list(pending))
        except asyncio.CancelledError:
            for _, future in pending.values():
                future.cancel()
            raise
        except Exception as exc:  # each caller gets the reason (the provider's BackendError)
            for _, future in pending.values():
                if not future.done():
                    future.set_exception(exc)
            return
        self.batches_submitted += 1
        for _, future in pending.values():
            if not future.done():
                future.set_result(batch_id)

    async def _outcome(self, batch_id: str, key: str) -> Outcome:
        """Wait for `batch_id` to end (one poller per batch) and take `key`'s outcome."""
        if batch_id not in self._results:
            self._results[batch_id] = asyncio.create_task(self._wait(batch_id))
        self._readers[batch_id] = self._readers.get(batch_id, 0) + 1
        try:
            results = await asyncio.shield(self._results[batch_id])
        finally:
            self._readers[batch_id] -= 1
            if not self._readers[batch_id]:  # nobody else waits: free the results
                del self._readers[batch_id]
                if self._results[batch_id].done():
                    del self._results[batch_id]
        return results.outcomes.get(key, results.missing)

    async def _wait(self, batch_id: str) -> BatchResults:
        """Poll until the batch ends; a batch runs for hours, so ride out a few poll errors."""
        errors = 0
        while True:
            try:
                results = await self.provider.poll(batch_id)
                errors = 0
            except BackendError:
                errors += 1
                if errors >= POLL_ERRORS:
                    raise
                results = None
            if results is not None:
                return results
            await asyncio.sleep(self.poll_interval)
