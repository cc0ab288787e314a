"""Requests in flight, requests and tokens per minute, and a gate that stops a run cleanly.

Retries of transport errors, 429 (with `Retry-After`) and 5xx are the SDKs' own; these
limits only keep a run from sending faster than the user allows.
"""

from __future__ import annotations

import asyncio
import heapq
import sys
import time
from collections import Counter
from collections.abc import Awaitable
from typing import Any, TypeVar

from journeygen.backends.base import (
    Backend,
    ChatMessage,
    Completion,
    RunStopped,
    SamplingOptions,
)
from journeygen.runtime.failures import CURRENT_PROBLEM

__all__ = ["Gate", "LimitedBackend", "Slots", "TokenBucket", "estimate_tokens"]

T = TypeVar("T")


class TokenBucket:
    """`per_minute` units a minute, refilled continuously, with a burst of `burst_s` seconds'
    worth (so a run does not spend a minute's quota in its first second).

    `take` waits until the amount is there; `give` returns units (an estimate was too high)
    or, with a negative amount, takes more after the fact (it was too low).
    """

    def __init__(self, per_minute: float, *, burst_s: float = 10.0) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(self.rate * burst_s, 1.0)
        self.level = self.capacity
        self._stamp = time.monotonic()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        self.level = min(self.capacity, self.level + (now - self._stamp) * self.rate)
        self._stamp = now

    async def take(self, amount: float) -> float:
        """Wait for `amount` (at most the burst: a bigger request still goes); return what
        was taken."""
        amount = min(amount, self.capacity)
        async with self._lock:  # first come, first served
            self._refill()
            while self.level < amount:
                await asyncio.sleep((amount - self.level) / self.rate)
                self._refill()
            self.level -= amount
        return amount

    def give(self, amount: float) -> None:
        self._refill()
        self.level = min(self.capacity, self.level + amount)


def estimate_tokens(messages: list[ChatMessage], options: SamplingOptions) -> int:
    """Tokens a request may use before it is sent: prompt (4 characters a token) and the
    most it may write."""
    prompt = sum(len(message["content"]) for message in messages) // 4 + 1
    return prompt + options.max_tokens * options.n


class Gate:
    """Once stopped, every new request raises `RunStopped`; with `abort`, requests in flight
    are cancelled too (Ctrl-C), else they finish and their answers are kept (a budget)."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self.aborted = False
        self._waiting: set[asyncio.Task[Any]] = set()

    def stop(self, reason: str, *, abort: bool = False) -> None:
        if self.reason is None:
            self.reason = reason
        if abort and not self.aborted:
            self.aborted = True
            for task in self._waiting:
                task.cancel()

    def check(self) -> None:
        if self.reason is not None:
            raise RunStopped(self.reason)

    async def run(self, work: Awaitable[T]) -> T:
        """Await `work`, or raise `RunStopped` if the gate aborts first.

        `work` runs in the calling task, which an abort cancels: no extra task and no
        `asyncio.wait` per request, whose hops through a busy loop's ready queue would each
        keep a request slot idle while the other callbacks of that round run.
        """
        task = asyncio.current_task()
        assert task is not None, "Gate.run needs a running task"
        self._waiting.add(task)
        try:
            return await work
        except asyncio.CancelledError:
            if not self.aborted:
                raise
            if sys.version_info >= (3, 11):
                task.uncancel()  # the gate's cancel, turned into RunStopped: consumed here
            raise RunStopped(self.reason or "stopped") from None
        finally:
            self._waiting.discard(task)


class Slots:
    """`concurrency` request slots; a freed slot goes to the waiting request whose tree has had
    the fewest answers so far (ties: first come). At a run's end that is the tree with the most
    left to ask, so the last trees finish together instead of one by one; in the middle it
    only reorders requests that wait anyway (answers are added to a tree in a fixed order)."""

    def __init__(self, concurrency: int) -> None:
        self.free = concurrency
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._arrivals = 0

    async def acquire(self, priority: int) -> None:
        """Take a slot; smaller `priority` first among the waiting."""
        if self.free > 0 and not self._waiting:
            self.free -= 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._arrivals += 1
        heapq.heappush(self._waiting, (priority, self._arrivals, future))
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # handed a slot as it was cancelled: pass it on
            raise

    def release(self) -> None:
        """Hand the slot to the first waiting request still waiting, else free it."""
        while self._waiting:
            _, _, future = heapq.heappop(self._waiting)
            if not future.done():
                future.set_result(None)
                return
        self.free += 1


class LimitedBackend:
    """At most `concurrency` requests in flight, optionally under `rpm` and `tpm`, behind `gate`.

    `answered` counts the requests that reached the backend and came back (answer or error),
    and `answered_by` the same per problem (`CURRENT_PROBLEM`): what a progress display
    estimates the requests still to come from (it pops a problem's count when it is done).
    """

    def __init__(
        self,
        inner: Backend,
        *,
        concurrency: int,
        gate: Gate,
        rpm: float | None = None,
        tpm: float | None = None,
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.gate = gate
        self.in_flight = 0
        self.answered = 0
        self.answered_by: Counter[str | None] = Counter()
        self._slots = Slots(concurrency)
        self._requests = TokenBucket(rpm) if rpm else None
        self._tokens = TokenBucket(tpm) if tpm else None

    async def complete(
        self, messages: list[ChatMessage], options: SamplingOptions
    ) -> list[Completion]:
        self.gate.check()
        problem = CURRENT_PROBLEM.get()
        await self._slots.acquire(self.answered_by.get(problem, 0))  # least answered first
        try:
            self.gate.check()
            taken = 0.0
            if self._requests is not None:
                await self._requests.take(1)
            if self._tokens is not None:
                taken = await self._tokens.take(estimate_tokens(messages, options))
            self.gate.check()
            self.in_flight += 1
            try:
                completions = await self.gate.run(self.inner.complete(messages, options))
            finally:
                self.in_flight -= 1
                self.answered += 1
                self.answered_by[problem] += 1
        finally:
            self._slots.release()
        if self._tokens is not None:
            used = sum(c.usage.total_tokens for c in completions)
            self._tokens.give(taken - used)  # the estimate was high: give back; low: owe
        return completions

    async def aclose(self) -> None:
        await self.inner.aclose()
