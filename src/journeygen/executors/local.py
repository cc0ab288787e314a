"""A whole run on one machine: load problems, build many trees at once through the runtime
stack (cache, budgets, limits), save each tree as soon as it is done, then export the samples.

Problems are streamed and at most a bounded number of trees is in memory at a time, so a run
of 10,000 problems needs no more memory than one of 1,000. Ctrl-C or SIGTERM stops cleanly:
the trees in flight are saved as `partial`, the manifest is updated, nothing else is touched.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from journeygen.backends.base import Backend
from journeygen.config import RunConfig
from journeygen.derive.samples import SampleSettings, kinds_of
from journeygen.derive.texts import TEXTS_FILE, TextCache
from journeygen.executors.export import RunExport
from journeygen.executors.pool import TreeCallback, build_trees
from journeygen.executors.searching import Executor, InProcess
from journeygen.executors.signals import SignalStop
from journeygen.executors.summary import RunSummary, record_figures
from journeygen.export.spool import LineSpool
from journeygen.problems import Reject, iter_numbered, write_rejects
from journeygen.problems.decontaminate import (
    DECONTAMINATED_FILE,
    Contamination,
    ContaminationIndex,
    write_report,
)
from journeygen.prompts import PromptSet
from journeygen.runtime import (
    PriceTable,
    RuntimeOptions,
    Stack,
    build_stack,
    default_concurrency,
)
from journeygen.store import LOCK_FILE, Manifest, RunLock, RunStore

__all__ = ["Resume", "RunSettingsChanged", "RunSummary", "generate"]

StartCallback = Callable[[int, Stack, "Resume | None"], None]


class RunSettingsChanged(ValueError):
    """A rerun whose settings would change the run's trees: it stops before touching them."""


@dataclass(frozen=True)
class Resume:
    """What a rerun of a run starts from: trees already saved, answers already cached."""

    trees: int
    answers: int


def clear_run(store: RunStore) -> None:
    """`--fresh`: delete the run's trees, cache and logs, but not the lock this run holds."""
    for child in store.dir.iterdir():
        if child.name == LOCK_FILE:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def check_same_settings(store: RunStore, config: RunConfig) -> None:
    """Stop a rerun whose settings would rebuild the run's trees as other trees, naming what
    differs and the two ways on."""
    previous = store.read_manifest().config
    if previous.tree_hash() == config.tree_hash():
        return
    changes = "; ".join(config.tree_changes(previous))
    raise RunSettingsChanged(
        f"run {store.run!r} was built with other settings ({changes}); rerun with --fresh to "
        f"rebuild it with these, or give another --run NAME to keep both"
    )


def _model_name(backend: Backend, configured: str | None) -> str | None:
    """The model a backend runs (its price and cache namespace), else the configured one."""
    model = getattr(backend, "model", None)
    return model if isinstance(model, str) else configured


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
    decontaminate: ContaminationIndex | None = None,
    critic: Backend | None = None,
    executor: Executor | None = None,
) -> RunSummary:
    """Build a tree for every good problem (reusing complete trees built with the same
    settings, replaying cached requests for the rest), then export journeys and shortcuts.

    `fresh` deletes the run's trees, request cache and failure log first. A problem that
    copies a question of `decontaminate` gets no tree and goes to `decontaminated.jsonl`.
    `critic` is the dialogue's critic when `config.critic` names another model: its requests
    go through a stack of their own beside the run's (see `runtime.build_stack`).
    `executor` searches the trees (default: in this process; `executors.ray`: on a cluster).
    """
    started = time.monotonic()
    runtime = runtime or RuntimeOptions()
    executor = executor or InProcess()
    store = RunStore(trees_dir, run)
    with RunLock(store, "generate"):  # one writer per run: a second one stops here
        if fresh and store.dir.exists():
            clear_run(store)
        elif store.exists():
            check_same_settings(store, config)
        run_out = out_dir / run

        ids: list[str] = []
        rejects: list[Reject] = []
        copies: list[Contamination] = []
        for line, item in iter_numbered(problems_path):  # first pass: ids only
            if limit is not None and len(ids) >= limit:  # the first N good problems, copies aside
                break
            if isinstance(item, Reject):
                rejects.append(item)
            elif decontaminate is not None and (found := decontaminate.match(item.question)):
                copies.append(Contamination(item, str(problems_path), line, found, "generate"))
            else:
                ids.append(item.id)
        write_rejects(rejects, run_out / "rejects.jsonl")
        write_report(copies, run_out / DECONTAMINATED_FILE)
        for reject in rejects:
            if on_reject is not None:
                on_reject(str(reject))

        manifest = Manifest(
            run=run,
            config=config,
            config_hash=config.tree_hash(),
            source=str(problems_path),
            problems=ids,
            decontaminate=decontaminate.files if decontaminate is not None else [],
            executor=executor.describe(
                runtime.concurrency or default_concurrency(config.backend.name)
            ),
        )
        store.write_manifest(manifest)
        summary = RunSummary(
            problems=len(ids), rejects=len(rejects), decontaminated=len(copies), out_dir=run_out
        )
        stack = build_stack(
            backend,
            store.dir,
            runtime,
            backend_name=config.backend.name,
            model=_model_name(backend, config.backend.model),
            prices=prices,
        )
        named = config.critic_backend()
        if critic is not None and named is not None:  # the dialogue's critic is another model
            stack.critic = build_stack(
                critic,
                store.dir,
                runtime,
                backend_name=named.name,
                model=_model_name(critic, named.model),
                prices=prices,
                beside=stack,
            )
        texts = SampleSettings(texts=TextCache(store.dir / TEXTS_FILE))  # filled tree by tree
        run_export = RunExport(
            store, prompts, kinds_of(config), texts, config.journey.system_prompt
        )
        if on_start is not None:
            saved = sum(1 for problem_id in ids if store.tree_path(problem_id).is_file())
            on_start(len(ids), stack, Resume(saved, stack.backend.stored()) if saved else None)
        with LineSpool(store.dir, run_export.lines) as spool:
            try:
                async with executor.searching(stack, config, prompts) as search_tree:
                    with SignalStop(stack, summary):
                        await build_trees(
                            problems_path,
                            store,
                            manifest,
                            prompts,
                            stack,
                            summary,
                            runtime,
                            on_tree,
                            texts,
                            search_tree,
                            spool,
                        )
            finally:
                record_figures(summary, manifest, stack, started)
                store.write_manifest(manifest)
                stack.close()
            if not summary.interrupted:
                summary.exported = run_export.write(run_out, manifest.problems, made=spool.lines)
        summary.wall_s = time.monotonic() - started
        return summary
