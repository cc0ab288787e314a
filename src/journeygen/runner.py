"""A whole run: load problems, build or reuse each tree, save it, export the samples."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from journeygen.backends.base import Backend
from journeygen.config import RunConfig
from journeygen.export import write_samples
from journeygen.judges import AnswerJudge
from journeygen.models import Tree, Usage
from journeygen.problems import load_problems, write_rejects
from journeygen.prompts import PromptSet
from journeygen.samples import KINDS, SampleKind, samples
from journeygen.search import search
from journeygen.store import Manifest, RunStore

__all__ = ["RunSummary", "export_run", "generate"]

TreeCallback = Callable[[Tree, bool], None]


@dataclass
class RunSummary:
    """What a run did, for the closing summary line and for tests."""

    problems: int = 0
    rejects: int = 0
    trees: int = 0
    reused: int = 0
    status: Counter[str] = field(default_factory=Counter)
    exported: dict[str, int] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)
    wall_s: float = 0.0
    out_dir: Path = Path()


def export_run(
    store: RunStore,
    prompts: PromptSet,
    targets: Mapping[SampleKind, Path],
    *,
    system: str | None = None,
) -> dict[str, int]:
    """Write each kind of sample from the run's saved trees to its file; return row counts."""
    counts: dict[str, int] = {}
    for kind, path in targets.items():
        rows = samples(store.trees(), kind, prompts, run=store.run)
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
    on_tree: TreeCallback | None = None,
    on_reject: Callable[[str], None] | None = None,
) -> RunSummary:
    """Build a tree for every good problem (reusing complete trees built with the same
    settings), save each as soon as it is done, then export journeys and shortcuts."""
    started = time.monotonic()
    store = RunStore(trees_dir, run)
    run_out = out_dir / run
    problems, rejects = load_problems(problems_path, limit=limit)
    write_rejects(rejects, run_out / "rejects.jsonl")
    for reject in rejects:
        if on_reject is not None:
            on_reject(str(reject))

    manifest = Manifest(
        run=run,
        config=config.model_dump(mode="json"),
        config_hash=config.tree_hash(),
        source=str(problems_path),
        problems=[problem.id for problem in problems],
    )
    store.write_manifest(manifest)
    judges = [AnswerJudge(timeout=config.search.answer_timeout)]
    summary = RunSummary(problems=len(problems), rejects=len(rejects), out_dir=run_out)

    for problem in problems:
        tree = store.load_tree(problem.id)
        reused = (
            tree is not None
            and tree.status == "complete"
            and tree.config_hash == manifest.config_hash
        )
        if tree is None or not reused:
            tree = await search(problem, backend, judges, config, prompts)
            store.save_tree(tree)
            summary.usage = summary.usage + tree.stats.usage
        summary.trees += 1
        summary.reused += int(reused)
        summary.status[tree.status] += 1
        manifest.counts = {"trees": summary.trees, **summary.status}
        manifest.usage = summary.usage
        store.write_manifest(manifest)
        if on_tree is not None:
            on_tree(tree, reused)
        await asyncio.sleep(0)

    system = config.journey.system_prompt
    targets = {kind: run_out / f"{kind}.jsonl" for kind in KINDS}
    summary.exported = export_run(store, prompts, targets, system=system)
    summary.wall_s = time.monotonic() - started
    manifest.wall_s = summary.wall_s
    store.write_manifest(manifest)
    return summary
