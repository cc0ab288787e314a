"""The driver side of a Ray run: workers the driver starts and manages (Ray actors, each
with the run's model loaded once), problems handed out one tree at a time to the least busy
worker, and every request of every worker answered through the run's one runtime stack in
the driver's process.

Each worker's searches put their requests in its outbox; a pump per worker takes them (a
batch per round trip), runs each through the stack — a stored answer comes back from the
request cache at once, a missing one is asked of that worker's model (`Dispatch`, the
stack's innermost backend) under the run's rate limits, then metered, budgeted and cached
before it goes back. So the cache, budgets, limits, stop gate and failure log are the very
objects of a single-process run, and its trees come out the same bytes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import ray
from ray.exceptions import RayActorError

from journeygen.backends.base import (
    BackendError,
    ChatMessage,
    Completion,
    RunStopped,
    SamplingOptions,
)
from journeygen.config import RunConfig
from journeygen.executors.ray.wire import (
    Layer,
    Payload,
    Request,
    decode_answer,
    encode_completions,
    encode_error,
)
from journeygen.executors.ray.worker import TreeWorker, WorkerSpec
from journeygen.executors.searching import SearchTree
from journeygen.models import Problem, Tree
from journeygen.prompts import PromptSet
from journeygen.runtime import CURRENT_PROBLEM, Stack
from journeygen.store import ExecutorInfo

__all__ = ["Dispatch", "RayCluster", "connect"]

PUMP_WAIT_S = 1.0  # a take with nothing to take returns after this long (so a stop is seen)
TRIES = 3  # attempts of a tree or a model call when its worker is lost
RESTARTS = 2  # times Ray restarts a lost worker (its model loaded again) before giving up


def connect(address: str | None = None) -> bool:
    """Join the Ray cluster the way Ray users expect: `address`, else `RAY_ADDRESS`, else a
    cluster started on this machine (`ray start`), else a new local one. True when this call
    joined (so leaving is ours); False when the process was already connected."""
    if ray.is_initialized():
        return False
    ray.init(address=address, logging_level=logging.WARNING, include_dashboard=False)
    return True


@dataclass(eq=False)
class _Slot:
    """One worker as the driver sees it during a run."""

    index: int
    handle: Any  # ray.actor.ActorHandle of a TreeWorker
    calls: asyncio.Semaphore  # its model's requests in flight (the per-worker concurrency)
    token: str  # the incarnation now running (a restart gets a new one)
    calling: int = 0
    trees: int = 0
    received: int = 0  # the last batch of requests taken from its outbox
    answers: list[tuple[str, Payload]] = field(default_factory=list)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    dead: bool = False


_ROUTE: ContextVar[_Slot | None] = ContextVar("journeygen_ray_route", default=None)
"""The worker whose model answers a request: the one whose search asked it, or for the
driver's own requests (LLM texts) the worker that built the tree."""
_ASKER: ContextVar[str | None] = ContextVar("journeygen_ray_asker", default=None)
"""The incarnation of the worker whose search asked the request being served (None for the
driver's own requests): once it is lost, its requests are not asked of any model, since the
tree is built again and asks them itself (asking both would pay one answer twice)."""


class _Session:
    """The workers of one run, serving their searches' requests through `stack`."""

    def __init__(
        self, cluster: RayCluster, concurrency: int, stack: Stack, config: RunConfig
    ) -> None:
        self.slots = [
            _Slot(i, handle, asyncio.Semaphore(concurrency), worker["token"])
            for i, (handle, worker) in enumerate(zip(cluster.handles, cluster.workers, strict=True))
        ]
        # one request at a time (the embedded model): one tree a worker, so each worker's
        # model gets its requests in a fixed order, as one process with one slot does
        self.room = asyncio.Semaphore(len(self.slots)) if concurrency == 1 else None
        self.stack = stack
        self.config = config
        self.tasks: set[asyncio.Task[None]] = set()
        self.errors: list[BaseException] = []

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            self.errors.append(error)  # a bug: stop every worker, report it
            self.stack.gate.stop("stopped by an error", abort=True)

    def start(self) -> None:
        for slot in self.slots:
            self.spawn(self._pump(slot))
            self.spawn(self._hand_back(slot))

    async def stop(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.errors:
            raise self.errors[0]

    async def _pump(self, slot: _Slot) -> None:
        """Take the requests the worker's searches wait on and serve each as its own task."""
        while not slot.dead:
            try:
                slot.received, batch = await slot.handle.take.remote(PUMP_WAIT_S, slot.received)
            except RayActorError:
                await asyncio.sleep(PUMP_WAIT_S)  # restarting, or gone: the searches know
                continue
            for payload in batch:
                self.spawn(self._serve(slot, Request.decode(payload)))

    async def _serve(self, slot: _Slot, request: Request) -> None:
        _ROUTE.set(slot)
        _ASKER.set(request.ticket.partition(":")[0])
        CURRENT_PROBLEM.set(request.problem)  # the failure log names the tree
        stack = self.stack if request.layer == "policy" else self.stack.critic
        try:
            if stack is None:
                raise RuntimeError(f"no {request.layer} model in this run")
            answer = encode_completions(
                await stack.backend.complete(request.messages, request.options)
            )
        except Exception as exc:  # a stop, a failed request or a bug: raised in the search
            answer = encode_error(exc)
        slot.answers.append((request.ticket, answer))
        slot.ready.set()

    async def _hand_back(self, slot: _Slot) -> None:
        """Send the worker its answers, all that are ready in one call. A call that fails is
        sent again (the worker may have been out of reach for a moment) up to `TRIES` times;
        then the worker is gone, and so are the searches those answers were for."""
        failed = 0
        while True:
            await slot.ready.wait()
            slot.ready.clear()
            answers, slot.answers = slot.answers, []
            try:
                await slot.handle.deliver.remote(answers)
                failed = 0
            except RayActorError:
                failed += 1
                if failed < TRIES:
                    slot.answers[:0] = answers
                    slot.ready.set()
                    await asyncio.sleep(PUMP_WAIT_S)

    async def search(self, problem: Problem) -> Tree:
        """Build one tree on the least busy worker; a worker lost meanwhile (its process
        killed, its node gone) is restarted by Ray and the tree built again from the cache."""
        if self.room is None:
            return await self._search(problem)
        async with self.room:
            return await self._search(problem)

    async def _search(self, problem: Problem) -> Tree:
        error = "no ray worker left"
        for attempt in range(1, TRIES + 1):
            live = [slot for slot in self.slots if not slot.dead]
            if not live:
                break
            slot = min(live, key=lambda s: s.trees)
            _ROUTE.set(slot)  # the tree's LLM texts go to the same worker
            slot.trees += 1
            try:
                text: str = await slot.handle.search.remote(problem.model_dump_json())
                return Tree.model_validate_json(text)
            except RayActorError as exc:
                error = f"ray worker {slot.index} lost while building this tree: {exc}"
                self.stack.failures.add("tree", f"{error} (try {attempt} of {TRIES})", retried=True)
                await self._check(slot)
            finally:
                slot.trees -= 1
        return Tree(
            problem=problem,
            config=self.config,
            config_hash=self.config.tree_hash(),
            strategy=self.config.search.strategy,
            status="failed",
            error=error.splitlines()[0],
        )

    async def _check(self, slot: _Slot) -> None:
        """After a loss: wait for Ray's restart of the worker, or mark it gone for good."""
        try:
            slot.token = (await slot.handle.describe.remote())["token"]
        except RayActorError:
            slot.dead = True

    async def call(
        self, layer: Layer, messages: list[ChatMessage], options: SamplingOptions
    ) -> list[Completion]:
        """Ask a worker's model, at most `concurrency` requests per worker at once."""
        slot, asker = _ROUTE.get(), _ASKER.get()
        wire = ([dict(m) for m in messages], options.model_dump(mode="json"))
        for _ in range(TRIES):
            if asker is not None and (slot is None or slot.dead or slot.token != asker):
                raise RunStopped("the ray worker that asked was lost; its tree is built again")
            if slot is None or slot.dead:
                slot = min(self.slots, key=lambda s: (s.dead, s.calling))
            async with slot.calls:
                slot.calling += 1
                try:
                    answer: Payload | None = await slot.handle.call.remote(layer, *wire)
                except RayActorError:
                    answer = None
                finally:
                    slot.calling -= 1
            if answer is not None:
                return decode_answer(answer)
            await self._check(slot)  # lost: asked again of another worker, or the restarted one
            slot = None
        raise BackendError(f"no ray worker could answer after {TRIES} tries")


class Dispatch:
    """The innermost backend of the driver's runtime stack: a model on the workers."""

    def __init__(self, cluster: RayCluster, layer: Layer, name: str, model: str | None) -> None:
        self.cluster = cluster
        self.layer: Layer = layer
        self.name = name
        self.model = model  # what the worker's backend resolved: the cache namespace and price

    async def complete(
        self, messages: list[ChatMessage], options: SamplingOptions
    ) -> list[Completion]:
        session = self.cluster.session
        if session is None:
            raise BackendError("the ray workers are not serving (no run in progress)")
        return await session.call(self.layer, messages, options)

    async def aclose(self) -> None:
        return None


class RayCluster:
    """The run's workers on a Ray cluster; an `executors.searching.Executor`."""

    def __init__(
        self, handles: list[Any], *, address: str, concurrency: int, joined: bool = False
    ) -> None:
        self.handles = handles
        self.address = address
        self.concurrency = concurrency
        self.joined = joined  # this cluster's `start` connected the process: shutdown leaves
        self.session: _Session | None = None
        self.workers: list[dict[str, Any]] = []

    @classmethod
    def start(
        cls,
        spec: WorkerSpec,
        *,
        workers: int,
        concurrency: int,
        cpus: float = 1.0,
        gpus: float = 0.0,
        address: str | None = None,
    ) -> RayCluster:
        """Connect, start `workers` workers (each loads its model once) and wait for them."""
        joined = connect(address)
        cluster_address = str(ray.get_runtime_context().gcs_address)
        have = ray.cluster_resources()
        for resource, each in (("CPU", cpus), ("GPU", gpus)):
            if each and workers * each > have.get(resource, 0.0):
                raise ValueError(
                    f"{workers} workers x {each:g} {resource} need {workers * each:g} {resource}s; "
                    f"the cluster at {cluster_address} has {have.get(resource, 0.0):g}: "
                    f"give fewer --workers or --worker-cpus"
                )
        actor = ray.remote(TreeWorker).options(
            num_cpus=cpus,
            num_gpus=gpus,
            max_restarts=RESTARTS,
            max_task_retries=0,  # the driver redoes a lost tree itself, from the cache
            max_concurrency=max(1000, 2 * concurrency + 16),
        )
        handles = [actor.remote(spec) for _ in range(workers)]
        cluster = cls(handles, address=cluster_address, concurrency=concurrency, joined=joined)
        try:
            cluster.workers = ray.get([handle.describe.remote() for handle in handles])
        except RayActorError as exc:  # its model would not load (Ray tried RESTARTS times)
            cluster.shutdown()
            raise RuntimeError(f"a worker could not start: {exc}") from exc
        return cluster

    def backend(self, layer: Layer, name: str) -> Dispatch:
        """The backend `generate` gets for one model: its name resolved on the workers."""
        model = self.workers[0]["models"].get(layer) if self.workers else None
        return Dispatch(self, layer, name, model)

    def describe(self, concurrency: int) -> ExecutorInfo:
        return ExecutorInfo(
            name="ray",
            address=self.address,
            workers=len(self.handles),
            concurrency=self.concurrency,
        )

    @asynccontextmanager
    async def searching(
        self, stack: Stack, config: RunConfig, prompts: PromptSet
    ) -> AsyncIterator[SearchTree]:
        session = _Session(self, self.concurrency, stack, config)
        self.session = session
        session.start()
        try:
            yield session.search
        finally:
            self.session = None
            await session.stop()

    def shutdown(self) -> None:
        """Stop the workers (their models freed), and leave the cluster if `start` joined it."""
        for handle in self.handles:
            ray.kill(handle, no_restart=True)
        if self.joined:
            ray.shutdown()
