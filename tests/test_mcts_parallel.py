"""MCTS with `parallel_simulations`: a round's simulations are asked together, and the tree is
the same whatever order the answers arrive in and however many requests may be in flight."""

from __future__ import annotations

import asyncio
import hashlib
import json

from stub_server import answer_text

from journeygen.backends.base import ChatMessage, Completion, SamplingOptions
from journeygen.config import RunConfig, SearchConfig
from journeygen.judges.answer import AnswerJudge
from journeygen.models import Problem, Tree, Usage
from journeygen.prompts import load_prompts
from journeygen.runtime.limits import Gate, LimitedBackend
from journeygen.search.tree import search

PROBLEM = Problem(id="apples", question="Tom has 3 apples and buys 5 more. How many?", answer="8")


class HashBackend:
    """Answers are a function of the request; each waits a time taken from its hash, in
    `order` 1 or -1, so the answers of one round come back in a different order."""

    name = "fake"

    def __init__(self, order: int) -> None:
        self.order = order
        self.in_flight = 0
        self.peak = 0
        self.requests = 0
        self.waves = 0  # times a request left while none was in flight: round trips

    async def complete(
        self, messages: list[ChatMessage], options: SamplingOptions
    ) -> list[Completion]:
        plain = [dict(m) for m in messages]
        key = hashlib.sha256(json.dumps([plain, options.seed]).encode()).digest()[0]
        self.requests += 1
        self.waves += self.in_flight == 0
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        await asyncio.sleep((key if self.order > 0 else 255 - key) / 25_000)
        self.in_flight -= 1
        return [
            Completion(
                text=answer_text(plain, options.seed, i),
                finish_reason="stop",
                usage=Usage(calls=int(i == 0), prompt_tokens=5, completion_tokens=5),
            )
            for i in range(options.n)
        ]

    async def aclose(self) -> None:
        pass


def config(parallel: int) -> RunConfig:
    search_settings = {"strategy": "mcts", "width": 3, "depth": 4, "simulations": 32}
    return RunConfig(
        search=SearchConfig.model_validate(
            {**search_settings, "parallel_simulations": parallel, "reference_path": "never"}
        )
    )


async def grow(backend: object, parallel: int) -> Tree:
    return await search(PROBLEM, backend, [AnswerJudge()], config(parallel), load_prompts())  # type: ignore[arg-type]


async def test_a_round_is_asked_together_and_the_tree_is_the_same_in_any_order() -> None:
    forward, backward = HashBackend(1), HashBackend(-1)
    one_at_a_time = HashBackend(1)
    trees = [
        await grow(forward, 4),
        await grow(backward, 4),
        await grow(LimitedBackend(one_at_a_time, concurrency=1, gate=Gate()), 4),
    ]
    first = trees[0].model_dump_json()
    assert all(tree.model_dump_json() == first for tree in trees[1:])
    assert trees[0].stats.counters["simulations"] == 32
    assert forward.peak > 1 and one_at_a_time.peak == 1
    assert forward.requests == backward.requests == one_at_a_time.requests


async def test_parallel_rounds_take_fewer_round_trips() -> None:
    alone, together = HashBackend(1), HashBackend(1)
    sequential = await grow(alone, 1)
    parallel = await grow(together, 4)
    assert alone.peak == 1 and alone.waves == alone.requests
    assert together.peak == 3 and together.waves < together.requests
    assert sequential.stats.counters["simulations"] == parallel.stats.counters["simulations"]


async def test_a_round_holds_only_as_many_simulations_as_the_token_budget_has_room_for() -> None:
    # a simulation asks at most an expansion (3 samples) and a rollout: 4 samples of 10 tokens
    most_a_simulation = 4 * 10
    for budget in (60, 100, 150):  # the whole tree takes 200
        settings = {"strategy": "mcts", "width": 3, "depth": 4, "simulations": 32}
        search_config = SearchConfig.model_validate(
            {**settings, "parallel_simulations": 4, "reference_path": "never", "max_tokens": budget}
        )
        backend = HashBackend(1)
        tree = await search(
            PROBLEM, backend, [AnswerJudge()], RunConfig(search=search_config), load_prompts()
        )
        assert tree.stats.stop_reason == f"token budget reached ({budget} tokens)"
        assert tree.stats.usage.total_tokens - budget < most_a_simulation
