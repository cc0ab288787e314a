"""Request slots go to the tree with the fewest answers first, so a run's open trees advance
together; a request cancelled while it waits never keeps or loses a slot."""

from __future__ import annotations

import asyncio

from journeygen.backends.base import ChatMessage, Completion, SamplingOptions
from journeygen.models import Usage
from journeygen.runtime import CURRENT_PROBLEM
from journeygen.runtime.limits import Gate, LimitedBackend, Slots


async def test_a_freed_slot_goes_to_the_smallest_priority_then_first_come() -> None:
    slots = Slots(1)
    await slots.acquire(0)
    order: list[str] = []

    async def wait(name: str, priority: int) -> None:
        await slots.acquire(priority)
        order.append(name)
        slots.release()

    waiting = [asyncio.create_task(wait(n, p)) for n, p in (("a", 5), ("b", 1), ("c", 1))]
    await asyncio.sleep(0)
    slots.release()
    await asyncio.gather(*waiting)
    assert order == ["b", "c", "a"] and slots.free == 1


async def test_a_cancelled_waiter_neither_keeps_nor_loses_a_slot() -> None:
    slots = Slots(1)
    await slots.acquire(0)
    gone = asyncio.create_task(slots.acquire(0))
    await asyncio.sleep(0)
    gone.cancel()  # cancelled while it waits
    await asyncio.gather(gone, return_exceptions=True)
    slots.release()
    assert slots.free == 1

    await slots.acquire(0)
    handed = asyncio.create_task(slots.acquire(0))
    await asyncio.sleep(0)
    slots.release()  # the slot is handed to it ...
    handed.cancel()  # ... and it is cancelled before it runs: it passes the slot on
    await asyncio.gather(handed, return_exceptions=True)
    assert slots.free == 1


class _Recorder:
    """Answers at once and notes which problem each request came from, in order."""

    name = "fake"

    def __init__(self) -> None:
        self.order: list[str | None] = []
        self.go = asyncio.Event()

    async def complete(
        self, messages: list[ChatMessage], options: SamplingOptions
    ) -> list[Completion]:
        self.order.append(CURRENT_PROBLEM.get())
        await self.go.wait()
        return [Completion(text="x", finish_reason="stop", usage=Usage(calls=1))]

    async def aclose(self) -> None:
        pass


async def test_the_tree_with_fewer_answers_asks_first() -> None:
    inner = _Recorder()
    limited = LimitedBackend(inner, concurrency=1, gate=Gate())
    messages: list[ChatMessage] = [{"role": "user", "content": "hi"}]

    async def ask(problem: str) -> None:  # a task of its own: its own context
        CURRENT_PROBLEM.set(problem)
        await limited.complete(messages, SamplingOptions())

    inner.go.set()
    await asyncio.gather(asyncio.create_task(ask("old")))
    await asyncio.gather(asyncio.create_task(ask("old")))  # "old" has 2 answers, "new" none
    inner.order.clear()
    inner.go.clear()
    blocker = asyncio.create_task(ask("old"))  # takes the one slot and holds it
    await asyncio.sleep(0.01)
    queued = [asyncio.create_task(ask(p)) for p in ("old", "new", "old", "new")]
    await asyncio.sleep(0.01)  # all four wait for the slot
    inner.go.set()
    await asyncio.gather(blocker, *queued)
    assert inner.order == ["old", "new", "new", "old", "old"]
    assert limited.answered == 7 and limited.answered_by == {"old": 5, "new": 2}
