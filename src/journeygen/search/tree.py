"""Turn one problem into a labelled tree: run the configured strategy on a `TreeBuilder`,
label every step, hang the reference path when asked, and sum up the search."""

from __future__ import annotations

from collections.abc import Sequence

from journeygen.backends.base import Backend, BackendError, RunStopped
from journeygen.config import RunConfig
from journeygen.judges.base import Judge
from journeygen.judges.labels import backup_labels
from journeygen.models import Problem, Tree, TreeStats, TreeStatus
from journeygen.prompts import PromptSet
from journeygen.search import strategy
from journeygen.search.builder import TreeBuilder
from journeygen.search.reference import needs_reference, reference_nodes

__all__ = ["search"]


def _apply_tallies(builder: TreeBuilder) -> None:
    """Where a strategy sampled whole solutions, a step's value is the share of the finished
    ones through it that reach the gold answer, each sample counted (duplicates too)."""
    for node in builder.nodes:
        tally = builder.tallies.get(node.id)
        if tally is not None:
            node.visits = tally.visits
            if tally.judged:
                node.value = tally.wins / tally.judged


async def search(
    problem: Problem,
    backend: Backend,
    judges: Sequence[Judge],
    config: RunConfig,
    prompts: PromptSet,
    critic: Backend | None = None,
) -> Tree:
    """Build, label and return the whole tree; a backend failure gives a `failed` tree that
    keeps every step found before it. `critic` answers as the dialogue's critic agent when
    it is another model than `backend`."""
    builder = TreeBuilder(problem, backend, judges, config, prompts, critic)
    error: str | None = None
    try:
        await strategy(config.search.strategy)(builder)
    except BackendError as exc:
        error = str(exc)
    except RunStopped as exc:  # budget spent or Ctrl-C: keep what was found, as `partial`
        builder.stop_reason = str(exc)
    nodes = builder.nodes
    _apply_tallies(builder)  # first: labels weigh every sampled solution, duplicates too
    backup_labels(nodes, problem.answer, config.judges)
    stats = TreeStats.measure(nodes, builder.usage, builder.stop_reason)  # what the search found
    stats.counters = dict(sorted(builder.counters.items()))
    if error is None and needs_reference(config.search.reference_path, nodes, problem):
        nodes.extend(reference_nodes(problem))
    status: TreeStatus = "failed" if error else ("partial" if builder.stop_reason else "complete")
    return Tree(
        problem=problem,
        nodes=nodes,
        config=config,
        config_hash=config.tree_hash(),
        strategy=config.search.strategy,
        status=status,
        error=error,
        stats=stats,
        events=builder.events,
    )
