"""The export of a saved run on every core: worker processes read, check and format its trees
in chunks, and this process writes their lines in the run's problem order, so the files are
the same bytes for any number of workers (one worker: no process is started)."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from journeygen.export.formats import ExportError, ExportKind, Format, Options, check_options
from journeygen.export.writer import KindFiles, TreeLines, tree_lines

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing.context import BaseContext

    from journeygen.derive.samples import SampleSettings
    from journeygen.problems.decontaminate import TreeFilter
    from journeygen.prompts import PromptSet
    from journeygen.store import RunStore

__all__ = ["TREES_PER_WORKER", "Made", "auto_workers", "export_run_trees"]

# Below this many trees a worker is not worth its start (two take about 0.05 s: an export
# of 100 trees gains little, one of 10 loses; bench/README.md §4): a run of 1,000 trees gets
# two workers, one of 300 none
TREES_PER_WORKER = 500
# One tree's lines, or why it wrote none: missing (None) or dropped by the filter
_Outcome = tuple[TreeLines | None, Any]
# A tree's lines made already (`export.spool`), by problem id; None: not made
Made = Callable[[str], TreeLines | None]


def auto_workers(trees: int) -> int:
    """Workers for `trees` trees: one per core this process may use, fewer for small runs."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, trees // TREES_PER_WORKER))


@dataclass(frozen=True)
class _Job:
    """What every tree of one export is made with; a worker receives it once, at start."""

    store: RunStore
    kinds: tuple[ExportKind, ...]
    fmt: Format
    options: Options
    prompts: PromptSet
    settings: SampleSettings | None
    clean: TreeFilter | None

    def outcome(self, problem_id: str) -> _Outcome:
        """One saved tree's lines by kind; (None, None) when the tree is not saved, and
        (None, why) when the filter drops it."""
        tree = self.store.load_tree(problem_id)
        if tree is None:
            return None, None
        if self.clean is not None and not self.clean.keeps(tree):
            return None, self.clean.dropped[tree.problem.id]
        lines = tree_lines(
            tree,
            self.kinds,
            fmt=self.fmt,
            options=self.options,
            prompts=self.prompts,
            run=self.store.run,
            settings=self.settings,
        )
        return lines, None


_job: _Job | None = None  # a worker's job, set once by `_start`


def _start(job: _Job) -> None:
    """A worker's first act: keep the job, and leave Ctrl-C to the writer, which stops the
    export (the workers then see their pipe close and end)."""
    global _job
    _job = job
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _outcome(problem_id: str) -> _Outcome:
    if _job is None:
        raise RuntimeError("export worker used before its start")
    return _job.outcome(problem_id)


def _context() -> BaseContext:
    """fork where it is safe (a POSIX process running one thread: no lock can be held by a
    thread the child lacks) since the child then starts in milliseconds with the job in
    memory; spawn elsewhere (macOS, Windows, or after a backend left threads behind)."""
    import multiprocessing  # ~15 ms with the pool's imports: only an export that starts workers

    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _outcomes(
    job: _Job, ids: Sequence[str], workers: int, made: Made | None = None
) -> Iterator[_Outcome]:
    """Each tree's outcome in the order of `ids`: made already (`made`), or made here or by
    `workers` processes."""
    if made is not None:  # the lines of a run's own trees: those it lacks are few, made here
        for problem_id in ids:
            lines = made(problem_id)
            yield (lines, None) if lines is not None else job.outcome(problem_id)
        return
    if workers <= 1 or len(ids) <= 1:
        yield from map(job.outcome, ids)
        return
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    yield job.outcome(ids[0])  # builds the validators here once; forked workers inherit them
    chunk = max(1, min(64, len(ids) // (workers * 8)))  # small enough to share the tail
    pool = ProcessPoolExecutor(workers, mp_context=_context(), initializer=_start, initargs=(job,))
    try:
        yield from pool.map(_outcome, ids[1:], chunksize=chunk)
    except BrokenProcessPool as exc:
        raise ExportError(
            f"an export worker process died ({exc}); nothing was written. "
            "Run again, or with --workers 1"
        ) from exc
    except BaseException:  # an error, Ctrl-C
        _stop(pool)
        raise
    pool.shutdown()


def _stop(pool: ProcessPoolExecutor) -> None:
    """End the export's workers now: the queued chunks are dropped and no worker is waited
    for, not even one blocked on a read that never ends (a hung network disk, a pipe)."""
    workers = list((pool._processes or {}).values())  # Python 3.14: pool.terminate_workers()
    pool.shutdown(wait=False, cancel_futures=True)
    for worker in workers:
        worker.terminate()


def export_run_trees(
    store: RunStore,
    problem_ids: Sequence[str],
    targets: Mapping[ExportKind, Path],
    *,
    fmt: Format,
    options: Options,
    prompts: PromptSet,
    settings: SampleSettings | None = None,
    clean: TreeFilter | None = None,
    workers: int = 1,
    made: Made | None = None,
) -> dict[ExportKind, int]:
    """Write every kind in `targets` from the saved trees of `problem_ids` (the run's, in
    order), each tree read once; trees `clean` drops are recorded in it. `made`: the lines
    of a tree made already with these settings (`export.spool`), None for one to make here.
    Returns row counts by kind."""
    for kind in targets:
        check_options(fmt, kind, options)
    job = _Job(store, tuple(targets), fmt, options, prompts, settings, clean)
    with ExitStack() as stack:
        files = KindFiles(stack, targets, fmt)
        for lines, dropped in _outcomes(job, problem_ids, workers, made):
            if lines is not None:
                files.write(lines)
            elif dropped is not None and clean is not None:  # a worker's filter dropped it
                clean.dropped.setdefault(dropped[0].id, dropped)
    return files.finish()
