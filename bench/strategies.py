"""Compare the search strategies on GSM8K problems with the embedded model at one token budget.

Prints one row per strategy: problems searched, problems whose tree has a correct leaf of the
model's own, journeys produced (and the share that rests on the model's own correct path
rather than the reference solution), episodes (critique and dialogue: the search's own walk
to a right answer), detours and reflections per journey, where the reflections' words came
from, tokens per journey, calls, tokens, nodes and wall time. All strategies run side by side
in one process on the same problems, seed and backend.

    .venv/bin/python bench/strategies.py --limit 20 --max-tokens 4000
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from journeygen.backends.local import LocalBackend
from journeygen.config import RunConfig, SearchConfig
from journeygen.derive.samples import samples
from journeygen.judges.answer import AnswerJudge
from journeygen.models import Sample, Tree
from journeygen.problems import load_problems
from journeygen.prompts import load_prompts
from journeygen.search import STRATEGIES
from journeygen.search.tree import search

DEFAULT_PROBLEMS = Path(__file__).resolve().parents[2] / "shared" / "data" / "gsm8k_test.jsonl"


@dataclass
class Row:
    strategy: str
    problems: int = 0
    solved: int = 0
    journeys: int = 0
    own_journeys: int = 0
    episodes: int = 0
    detours: int = 0
    reflections: int = 0
    sources: Counter[str] = field(default_factory=Counter)
    calls: int = 0
    tokens: int = 0
    nodes: int = 0
    wall_s: float = 0.0


def settings(args: argparse.Namespace) -> dict[str, dict[str, object]]:
    """Each strategy's knobs; the loop caps are high so the shared token budget binds
    (best_of_n sends its solutions in one round, checked against the budget before it, so
    its round is sized to the budget instead)."""
    common: dict[str, object] = {
        "max_tokens": args.max_tokens,
        "max_nodes": 10_000,
        "depth": args.depth,
        "reference_path": "fallback",
    }
    return {
        "beam": {**common, "width": 3, "keep": 2},
        "rollout": {**common, "rollouts": 4},
        "mcts": {**common, "width": 3, "simulations": 10_000},
        "best_of_n": {**common, "rollouts": 4},
        "critique": {**common, "turns": 1000},
        "dialogue": {**common, "turns": 1000},
    }


def count_walks(row: Row, walks: list[Sample]) -> None:
    """Detours (backtracks), reflections and their sources over journeys and episodes."""
    for sample in walks:
        row.detours += sum(seg.kind == "backtrack" for seg in sample.segments)
        reflections = [seg for seg in sample.segments if seg.kind == "reflection"]
        row.reflections += len(reflections)
        row.sources.update(seg.source for seg in reflections if seg.source is not None)


async def run(args: argparse.Namespace) -> list[Row]:
    problems, rejects = load_problems(args.problems, limit=args.limit)
    if rejects:
        raise SystemExit(f"{len(rejects)} bad rows in {args.problems}: {rejects[0]}")
    prompts = load_prompts()
    judges = [AnswerJudge()]
    backend = LocalBackend(seed=args.seed)
    rows: list[Row] = []
    try:
        for strategy in args.strategies:
            search_config = SearchConfig.model_validate(
                {"strategy": strategy, **settings(args)[strategy]}
            )
            config = RunConfig(seed=args.seed, search=search_config)
            row = Row(strategy)
            trees: list[Tree] = []
            started = time.perf_counter()
            for problem in problems:
                tree = await search(problem, backend, judges, config, prompts)
                trees.append(tree)
                row.problems += 1
                row.solved += int(tree.stats.correct_leaves > 0)
                row.calls += tree.stats.usage.calls
                row.tokens += tree.stats.usage.total_tokens
                row.nodes += tree.stats.nodes
            row.wall_s = time.perf_counter() - started
            journeys = list(samples(trees, "journey", prompts, run="bench"))
            episodes = list(samples(trees, "episode", prompts, run="bench"))
            row.journeys, row.episodes = len(journeys), len(episodes)
            row.own_journeys = sum(j.provenance.path_source == "policy" for j in journeys)
            count_walks(row, journeys + episodes)
            rows.append(row)
            print(f"done {strategy} in {row.wall_s:.0f} s: {line(row)}", flush=True)
    finally:
        await backend.aclose()
    return rows


def per(total: int, walks: int, *, digits: int = 2) -> str:
    """A mean per journey or episode, or '-' when there are none."""
    return f"{total / walks:.{digits}f}" if walks else "-"


def table(rows: list[Row], args: argparse.Namespace) -> str:
    head = (
        f"{rows[0].problems} GSM8K problems · token budget "
        f"{args.max_tokens} per tree · depth {args.depth} · seed {args.seed} · SmolLM2-135M\n"
    )
    lines = [
        "| strategy | problems | with a correct leaf | journeys | own path | episodes "
        "| detours / walk | reflections / walk | reflection sources | tokens / walk | calls "
        "| tokens | nodes | wall s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    return head + "\n".join([*lines, *map(line, rows)])


def line(r: Row) -> str:
    """One strategy's row of the table."""
    walks = r.journeys + r.episodes
    own = f"{r.own_journeys / r.journeys:.0%}" if r.journeys else "-"
    sources = ", ".join(f"{name} {n}" for name, n in r.sources.most_common()) or "-"
    return (
        f"| {r.strategy} | {r.problems} | {r.solved} | {r.journeys} | {own} | {r.episodes} "
        f"| {per(r.detours, walks)} | {per(r.reflections, walks)} | {sources} "
        f"| {per(r.tokens, walks, digits=0)} | {r.calls} | {r.tokens} | {r.nodes} "
        f"| {r.wall_s:.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=Path, default=DEFAULT_PROBLEMS)
    parser.add_argument("--limit", type=int, default=20, help="first N problems")
    parser.add_argument("--max-tokens", type=int, default=4000, help="token budget per tree")
    parser.add_argument("--depth", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--strategies", nargs="+", default=list(STRATEGIES), choices=list(STRATEGIES)
    )
    args = parser.parse_args()
    print(table(asyncio.run(run(args)), args))


if __name__ == "__main__":
    main()
