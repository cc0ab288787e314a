"""Benchmark 2: requests/s of tree search against a remote server, vs concurrency ÷ delay.

A local OpenAI-compatible server (tests/stub_server.py, its own process, unlimited
concurrency) answers every request after a fixed delay. We measure a plain sequential loop
of requests, then whole `generate` runs (beam search, judging, saving, the request cache and
limits) at several `--concurrency` values, and print achieved requests/s next to the bound
concurrency ÷ delay. The "no HTTP" rows replace the server and the openai SDK by an
in-process backend with the same delay and answers, which separates the runtime's own cost
from the SDK's (client CPU per request is what caps requests/s on a busy machine).

Each run sends about `--calls-per-slot` requests per request slot, so the start (the first
`concurrency` requests leave together and their answers come back together) and the tail (the
last trees finish one by one) weigh little; `--repeat` runs everything again and reports
medians, for a shared machine whose speed drifts from minute to minute.

Run: `.venv/bin/python bench/remote_throughput.py [--delay 0.2] [--levels 1,8,64] [--repeat 3]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from journeygen.backends.base import Backend, ChatMessage, Completion, SamplingOptions
from journeygen.backends.openai_backend import OpenAIBackend
from journeygen.config import BackendConfig, RunConfig, SearchConfig
from journeygen.executors.local import generate
from journeygen.models import Usage
from journeygen.prompts import load_prompts
from journeygen.runtime import RuntimeOptions
from journeygen.runtime.loop import run_batch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from stub_server import answer_text  # noqa: E402


def problems_file(folder: Path, count: int) -> Path:
    path = folder / f"problems-{count}.jsonl"
    rows = (
        {"id": f"p{i}", "question": f"Tom has {i} apples and buys 3 more. How many?", "answer": "8"}
        for i in range(count)
    )
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


async def sequential(base_url: str, requests: int) -> float:
    """Requests/s of a plain loop: one request, wait for the answer, the next."""
    backend = OpenAIBackend("stub", base_url=base_url)
    messages: list[ChatMessage] = [{"role": "user", "content": "What is 2 + 2?"}]
    started = time.perf_counter()
    for seed in range(requests):
        await backend.complete(messages, SamplingOptions(n=2, seed=seed))
    elapsed = time.perf_counter() - started
    await backend.aclose()
    return requests / elapsed


class SleepBackend:
    """The stub server's answers and delay without HTTP: isolates the runtime's own cost."""

    name = "openai"

    def __init__(self, delay: float) -> None:
        self.delay = delay

    async def complete(
        self, messages: list[ChatMessage], options: SamplingOptions
    ) -> list[Completion]:
        await asyncio.sleep(self.delay)
        plain = [dict(m) for m in messages]
        return [
            Completion(
                text=answer_text(plain, options.seed, i),
                finish_reason="stop",
                usage=Usage(calls=int(i == 0), prompt_tokens=10, completion_tokens=10),
            )
            for i in range(options.n)
        ]

    async def aclose(self) -> None:
        pass


class RequestClock:
    """Wraps a backend and notes when its first request left and its last answer came,
    so requests/s can be read over the request phase alone (without start-up and export),
    and each request's (sent, answered) times."""

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.name = inner.name
        self.first = float("inf")
        self.last = 0.0
        self.spans: list[tuple[float, float]] = []

    async def complete(
        self, messages: list[ChatMessage], options: SamplingOptions
    ) -> list[Completion]:
        sent = time.perf_counter()
        self.first = min(self.first, sent)
        try:
            return await self.inner.complete(messages, options)
        finally:
            self.last = time.perf_counter()
            self.spans.append((sent, self.last))

    async def aclose(self) -> None:
        await self.inner.aclose()


async def tree_search(
    base_url: str,
    folder: Path,
    concurrency: int,
    calls_per_slot: int,
    backend: Backend | None = None,
) -> tuple[float, float, int, float]:
    """Requests/s of a whole `generate` run at `concurrency` (over the whole run, and over
    its request phase), how many requests it sent and the client's CPU milliseconds per
    request (what caps requests/s on a busy machine)."""
    # beam width 2, keep 1, depth 3: at most 3 requests per tree, one after the other
    count = max(12, calls_per_slot * concurrency // 3)
    config = RunConfig(
        backend=BackendConfig(name="openai", model="stub", base_url=base_url),
        search=SearchConfig(width=2, keep=1, depth=3, reference_path="never"),
    )
    clock = RequestClock(backend or OpenAIBackend("stub", base_url=base_url, timeout=30))
    started = time.perf_counter()
    cpu = time.process_time()
    summary = await generate(
        problems_file(folder, count),
        run=f"{clock.name}-{type(clock.inner).__name__}-c{concurrency}",
        config=config,
        backend=clock,
        prompts=load_prompts(),
        trees_dir=folder / "trees",
        out_dir=folder / "outputs",
        runtime=RuntimeOptions(concurrency=concurrency),
    )
    elapsed = time.perf_counter() - started
    cpu_ms = (time.process_time() - cpu) * 1000 / summary.usage.calls
    await clock.aclose()
    calls = summary.usage.calls
    return calls / elapsed, calls / (clock.last - clock.first), calls, cpu_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--delay", type=float, default=0.2, help="server delay in seconds")
    parser.add_argument("--levels", default="1,8,64", help="concurrency values")
    parser.add_argument("--calls-per-slot", type=int, default=100, help="run length")
    parser.add_argument("--repeat", type=int, default=1, help="runs per row; medians shown")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "stub_server.py"), str(args.delay)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None and server.stdin is not None
    base_url = server.stdout.readline().strip()
    runs: dict[tuple[str, int], list[tuple[float, float, int, float]]] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            seq = statistics.median(run_batch(sequential(base_url, 20)) for _ in range(args.repeat))
            for _ in range(args.repeat):  # rows interleaved: a slow minute hits all of them
                for mode in ("generate, HTTP", "generate, no HTTP"):
                    for level in levels:
                        inner = SleepBackend(args.delay) if "no HTTP" in mode else None
                        folder = Path(tempfile.mkdtemp(dir=tmp))  # a fresh run, not a resume
                        run = tree_search(base_url, folder, level, args.calls_per_slot, inner)
                        runs.setdefault((mode, level), []).append(run_batch(run))
    finally:
        server.stdin.close()
        server.wait(10)
    print(f"server delay {args.delay * 1000:.0f} ms; bound = concurrency / delay")
    print(
        f"CPU cores {os.cpu_count()}, load average {os.getloadavg()[0]:.1f} at the end; "
        f"median of {args.repeat} run(s) per row"
    )
    print("requests/s: whole run (start-up, search, export) and request phase (first request")
    print("to last answer); achieved/bound and vs sequential use the request phase")
    print(
        "| mode | concurrency | requests | requests/s whole run | requests/s request phase "
        "| bound | achieved/bound | vs sequential | client CPU ms/request |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    bound = 1 / args.delay
    print(
        f"| sequential loop | 1 | 20 | {seq:.1f} | {seq:.1f} | {bound:.1f} | "
        f"{seq / bound:.0%} | 1.0x | |"
    )
    for (mode, level), results in runs.items():
        columns = zip(*results, strict=True)
        whole, phase, calls, cpu_ms = (statistics.median(column) for column in columns)
        bound = level / args.delay
        ratios = [result[1] / bound for result in results]
        spread = f" ({min(ratios):.0%}-{max(ratios):.0%})" if len(results) > 1 else ""
        print(
            f"| {mode} | {level} | {calls:.0f} | {whole:.1f} | {phase:.1f} | {bound:.1f} | "
            f"{phase / bound:.0%}{spread} | {phase / seq:.1f}x | {cpu_ms:.2f} |"
        )


if __name__ == "__main__":
    main()
