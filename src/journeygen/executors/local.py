"""A whole run: load problems, build many trees at once through the runtime stack (cache,
budgets, limits), save each tree as soon as it is done, then export the samples.

Problems are streamed and at most a bounded number of trees is in memory at a time, so a run
of 10,000 problems needs no more memory than one of 1,000. Ctrl-C or SIGTERM stops cleanly:
the trees in flight are saved as `partial`, the manifest is updated, nothing else is touched.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

from journeygen.backends.base import Backend
from journeygen.backends.batch import tree_scope
from journeygen.config import RunConfig
from journeygen.export import write_samples
from journeygen.judges import make_judges
from journeygen.models import Problem, Tree, Usage
from journeygen.problems import Reject, iter_problems, write_rejects
from journeygen.prompts import PromptSet
from journeygen.runtime import (
    CURRENT_PROBLEM,
    PriceTable,
    RuntimeOptions,
    Stack,
    build_stack,
    default_concurrency,
)
from journeygen.derive.samples import KINDS, SampleKind, SampleSettings, prepare_texts, samples
from journeygen.search import search
from journeygen.store import Manifest, RunStore, tree_json
from journeygen.derive.texts import TEXTS_FILE, TextCache

__all__ = ["RunSummary", "export_run", "generate"]

TreeCallback = Callable[[Tree, bool], None]
StartCallback = Callable[[int, Stack], None]
MANIFEST_EVERY_S = 1.0  # a manifest of 10k problem ids is rewritten at most once a second


@dataclass
class RunSummary:
    """What a run did, for the closing summary line and for tests. `usage` and `cost` are
    what this session paid; replays from the request cache are `cached` and cost nothing."""

    problems: int = 0
    rejects: int = 0
    trees: int = 0
    reused: int = 0
    pending: int = 0
    status: Counter[str] = field(default_factory=Counter)
    exported: dict[str, int] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)
    cost: float = 0.0
    cached: int = 0
    failures: int = 0
    stopped: str | None = None
    interrupted: bool = False
    wall_s: float = 0.0
    out_dir: Path = Path()


def export_run(
    store: RunStore,
    prompts: PromptSet,
    targets: Mapping[SampleKind, Path],
    *,
    system: str | None = None,
    settings: SampleSettings | None = None,
) -> dict[str, int]:
    """Write each kind of sample from the run's saved trees to its file; return row counts.
    LLM texts come from the run's text cache unless `settings` says otherwise."""
    settings = settings or SampleSettings(texts=TextCache(store.dir / TEXTS_FILE))
    counts: dict[str, int] = {}
    for kind, path in targets.items():
        rows = samples(store.trees(), kind, prompts, run=store.run, settings=settings)
        counts[kind] = write_samples(rows, path, system=system)
    return counts


async def generate(
    problems_path: Path,
    *,
    run: str,
    config: RunConfig,
    backend: Backend,
    prompts: PromptSet,
    trees_dir: Path,
    out_dir: Path,
    limit: int | None = None,
    runtime: RuntimeOptions | None = None,
    prices: PriceTable | None = None,
    fresh: bool = False,
    on_start: StartCallback | None = None,
    on_tree: TreeCallback | None = None,
    on_reject: Callable[[str], None] | None = None,
) -> RunSummary:
    """Build a tree for every good problem (reusing complete trees built with the same
    settings, replaying cached requests for the rest), then export journeys and shortcuts.

    `fresh` deletes the run's trees, request cache and failure log first.
    """
    started = time.monotonic()
    runtime = runtime or RuntimeOptions()
    store = RunStore(trees_dir, run)
    if fresh and store.dir.exists():
        shutil.rmtree(store.dir)
    run_out = out_dir / run

    ids: list[str] = []
    rejects: list[Reject] = []
    for item in iter_problems(problems_path, limit=limit):  # first pass: ids only
        if isinstance(item, Reject):
            rejects.append(item)
        else:
            ids.append(item.id)
    write_rejects(rejects, run_out / "rejects.jsonl")
    for reject in rejects:
        if on_reject is not None:
            on_reject(str(reject))

    manifest = Manifest(
        run=run,
        config=config.model_dump(mode="json"),
        config_hash=config.tree_hash(),
        source=str(problems_path),
        problems=ids,
    )
    store.write_manifest(manifest)
    summary = RunSummary(problems=len(ids), rejects=len(rejects), out_dir=run_out)
    model = getattr(backend, "model", None)
    stack = build_stack(
        backend,
        store.dir,
        runtime,
        backend_name=config.backend.name,
        model=model if isinstance(model, str) else config.backend.model,
        prices=prices,
    )
    if on_start is not None:
        on_start(len(ids), stack)
    try:
        with _SignalStop(stack, summary):
            await _build_trees(
                problems_path,
                limit,
                store,
                manifest,
                config,
                prompts,
                stack,
                summary,
                runtime,
                on_tree,
            )
    finally:
        _finish(summary, manifest, stack, started)
        store.write_manifest(manifest)
        stack.close()

    if not summary.interrupted:
        targets = {kind: run_out / f"{kind}.jsonl" for kind in KINDS}
        settings = SampleSettings(texts=TextCache(store.dir / TEXTS_FILE))
        saved = _SavedTrees(store, ids)  # read from disk on each pass: memory stays flat
        await prepare_texts(saved, prompts, settings, backend, run=run, seed=config.seed)
        summary.exported = export_run(
            store, prompts, targets, system=config.journey.system_prompt, settings=settings
        )
    summary.wall_s = time.monotonic() - started
    return summary


async def _build_trees(
    problems_path: Path,
    limit: int | None,
    store: RunStore,
    manifest: Manifest,
    config: RunConfig,
    prompts: PromptSet,
    stack: Stack,
    summary: RunSummary,
    runtime: RuntimeOptions,
    on_tree: TreeCallback | None,
) -> None:
    """Second pass over the problems: one worker per request slot, each building one tree
    after the other, so at most `concurrency` trees are in memory.

    No more trees than slots: with more, every answer hands its slot to a waiting tree, and
    the hand-over waits for the event loop's next round; while a round processes a burst of
    answers, the slots freed early in it sit idle (`bench/slot_handover.py`: 86% of the bound
    at 0.5 ms of work per answer, 75% at 1 ms, with 2 trees per slot). A worker that owns its
    slot sends its next request as soon as it has judged the answer.
    """
    judges = make_judges(config, stack.backend, prompts.judge)
    workers = runtime.concurrency or default_concurrency(config.backend.name)
    errors: list[Exception] = []
    last_manifest = time.monotonic()

    def record(tree: Tree, reused: bool) -> None:
        nonlocal last_manifest
        summary.trees += 1
        summary.reused += int(reused)
        summary.status[tree.status] += 1
        if on_tree is not None:
            on_tree(tree, reused)
        if time.monotonic() - last_manifest >= MANIFEST_EVERY_S:
            _finish(summary, manifest, stack, None)
            store.write_manifest(manifest)
            last_manifest = time.monotonic()

    def to_build() -> Iterator[Problem]:
        """The problems still without a complete tree of these settings (the others are
        counted as reused). Shared by the workers: it never awaits, so no two run it at once."""
        for item in iter_problems(problems_path, limit=limit):
            if isinstance(item, Reject):
                continue
            saved = store.load_tree(item.id)
            if (
                saved is not None
                and saved.status == "complete"
                and saved.config_hash == manifest.config_hash
            ):
                record(saved, reused=True)
                continue
            yield item

    async def build(problem: Problem) -> None:
        CURRENT_PROBLEM.set(problem.id)  # this worker's context: its failures name the tree
        async with tree_scope(stack.limits.inner):  # batch mode: a batch when all wait
            tree = await search(problem, stack.backend, judges, config, prompts)
        # Serialise here, write and fsync in a thread: a thread that serialises holds the GIL
        # and delays the loop's timers and sockets by up to the 5 ms switch interval.
        await asyncio.to_thread(store.write_tree_json, tree.problem.id, tree_json(tree))
        if tree.status == "failed":
            stack.failures.add("tree", tree.error or "failed")
        record(tree, reused=False)

    async def worker(problems: Iterator[Problem]) -> None:
        for problem in problems:
            if stack.gate.reason is not None:
                summary.pending += 1
                continue
            try:
                await build(problem)
            except Exception as exc:  # a bug or a disk error: stop every worker, report it
                errors.append(exc)
                stack.gate.stop("stopped by an error", abort=True)

    problems = to_build()
    await asyncio.gather(*(worker(problems) for _ in range(workers)))
    if errors:
        raise errors[0]


def _finish(summary: RunSummary, manifest: Manifest, stack: Stack, started: float | None) -> None:
    """Copy the run's figures into the summary and the manifest."""
    meter = stack.meter
    summary.usage = meter.usage
    summary.cost = meter.session_cost
    summary.cached = stack.backend.hits
    summary.failures = stack.failures.count
    summary.stopped = stack.gate.reason
    manifest.counts = {"trees": summary.trees, **summary.status}
    if summary.pending:
        manifest.counts["pending"] = summary.pending
    manifest.usage = meter.prior + meter.usage
    manifest.cost_usd = round(meter.run_cost, 6)
    manifest.stopped = summary.stopped
    if started is not None:
        manifest.wall_s = time.monotonic() - started


class _SavedTrees(Sequence[Tree]):
    """The run's saved trees as a sequence that loads each tree when it is read."""

    def __init__(self, store: RunStore, ids: list[str]) -> None:
        self.store = store
        self.ids = [i for i in ids if store.tree_path(i).is_file()]

    def __len__(self) -> int:
        return len(self.ids)

    @overload
    def __getitem__(self, index: int) -> Tree: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Tree]: ...
    def __getitem__(self, index: int | slice) -> Tree | Sequence[Tree]:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self))[index]]
        tree = self.store.load_tree(self.ids[index])
        assert tree is not None  # listed above, never deleted during a run
        return tree


class _SignalStop:
    """While active, SIGINT and SIGTERM stop the run through the gate (trees in flight end as
    `partial`); the handlers are removed after the first signal, so a second one kills."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, stack: Stack, summary: RunSummary) -> None:
        self.stack = stack
        self.summary = summary
        self.previous: dict[signal.Signals, Any] = {}

    def _handle(self, signum: signal.Signals) -> None:
        self.summary.interrupted = True
        self.stack.gate.stop(f"interrupted ({signum.name})", abort=True)
        self._remove()

    def _remove(self) -> None:
        loop = asyncio.get_running_loop()
        for signum, previous in self.previous.items():
            loop.remove_signal_handler(signum)
            signal.signal(signum, previous)  # e.g. asyncio.run's own Ctrl-C handler
        self.previous = {}

    def __enter__(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in self.SIGNALS:
            previous = signal.getsignal(signum)
            try:
                loop.add_signal_handler(signum, self._handle, signum)
            except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
                continue
            self.previous[signum] = previous

    def __exit__(self, *exc: object) -> None:
        self._remove()
