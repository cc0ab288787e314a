"""Benchmark 4: `journeygen export` of saved trees, trees/s past start-up.

Builds two runs on the scripted fake backend (beam width 3, keep 2, depth 3, so trees have
wrong branches and journeys have detours; the fake also writes the LLM reflections, so
journeys read them from the run's text cache): `--problems` trees and a small run of
`--small` trees. Then times the real command, `journeygen export RUN` (journey and shortcut
OpenAI rows) as a subprocess on each run, rows interleaved, `--repeat` times: wall time and
CPU time (user + system, from `os.wait4`). Trees/s past start-up = (N - small) / (median
time of N - median time of small): the start-up (imports, prompts, manifest) cancels out.
CPU time is the steadier figure on a shared machine. Then, in this process, the work per tree
split into its parts (fastest of `--repeat`).

Run: `.venv/bin/python bench/export_speed.py [--problems 1000] [--small 10] [--repeat 5]`.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from journeygen.backends.fake import FakeBackend
from journeygen.config import BackendConfig, RunConfig, SearchConfig
from journeygen.derive.samples import SampleSettings, samples
from journeygen.derive.texts import TEXTS_FILE, TextCache
from journeygen.executors.local import generate
from journeygen.export import Options, export_kinds, write_samples
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


def build(folder: Path, run: str, count: int) -> RunStore:
    """A run of `count` fake-backend trees (and its LLM texts) under `folder/trees`."""
    problems = folder / f"{run}.jsonl"
    rows = (
        {"id": f"p{i}", "question": f"Tom has 3 apples and buys 5 more ({i}).", "answer": "8"}
        for i in range(count)
    )
    problems.write_text("".join(json.dumps(row) + "\n" for row in rows))
    asyncio.run(
        generate(
            problems,
            run=run,
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
    return RunStore(folder / "trees", run)


def export_command(folder: Path, run: str) -> tuple[float, float]:
    """Wall and CPU seconds of `journeygen export RUN` as a child process."""
    command = [sys.executable, "-m", "journeygen", "export", run]
    command += ["--trees-dir", str(folder / "trees"), "--out-dir", str(folder / "exports")]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"export failed: {child.stderr.read() if child.stderr else status!r}")
    return wall, usage.ru_utime + usage.ru_stime


def rows_of(folder: Path, run: str, kind: str) -> int:
    return len((folder / "exports" / run / f"{kind}.jsonl").read_text().splitlines())


def split(store: RunStore, repeat: int) -> dict[str, float]:
    """CPU seconds of each part of the export's work over every tree, fastest of `repeat`."""
    prompts = load_prompts()
    parts: dict[str, list[float]] = {"load and validate": [], "journey": [], "shortcut": []}
    parts["write both kinds"] = []
    parts["whole export, one pass"] = []
    for _ in range(repeat):
        started = time.process_time()
        for _tree in store.trees():  # streamed, as the export reads them
            pass
        parts["load and validate"].append(time.process_time() - started)
        trees = list(store.trees())
        settings = SampleSettings(texts=TextCache(store.dir / TEXTS_FILE))
        built = {}
        for kind in ("journey", "shortcut"):
            started = time.process_time()
            built[kind] = list(samples(trees, kind, prompts, run=store.run, settings=settings))
            parts[kind].append(time.process_time() - started)
        del trees
        gc.collect()
        with tempfile.TemporaryDirectory() as tmp:
            targets = {kind: Path(tmp) / f"{kind}.jsonl" for kind in ("journey", "shortcut")}
            started = time.process_time()
            export_kinds(
                store.trees(),
                targets,
                fmt="openai",
                options=Options(),
                prompts=prompts,
                run=store.run,
                settings=settings,
            )
            parts["whole export, one pass"].append(time.process_time() - started)
        started = time.process_time()
        for kind in ("journey", "shortcut"):
            with tempfile.TemporaryDirectory() as tmp:
                write_samples(built[kind], Path(tmp) / f"{kind}.jsonl")
        parts["write both kinds"].append(time.process_time() - started)
    return {part: min(times) for part, times in parts.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--problems", type=int, default=1000)
    parser.add_argument("--small", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        big = build(folder, "big", args.problems)
        build(folder, "small", args.small)
        nodes = sum(len(tree.nodes) for tree in big.trees()) / args.problems
        times: dict[str, list[tuple[float, float]]] = {"small": [], "big": []}
        for _ in range(args.repeat):
            for run in ("small", "big"):
                times[run].append(export_command(folder, run))
        wall = {run: statistics.median(t[0] for t in times[run]) for run in times}
        cpu = {run: statistics.median(t[1] for t in times[run]) for run in times}
        counts = {"small": args.small, "big": args.problems}
        print(
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end; "
            f"{nodes:.1f} nodes a tree; medians of {args.repeat}"
        )
        print()
        print("| `journeygen export` | trees | journey rows | shortcut rows | wall s | CPU s |")
        print("|---|---:|---:|---:|---:|---:|")
        for run in ("small", "big"):
            print(
                f"| {run} run | {counts[run]} | {rows_of(folder, run, 'journey')} | "
                f"{rows_of(folder, run, 'shortcut')} | {wall[run]:.2f} | {cpu[run]:.2f} |"
            )
        extra = args.problems - args.small
        print(
            f"| **trees/s past start-up** | {extra} more | | | "
            f"**{extra / (wall['big'] - wall['small']):.0f}** (wall) | "
            f"**{extra / (cpu['big'] - cpu['small']):.0f}** (CPU) |"
        )
        print()
        print(f"In process, {args.problems} trees, CPU s (fastest of {args.repeat}):")
        print()
        print("| part | CPU s | ms a tree |")
        print("|---|---:|---:|")
        for part, seconds in split(big, args.repeat).items():
            print(f"| {part} | {seconds:.3f} | {1000 * seconds / args.problems:.2f} |")
    print(f"\n({time.perf_counter() - began:.0f} s in all)")


if __name__ == "__main__":
    main()
