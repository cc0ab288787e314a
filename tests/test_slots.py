"""Request slots go to the tree with the fewest answers first, so a run's open trees advance
together; a request cancelled while it waits never keeps or loses a slot; the last problems
of a run are opened at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from journeygen.backends.base import ChatMessage, Completion, SamplingOptions
from journeygen.config import BackendConfig, RunConfig, SearchConfig
from journeygen.executors.local import generate
from journeygen.models import Usage
from journeygen.prompts import load_prompts
from journeygen.runtime import CURRENT_PROBLEM, RuntimeOptions
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


class _Timed(_Recorder):
    """Answers after a short wait, noting how many trees are open when a tree first asks."""

    def __init__(self) -> None:
        super().__init__()
        self.go.set()
        self.started: set[str | None] = set()
        self.finished: set[str] = set()
        self.open_at_start: dict[str, int] = {}

    async def complete(
        self, messages: list[ChatMessage], options: SamplingOptions
    ) -> list[Completion]:
        problem = CURRENT_PROBLEM.get()
        if problem is not None and problem not in self.started:
            self.started.add(problem)
            self.open_at_start[problem] = len(self.started) - len(self.finished)
        await asyncio.sleep(0.01)
        return [
            Completion(text="The answer is 8.", finish_reason="stop", usage=Usage(calls=1))
            for _ in range(options.n)
        ]


async def test_the_last_problems_open_at_once_beside_the_trees_in_flight(tmp_path: Path) -> None:
    problems = tmp_path / "p.jsonl"
    problems.write_text(
        "".join(f'{{"id": "p{i}", "question": "What is {i} + 8 - {i}?", "answer": "8"}}\n'
        for i in range(12))
    )  # fmt: skip
    backend = _Timed()
    await generate(
        problems,
        run="r",
        config=RunConfig(
            backend=BackendConfig(name="openai", model="m"), search=SearchConfig(depth=2)
        ),
        backend=backend,
        prompts=load_prompts(),
        trees_dir=tmp_path / "trees",
        out_dir=tmp_path / "out",
        runtime=RuntimeOptions(concurrency=2),
        on_tree=lambda tree, reused: backend.finished.add(tree.problem.id),
    )
    # 2 slots: one tree a slot while more than 4 problems are left, then all of them at once
    early = [backend.open_at_start[f"p{i}"] for i in range(7)]
    late = [backend.open_at_start[f"p{i}"] for i in range(8, 12)]
    assert max(early) <= 2 and max(late) > 2
    assert max(backend.open_at_start.values()) <= 2 * 3
