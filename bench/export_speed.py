"""Benchmark 4: trees exported to jsonl per second, from a run's saved trees.

Builds a run of N problems once on the scripted fake backend (beam width 3, depth 3, so
each tree has wrong branches and journeys have detours), then times `journeygen export`'s
work (load each tree, extract the journey or shortcut, linearise, write OpenAI jsonl) for
each kind, in this process. Run: `.venv/bin/python bench/export_speed.py [--problems 2000]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

from journeygen.backends.fake import FakeBackend
from journeygen.config import BackendConfig, RunConfig, SearchConfig
from journeygen.derive.samples import KINDS
from journeygen.executors.local import export_run, generate
from journeygen.prompts import load_prompts
from journeygen.runtime import RuntimeOptions
from journeygen.store import RunStore

RESPONSES = [
    "First add 3 and 5 to get 8.",
    "The answer is 9.",
    "Then 8 minus 1 is 7.",
    "So 3 + 5 = 8. The answer is 8.",
    "The answer is 7.",
]


def build(folder: Path, count: int) -> RunStore:
    problems = folder / "bench.jsonl"
    rows = (
        {"id": f"p{i}", "question": f"Tom has 3 apples and buys 5 more ({i}).", "answer": "8"}
        for i in range(count)
    )
    problems.write_text("".join(json.dumps(row) + "\n" for row in rows))
    asyncio.run(
        generate(
            problems,
            run="bench",
            config=RunConfig(
                backend=BackendConfig(name="fake"),
                search=SearchConfig(width=3, keep=2, depth=3),
            ),
            backend=FakeBackend(RESPONSES, cycle=True, history=False),
            prompts=load_prompts(),
            trees_dir=folder / "trees",
            out_dir=folder / "outputs",
            runtime=RuntimeOptions(concurrency=8),
        )
    )
    return RunStore(folder / "trees", "bench")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--problems", type=int, default=2000)
    args = parser.parse_args()
    prompts = load_prompts()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        store = build(folder, args.problems)
        nodes = sum(len(tree.nodes) for tree in store.trees())
        print(f"{args.problems} trees, {nodes / args.problems:.1f} nodes a tree")
        print("| kind | trees | rows | seconds | trees/s |")
        print("|---|---:|---:|---:|---:|")
        for kind in KINDS:
            target = {kind: folder / "export" / f"{kind}.jsonl"}
            started = time.perf_counter()
            rows = export_run(store, prompts, target)[kind]
            elapsed = time.perf_counter() - started
            print(
                f"| {kind} | {args.problems} | {rows} | {elapsed:.2f} | "
                f"{args.problems / elapsed:.0f} |"
            )


if __name__ == "__main__":
    main()
