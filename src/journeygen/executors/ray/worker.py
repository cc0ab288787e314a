"""A Ray worker: it loads the run's model(s) once and searches trees with the same search and
judges as a single-process run, but every request its searches make waits in an outbox until
the driver takes it, answers it through the run's one runtime stack (request cache, meter and
budgets, rate limits, stop gate) and hands the answer back. When that stack has no stored
answer, it asks this worker's model through `call`.

Nothing here imports Ray: the driver wraps `TreeWorker` with `ray.remote`, so the class is a
plain object a test can drive on one event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import secrets
import socket
from dataclasses import dataclass
from typing import Any

from journeygen.backends.base import Backend, ChatMessage, Completion, SamplingOptions
from journeygen.backends.build import BackendSpec
from journeygen.config import RunConfig
from journeygen.executors.ray.wire import (
    Layer,
    Payload,
    Request,
    decode_answer,
    encode_completions,
    encode_error,
)
from journeygen.judges.base import make_judges
from journeygen.models import Problem
from journeygen.prompts import PromptSet
from journeygen.runtime import CURRENT_PROBLEM
from journeygen.search.tree import search
from journeygen.store import tree_json

__all__ = ["Outbox", "OutboxBackend", "TreeWorker", "WorkerSpec"]


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker needs to search the run's trees: the resolved config (as JSON),
    the prompts the driver loaded, and its model(s)."""

    config: str
    prompts: PromptSet
    policy: BackendSpec
    critic: BackendSpec | None = None


class Outbox:
    """Requests waiting for the driver. Tickets carry a token of this incarnation of the
    worker, so an answer meant for a worker that died (and was restarted) is dropped."""

    def __init__(self) -> None:
        self.token = secrets.token_hex(6)
        self._numbers = itertools.count()
        self._pending: list[Payload] = []
        self._offered: list[Payload] = []  # the last batch taken, until the driver confirms it
        self._batches = 0
        self._waiting: dict[str, asyncio.Future[list[Completion]]] = {}
        self._ready = asyncio.Event()

    async def ask(
        self, layer: Layer, messages: list[ChatMessage], options: SamplingOptions
    ) -> list[Completion]:
        ticket = f"{self.token}:{next(self._numbers)}"
        future: asyncio.Future[list[Completion]] = asyncio.get_running_loop().create_future()
        self._waiting[ticket] = future
        request = Request(ticket, layer, CURRENT_PROBLEM.get(), messages, options)
        self._pending.append(request.encode())
        self._ready.set()
        try:
            return await future
        finally:
            self._waiting.pop(ticket, None)

    async def take(self, wait_s: float, received: int) -> tuple[int, list[Payload]]:
        """Every request waiting now (if none, wait up to `wait_s` for the first), numbered
        as a batch. `received` is the last batch the driver got: a batch whose reply was lost
        on the way (the worker was unreachable for a moment) is offered again, so no search
        waits forever on a request nobody took."""
        if received == self._batches:
            self._offered = []
        if not self._pending and not self._offered:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._ready.wait(), wait_s)
        self._offered, self._pending = self._offered + self._pending, []
        self._ready.clear()
        self._batches += 1
        return self._batches, self._offered

    def deliver(self, answers: list[tuple[str, Payload]]) -> None:
        for ticket, payload in answers:
            future = self._waiting.get(ticket)
            if future is None or future.done():
                continue  # another incarnation's, or its search was cancelled
            try:
                future.set_result(decode_answer(payload))
            except Exception as exc:  # the failure, raised in the search that asked
                future.set_exception(exc)


class OutboxBackend:
    """What the search and judges on a worker see as their backend: the outbox of one model."""

    def __init__(self, outbox: Outbox, layer: Layer, name: str) -> None:
        self.outbox = outbox
        self.layer: Layer = layer
        self.name = name

    async def complete(
        self, messages: list[ChatMessage], options: SamplingOptions
    ) -> list[Completion]:
        return await self.outbox.ask(self.layer, messages, options)

    async def aclose(self) -> None:
        return None


class TreeWorker:
    """One Ray actor: the run's model(s), loaded once, and the searches of its trees."""

    def __init__(self, spec: WorkerSpec) -> None:
        self.config = RunConfig.model_validate_json(spec.config)
        self.prompts = spec.prompts
        self.models: dict[Layer, Backend] = {"policy": spec.policy.build()}
        if spec.critic is not None:
            self.models["critic"] = spec.critic.build()
        self.outbox = Outbox()
        self.policy = OutboxBackend(self.outbox, "policy", spec.policy.name)
        self.critic = (
            OutboxBackend(self.outbox, "critic", spec.critic.name) if spec.critic else None
        )
        self.judges = make_judges(self.config, self.policy, self.prompts.judge)

    async def describe(self) -> dict[str, Any]:
        """Who this worker is and the model names its backends resolved (the driver keys
        the request cache and prices with them, as a single-process run would)."""
        models = {layer: getattr(model, "model", None) for layer, model in self.models.items()}
        return {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "models": models,
            "token": self.outbox.token,  # this incarnation's: its tickets start with it
        }

    async def search(self, problem_json: str) -> str:
        """One problem's tree, as saved on disk."""
        problem = Problem.model_validate_json(problem_json)
        CURRENT_PROBLEM.set(problem.id)  # each request in the outbox names its problem
        tree = await search(
            problem, self.policy, self.judges, self.config, self.prompts, self.critic
        )
        return tree_json(tree)

    async def take(self, wait_s: float, received: int) -> tuple[int, list[Payload]]:
        return await self.outbox.take(wait_s, received)

    async def deliver(self, answers: list[tuple[str, Payload]]) -> None:
        self.outbox.deliver(answers)

    async def call(self, layer: Layer, messages: list[ChatMessage], options: Payload) -> Payload:
        """Ask this worker's model (the driver's stack had no stored answer)."""
        try:
            completions = await self.models[layer].complete(
                messages, SamplingOptions.model_validate(options)
            )
        except Exception as exc:  # sent back as its kind, raised again in the driver's stack
            return encode_error(exc)
        return encode_completions(completions)

    async def close(self) -> None:
        for model in self.models.values():
            await model.aclose()
