"""The worker pool of a run: one worker per request slot (more for the last problems), each
building one tree after the other, saving it as soon as it is done, then asking the LLM texts
its journeys need (reflections, rewrites) through the same runtime stack."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from journeygen.backends.base import BackendError, RunStopped
from journeygen.derive.samples import Built, SampleSettings, write_texts
from journeygen.executors.searching import SearchTree
from journeygen.executors.summary import RunSummary, record_figures
from journeygen.export.spool import LineSpool
from journeygen.models import Problem, Tree
from journeygen.problems import Reject, iter_problems
from journeygen.prompts import PromptSet
from journeygen.runtime import CURRENT_PROBLEM, RuntimeOptions, Stack, default_concurrency
from journeygen.store import Manifest, RunStore, tree_json

__all__ = ["MANIFEST_EVERY_S", "TREES_PER_SLOT", "TreeCallback", "build_trees"]

TreeCallback = Callable[[Tree, bool], None]
MANIFEST_EVERY_S = 1.0  # a manifest of 10k problem ids is rewritten at most once a second
TREES_PER_SLOT = 3  # open trees per request slot for the last problems: see `build_trees`


async def build_trees(
    problems_path: Path,
    store: RunStore,
    manifest: Manifest,
    prompts: PromptSet,
    stack: Stack,
    summary: RunSummary,
    runtime: RuntimeOptions,
    on_tree: TreeCallback | None,
    texts: SampleSettings,
    search_tree: SearchTree,
    spool: LineSpool,
) -> None:
    """Second pass over the problems (those the manifest lists): one worker per request slot,
    each building one tree after the other, and for the last problems `TREES_PER_SLOT` - 1
    more per slot, so at most `TREES_PER_SLOT` trees a slot are in memory.

    One tree a slot while problems remain: a worker that owns its slot sends its next request
    as soon as it has judged the answer, where a tree waiting for a slot would get it only on
    the event loop's next round (`bench/slot_handover.py`: 86% of the bound with 2 trees a
    slot at 0.5 ms of work per answer, 99% with one). For the last problems, every remaining
    one is opened at once, beside the trees in flight, and the slots serve the tree with the
    fewest answers first (`runtime.limits.Slots`): the open trees then hold enough requests to
    keep every slot busy while the youngest walks its remaining levels, and they finish
    together instead of one by one (`bench/run_phases.py`, 64 slots, 2 s a request: the last
    stretch under 90% busy went from 5.0 s to about 1 s, and the request phase from 92% to
    96% of the bound). One slot (the embedded model, the scripted fake) keeps one tree, so
    requests go out in a fixed order. A finished tree (built now or reused) then gets its LLM
    texts, each kept as it arrives, and then its export lines, into `spool`. `search_tree`
    builds a tree here or on another machine (`executors.searching`).
    """
    slots = runtime.concurrency or default_concurrency(manifest.config.backend.name)
    extra = 0 if slots == 1 else (TREES_PER_SLOT - 1) * slots  # workers for the endgame
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
            record_figures(summary, manifest, stack, None)
            store.write_manifest(manifest)
            last_manifest = time.monotonic()

    def to_build() -> Iterator[Problem | Tree]:
        """The problems still without a complete tree of these settings, and the complete
        trees to reuse. Shared by the workers: it never awaits, so no two run it at once."""
        wanted = set(manifest.problems)  # the first pass left out rejects, copies, the limit
        for item in iter_problems(problems_path):
            if not wanted:
                return
            if isinstance(item, Reject) or item.id not in wanted:
                continue
            wanted.discard(item.id)
            saved = store.load_tree(item.id)
            if (
                saved is not None
                and saved.status == "complete"
                and saved.config_hash == manifest.config_hash
            ):
                yield saved
                continue
            yield item

    async def build(problem: Problem) -> None:
        CURRENT_PROBLEM.set(problem.id)  # this worker's context: its failures name the tree
        tree = await search_tree(problem)
        # Serialise here, write and fsync in a thread: a thread that serialises holds the GIL
        # and delays the loop's timers and sockets by up to the 5 ms switch interval.
        await asyncio.to_thread(store.write_tree_json, tree.problem.id, tree_json(tree))
        if tree.status == "failed":
            stack.failures.add("tree", tree.error or "failed")
        else:
            spool.add(tree, await ask_texts(tree))
        record(tree, reused=False)

    async def ask_texts(tree: Tree) -> Built | None:
        """The tree's LLM texts, and its journeys and episodes built with them all (None when
        some are missing); a text that can't be had leaves the next reflection source (or the
        template draft) in its place, and a stopped run asks no more."""
        try:
            return (await write_texts(tree, prompts, texts, stack.backend, run=store.run)).built
        except RunStopped:
            return None
        except BackendError as exc:
            stack.failures.add("text", f"{exc} (the next reflection source stands in)")
            return None

    async def reuse(tree: Tree) -> None:
        CURRENT_PROBLEM.set(tree.problem.id)
        # a run stopped in its text phase left some unasked
        spool.add(tree, await ask_texts(tree))
        record(tree, reused=True)

    left = len(manifest.problems)  # problems no worker has taken yet
    endgame = asyncio.Event()  # set when the last problems are to be taken: extra trees open

    async def worker(items: Iterator[Problem | Tree], *, late: bool = False) -> None:
        nonlocal left
        if late:
            await endgame.wait()
        for item in items:
            left -= 1
            if left <= extra:  # the last problems: open them all, beside the trees in flight
                endgame.set()
            if stack.gate.reason is not None:
                summary.pending += 1
                continue
            try:
                await (reuse(item) if isinstance(item, Tree) else build(item))
            except Exception as exc:  # a bug or a disk error: stop every worker, report it
                errors.append(exc)
                stack.gate.stop("stopped by an error", abort=True)
        endgame.set()  # nothing left to take (even if the file lost a problem since)

    problems = to_build()
    if left <= extra:
        endgame.set()
    await asyncio.gather(
        *(worker(problems) for _ in range(slots)),
        *(worker(problems, late=True) for _ in range(extra)),
    )
    if errors:
        raise errors[0]
