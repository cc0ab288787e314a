"""Benchmark 4: `journeygen export` of saved trees, trees/s past start-up.

Builds two runs, `--problems` trees and a small run of `--small` trees, of one of two kinds
(`--trees`):
- `gsm8k` (default): the first GSM8K test problems at the default search settings, answered
  in this process by the stub server's answers without HTTP (`remote_throughput.SleepBackend`):
  trees of about 26 nodes, as a real run makes them.
- `fake`: `journeygen generate` on the scripted fake backend (beam width 3, keep 2, depth 3;
  the fake also writes the LLM reflections, so journeys read them from the run's text cache):
  trees of about 9 nodes.
Then times the real command, `journeygen export RUN` (journey and shortcut OpenAI rows), as a
subprocess on each run, `--repeat` times, rows interleaved: in one process (`--workers 1`) and
with one worker process per core (`--workers CORES` on both runs, so starting the workers is
start-up too); wall time and CPU time (user + system of the command and its workers, from
`os.wait4`). Trees/s past start-up = (N - small) / (median time of N - median time of
small): the start-up (imports, prompts, manifest, the workers' start) cancels out. With
workers, wall time is the figure (CPU adds up over processes); in one process, CPU time is
the steadier one on a shared machine. With `--before SRC` (an
older checkout's `src`) that checkout's export is timed beside (with `--trees fake` it also
builds the runs, so it can read them). Then, in this process, the work per tree split into
its parts (fastest of `--repeat`).

Run: `.venv/bin/python bench/export_speed.py [--trees gsm8k] [--problems 1000] [--repeat 5]
[--before SRC]`.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from remote_throughput import SleepBackend
from run_phases import problems as gsm8k_problems

from journeygen.config import RunConfig
from journeygen.derive.samples import SampleSettings, samples
from journeygen.derive.texts import TEXTS_FILE, TextCache
from journeygen.executors.local import generate
from journeygen.export import ExportKind, Options, export_kinds, write_samples
from journeygen.prompts import load_prompts
from journeygen.runtime import RuntimeOptions
from journeygen.runtime.loop import run_batch
from journeygen.store import RunStore

RESPONSES = [
    "First add 3 and 5 to get 8.",
    "The answer is 9.",
    "Then 8 minus 1 is 7.",
    "So 3 + 5 = 8. The answer is 8.",
    "The answer is 7.",
]


def build_gsm8k(folder: Path, run: str, count: int) -> RunStore:
    """A run of the first `count` GSM8K test problems at the default settings, every request
    answered at once with the stub server's answers, under `folder/trees`."""
    run_batch(
        generate(
            gsm8k_problems(folder, count),
            run=run,
            config=RunConfig(),
            backend=SleepBackend(0),
            prompts=load_prompts(),
            trees_dir=folder / "trees",
            out_dir=folder / "outputs",
            runtime=RuntimeOptions(concurrency=64),
        )
    )
    return RunStore(folder / "trees", run)


def build(folder: Path, run: str, count: int, source: str | None) -> RunStore:
    """A run of `count` fake-backend trees (and its LLM texts) under `folder/trees`, built by
    `journeygen generate` from `source` (a `src` folder; None: this checkout), so an older
    checkout can read them too."""
    problems = folder / f"{run}.jsonl"
    rows = (
        {"id": f"p{i}", "question": f"Tom has 3 apples and buys 5 more ({i}).", "answer": "8"}
        for i in range(count)
    )
    problems.write_text("".join(json.dumps(row) + "\n" for row in rows))
    script = folder / "script.json"
    script.write_text(json.dumps({"responses": RESPONSES, "cycle": True}))
    command = [sys.executable, "-m", "journeygen", "generate", str(problems), "--run", run]
    command += ["--backend", "fake", "--model", str(script), "--concurrency", "8"]
    command += ["--width", "3", "--keep", "2", "--depth", "3"]
    command += ["--trees-dir", str(folder / "trees"), "--out-dir", str(folder / "outputs")]
    subprocess.run(command, env=environment(source), check=True, capture_output=True)
    return RunStore(folder / "trees", run)


def environment(source: str | None) -> dict[str, str]:
    """The environment of a child that imports journeygen from `source` (None: as installed)."""
    env = dict(os.environ)
    if source is not None:
        env["PYTHONPATH"] = source
    return env


def export_command(
    folder: Path, run: str, source: str | None, extra: tuple[str, ...]
) -> tuple[float, float]:
    """Wall and CPU seconds of `journeygen export RUN [EXTRA]` as a child process (CPU: its
    own and its workers')."""
    command = [sys.executable, "-m", "journeygen", "export", run, *extra]
    command += ["--trees-dir", str(folder / "trees"), "--out-dir", str(folder / "exports")]
    started = time.perf_counter()
    child = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=environment(source)
    )
    _, status, usage = os.wait4(child.pid, 0)  # the child's usage and its reaped workers'
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
            kinds: tuple[ExportKind, ...] = ("journey", "shortcut")
            targets = {kind: Path(tmp) / f"{kind}.jsonl" for kind in kinds}
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
    parser.add_argument("--trees", choices=("gsm8k", "fake"), default="gsm8k")
    parser.add_argument("--problems", type=int, default=1000)
    parser.add_argument("--small", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--before",
        help="a `src` folder of an older checkout (`git archive COMMIT src | tar -x -C DIR`): "
        "its export is timed beside this one's, rows interleaved, on runs it built",
    )
    parser.add_argument("--now", help="a `src` folder to time as 'now' (default: this checkout)")
    args = parser.parse_args()
    began = time.perf_counter()
    cores = len(os.sched_getaffinity(0))
    versions: dict[str, tuple[str | None, tuple[str, ...]]] = {
        "now, one process": (args.now, ("--workers", "1")),
        f"now, {cores} workers": (args.now, ("--workers", str(cores))),
    }
    if args.before is not None:
        versions = {"before": (args.before, ()), **versions}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.trees == "gsm8k":
            big = build_gsm8k(folder, "big", args.problems)
            build_gsm8k(folder, "small", args.small)
        else:
            big = build(folder, "big", args.problems, args.before)
            build(folder, "small", args.small, args.before)
        nodes = sum(len(tree.nodes) for tree in big.trees()) / args.problems
        times: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for _ in range(args.repeat):
            for version, (source, extra) in versions.items():
                for run in ("small", "big"):
                    took = export_command(folder, run, source, extra)
                    times.setdefault((version, run), []).append(took)
        wall = {key: statistics.median(t[0] for t in found) for key, found in times.items()}
        cpu = {key: statistics.median(t[1] for t in found) for key, found in times.items()}
        counts = {"small": args.small, "big": args.problems}
        print(
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end; "
            f"{nodes:.1f} nodes a tree; medians of {args.repeat}"
        )
        print()
        print("| `journeygen export` | trees | journey rows | shortcut rows | wall s | CPU s |")
        print("|---|---:|---:|---:|---:|---:|")
        extra = args.problems - args.small
        for version in versions:
            for run in ("small", "big"):
                key = (version, run)
                print(
                    f"| {version}, {run} run | {counts[run]} | "
                    f"{rows_of(folder, run, 'journey')} | {rows_of(folder, run, 'shortcut')} | "
                    f"{wall[key]:.2f} | {cpu[key]:.2f} |"
                )
            big_key, small_key = (version, "big"), (version, "small")
            print(
                f"| **{version}: trees/s past start-up** | {extra} more | | | "
                f"**{extra / (wall[big_key] - wall[small_key]):.0f}** (wall) | "
                f"**{extra / (cpu[big_key] - cpu[small_key]):.0f}** (CPU) |"
            )
        print()
        print(
            f"In process (this checkout), {args.problems} trees, CPU s (fastest of {args.repeat}):"
        )
        print()
        print("| part | CPU s | ms a tree |")
        print("|---|---:|---:|")
        for part, seconds in split(big, args.repeat).items():
            print(f"| {part} | {seconds:.3f} | {1000 * seconds / args.problems:.2f} |")
    print(f"\n({time.perf_counter() - began:.0f} s in all)")


if __name__ == "__main__":
    main()
