"""Benchmark 9: every request through the runtime, requests inside a tree at once, and the
whole run against its request phase (issue 11).

A local OpenAI-compatible server (`tests/stub_server.py`, its own process, unlimited
concurrency, a fresh one per run) answers every request after a fixed delay; whole
`generate` runs (search, judging, LLM texts, saving, export) go to it over the openai SDK,
GSM8K problems from `../shared/data/gsm8k_test.jsonl`, default search settings unless said.

- `texts`: 100 problems at concurrency 32, 0.2 s a request, with LLM reflections
  (`--reflection-sources llm,phrase`) and with rewrites too (`--linearize rewrite`).
- `wide`: 4 problems, concurrency 32, 0.2 s, beam `--width 4 --keep 4 --depth 3` and MCTS
  with and without `parallel_simulations`: requests in flight (the stack's
  `limits.in_flight`, sampled every 5 ms over the request phase).
- `tail`: 300 problems at concurrency 64, 0.5 s: requests/s over the whole `generate` call
  (first pass, stack, trees, texts, export) and over its request phase (first request to
  last answer), where the slots stood idle and how often the event loop was held up; the
  pool as it is next to the pool as it was (one open tree a slot to the end, slots first
  come), rows interleaved; over HTTP, then the same number of requests through 64 plain
  loops (no journeygen work, no tail), through the openai SDK as `generate` sends them and
  through bare aiohttp: the transport's ceiling.

Requests are counted by the server (every answered request) and by the run's manifest.
Run: `.venv/bin/python bench/run_phases.py [--sections texts,wide,tail] [--repeat 1]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from remote_throughput import RequestClock, SleepBackend

from journeygen.backends.base import Backend, ChatMessage, SamplingOptions
from journeygen.backends.openai_backend import OpenAIBackend
from journeygen.config import BackendConfig, JourneyConfig, RunConfig, SearchConfig
from journeygen.derive.texts import TEXTS_FILE
from journeygen.executors import pool
from journeygen.executors.local import Resume, generate
from journeygen.prompts import load_prompts
from journeygen.runtime import RuntimeOptions, Stack
from journeygen.runtime.limits import Slots
from journeygen.runtime.loop import run_batch

ROOT = Path(__file__).resolve().parent.parent
GSM8K = ROOT.parent / "shared" / "data" / "gsm8k_test.jsonl"
SAMPLE_S = 0.005
BEFORE = "before: one tree a slot, first come"
NOW = "now: last problems opened at once, fewest answers first"
HTTP = True  # --no-http: an in-process backend with the same answers and delay


class Server:
    """`tests/stub_server.py` in a child process; `close()` returns what it answered."""

    def __init__(self, delay: float) -> None:
        code = (
            "import sys, json; sys.path.insert(0, sys.argv[1]); from stub_server import "
            "StubServer\nwith StubServer(delay=float(sys.argv[2])).serve() as s:\n"
            "    print(s.base_url, flush=True); sys.stdin.read()\n"
            "    print(json.dumps({'answered': sum(s.answered.values()), "
            "'repeats': s.repeats()}), flush=True)"
        )
        self.process = subprocess.Popen(
            [sys.executable, "-c", code, str(ROOT / "tests"), str(delay)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.base_url = self.process.stdout.readline().strip()

    def close(self) -> dict[str, int]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.close()
        counts: dict[str, int] = json.loads(self.process.stdout.readline())
        self.process.wait(10)
        return counts


@dataclass
class Result:
    """One run's figures."""

    whole_s: float
    phase_s: float
    answered: int
    repeats: int
    calls: int
    texts: int
    samples: list[tuple[float, int]] = field(default_factory=list)  # (time, in flight)
    spans: list[tuple[float, float]] = field(default_factory=list)  # (sent, answered)
    concurrency: int = 1
    first: float = 0.0
    last: float = 0.0
    started: float = 0.0

    def in_flight(self) -> tuple[int, float]:
        """Peak and mean requests in flight over the request phase."""
        inside = [n for t, n in self.samples if self.first <= t <= self.last]
        return max(inside, default=0), statistics.fmean(inside) if inside else 0.0

    def drain(self) -> tuple[float, float]:
        """The run's last stretch with fewer than 90% of the slots busy: seconds, and the share
        of slots idle over it."""
        busy = [t for t, n in self.samples if n >= 0.9 * self.concurrency and t <= self.last]
        since = max(busy, default=self.first)
        inside = [n for t, n in self.samples if since <= t <= self.last]
        mean = statistics.fmean(inside) if inside else 0.0
        return self.last - since, 1 - mean / self.concurrency

    def tenths(self, parts: int = 10) -> list[tuple[float, float]]:
        """The request phase cut into `parts` equal (start, end) stretches."""
        span = (self.last - self.first) / parts
        return [(self.first + i * span, self.first + (i + 1) * span) for i in range(parts)]

    def busy(self, parts: int = 10) -> list[float]:
        """Share of the slot time the backend held a request, by tenth of the request phase,
        from each request's own times. The in-flight samples come from a task on the same
        event loop, so they miss the moments the loop is busy with a burst of answers."""
        shares = []
        for low, high in self.tenths(parts):
            held = sum(max(0.0, min(end, high) - max(sent, low)) for sent, end in self.spans)
            shares.append(held / ((high - low) * self.concurrency))
        return shares

    def latency(self) -> float:
        """Mean seconds from a request's send to its answer, at the backend."""
        return statistics.fmean(end - sent for sent, end in self.spans) if self.spans else 0.0

    def stalls(self, over_s: float = 0.010) -> tuple[int, float]:
        """Event-loop stalls over the request phase: how many times the in-flight sampler
        (due every 5 ms) was held up more than `over_s`, and the seconds they held it in all.
        While the loop is held no answer is read and no request is sent."""
        times = [t for t, _ in self.samples if self.first <= t <= self.last]
        late = [b - a - SAMPLE_S for a, b in itertools.pairwise(times)]
        held = [x for x in late if x > over_s]
        return len(held), sum(held)

    def idle(self, parts: int = 10) -> list[float]:
        """Share of the slots idle in each tenth of the request phase."""
        shares = []
        for low, high in self.tenths(parts):
            inside = [n for t, n in self.samples if low <= t < high]
            mean = statistics.fmean(inside) if inside else 0.0
            shares.append(1 - mean / self.concurrency)
        return shares


def problems(folder: Path, count: int) -> Path:
    path = folder / f"gsm8k-{count}.jsonl"
    with GSM8K.open(encoding="utf-8") as source:
        path.write_text("".join(next(source) for _ in range(count)), encoding="utf-8")
    return path


async def one_run(
    folder: Path,
    base_url: str | None,
    count: int,
    concurrency: int,
    config: RunConfig,
    delay: float,
) -> Result:
    inner: Backend = (
        OpenAIBackend("stub", base_url=base_url, timeout=60) if base_url else SleepBackend(delay)
    )
    clock = RequestClock(inner)
    samples: list[tuple[float, int]] = []
    sampler: list[asyncio.Task[None]] = []

    async def sample(stack: Stack) -> None:
        while True:
            samples.append((time.perf_counter(), stack.limits.in_flight))
            await asyncio.sleep(SAMPLE_S)

    def on_start(total: int, stack: Stack, resume: Resume | None) -> None:
        sampler.append(asyncio.get_running_loop().create_task(sample(stack)))

    path = problems(folder, count)
    started = time.perf_counter()
    summary = await generate(
        path,
        run="bench",
        config=config.model_copy(
            update={"backend": BackendConfig(name="openai", model="stub", base_url=base_url or "x")}
        ),
        backend=clock,
        prompts=load_prompts(),
        trees_dir=folder / "trees",
        out_dir=folder / "outputs",
        runtime=RuntimeOptions(concurrency=concurrency),
        on_start=on_start,
    )
    whole = time.perf_counter() - started
    for task in sampler:
        task.cancel()
    await clock.aclose()
    texts_file = folder / "trees" / "bench" / TEXTS_FILE
    texts = len(texts_file.read_text().splitlines()) if texts_file.is_file() else 0
    return Result(
        whole_s=whole,
        phase_s=clock.last - clock.first,
        answered=0,
        repeats=0,
        calls=summary.usage.calls,
        texts=texts,
        samples=samples,
        spans=clock.spans,
        concurrency=concurrency,
        first=clock.first,
        last=clock.last,
        started=started,
    )


def measure(count: int, concurrency: int, delay: float, config: RunConfig) -> Result:
    if not HTTP:
        with tempfile.TemporaryDirectory() as tmp:
            result = run_batch(one_run(Path(tmp), None, count, concurrency, config, delay))
        result.answered = result.calls  # no server to count: the manifest's calls
        return result
    server = Server(delay)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            run = one_run(Path(tmp), server.base_url, count, concurrency, config, delay)
            result = run_batch(run)
    finally:
        counts = server.close()
    result.answered, result.repeats = counts["answered"], counts["repeats"]
    return result


def settings(**journey: Any) -> RunConfig:
    return RunConfig(journey=JourneyConfig.model_validate(journey))


def rate_row(name: str, results: list[Result], concurrency: int, delay: float) -> str:
    bound = concurrency / delay
    whole = statistics.median(r.answered / r.whole_s for r in results)
    phase = statistics.median(r.answered / r.phase_s for r in results)
    first = results[0]
    return (
        f"| {name} | {first.answered} | {first.texts} | {first.calls} | {first.repeats} | "
        f"{whole:.1f} | {phase:.1f} | {bound:.0f} | {whole / bound:.0%} | {phase / bound:.0%} |"
    )


def texts_section(repeat: int) -> None:
    print("### LLM texts: 100 GSM8K problems, concurrency 32, 0.2 s a request (bound 160/s)")
    print()
    print(
        "| run | requests (server) | texts | manifest calls | answered twice | requests/s whole "
        "run | requests/s request phase | bound | whole/bound | phase/bound |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(
        "| before (issue 11): reflections one at a time after the trees "
        "| 847 | | 700 | | 22 | | 160 | 14% | |"
    )
    runs = {
        "reflections `--reflection-sources llm,phrase`": settings(
            reflection_sources=["llm", "phrase"]
        ),
        "rewrites `... --linearize rewrite`": settings(
            reflection_sources=["llm", "phrase"], linearize="rewrite"
        ),
    }
    results: dict[str, list[Result]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, config in runs.items():
            results[name].append(measure(100, 32, 0.2, config))
    for name, found in results.items():
        print(rate_row(name, found, 32, 0.2))
    print()


def wide_section(repeat: int) -> None:
    print("### Requests in flight: 4 problems, concurrency 32, 0.2 s a request")
    print()
    print("| run | requests (server) | peak in flight | mean in flight | request phase s |")
    print("|---|---:|---:|---:|---:|")
    print("| before (issue 11): beam, a tree asks one thing at a time | | 4 | | |")
    runs = {
        "beam `--width 4 --keep 4 --depth 3`": SearchConfig(width=4, keep=4, depth=3),
        "mcts width 4, depth 3, 32 simulations": SearchConfig(
            strategy="mcts", width=4, depth=3, simulations=32
        ),
        "the same, `parallel_simulations: 4`": SearchConfig(
            strategy="mcts", width=4, depth=3, simulations=32, parallel_simulations=4
        ),
    }
    for _ in range(repeat):
        for name, search in runs.items():
            result = measure(4, 32, 0.2, RunConfig(search=search))
            peak, mean = result.in_flight()
            print(
                f"| {name} | {result.answered} | {peak} | {mean:.1f} | {result.phase_s:.1f} |",
            )
    print()


@contextlib.contextmanager
def one_tree_a_slot_first_come() -> Iterator[None]:
    """The pool as it was before: one open tree per request slot to the end, slots served
    first come (every request the same priority), to measure it side by side with the pool
    now."""
    trees_per_slot, acquire = pool.TREES_PER_SLOT, Slots.acquire

    async def first_come(self: Slots, priority: int) -> None:
        await acquire(self, 0)

    pool.TREES_PER_SLOT = 1
    Slots.acquire = first_come  # type: ignore[method-assign]
    try:
        yield
    finally:
        pool.TREES_PER_SLOT = trees_per_slot
        Slots.acquire = acquire  # type: ignore[method-assign]


async def plain_loops(base_url: str, requests: int, concurrency: int, client: str) -> float:
    """Seconds from the first request to the last answer of `concurrency` plain loops that
    share `requests` distinct requests, each loop sending its next one when its answer is in:
    no search, judging, cache or limits. `client` is `sdk` (`OpenAIBackend`: the openai
    SDK's `client.post` over aiohttp, the transport `generate` uses) or `aiohttp` (bare)."""
    shares = [requests // concurrency + (i < requests % concurrency) for i in range(concurrency)]
    options = SamplingOptions(seed=0)
    backend = OpenAIBackend("stub", base_url=base_url, timeout=60) if client == "sdk" else None

    async def loop(session: aiohttp.ClientSession, slot: int, share: int) -> None:
        for index in range(share):
            messages: list[ChatMessage] = [{"role": "user", "content": f"loop {slot} {index}"}]
            if backend is not None:
                await backend.complete(messages, options)
            else:
                body = {"model": "stub", "messages": messages, "seed": 0}
                async with session.post(f"{base_url}/chat/completions", json=body) as reply:
                    await reply.json()

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(loop(session, i, share) for i, share in enumerate(shares)))
        took = time.perf_counter() - started
    if backend is not None:
        await backend.aclose()
    return took


def ceiling_rows(repeat: int, requests: int, delay: float) -> list[str]:
    """The same number of requests at 64 slots through plain loops: what the transport and
    the stub allow on this machine with no journeygen work and no tail."""
    rows = []
    for client, name in (
        ("sdk", "plain loops, openai SDK (`client.post`)"),
        ("aiohttp", "plain loops, bare aiohttp"),
    ):
        rates = []
        for _ in range(repeat):
            server = Server(delay)
            try:
                took = run_batch(plain_loops(server.base_url, requests, 64, client))
            finally:
                server.close()
            rates.append(requests / took)
        rate, bound = statistics.median(rates), 64 / delay
        rows.append(
            f"| {name} | {requests} | | | | | {rate:.1f} | {bound:.0f} | | {rate / bound:.0%} |"
        )
    return rows


def tail_section(repeat: int, count: int, delay: float) -> None:
    print(f"### Whole run vs request phase: {count} GSM8K problems, concurrency 64, {delay} s")
    print()
    print(
        "| run | requests (server) | texts | manifest calls | answered twice | requests/s whole "
        "run | requests/s request phase | bound | whole/bound | phase/bound |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    found: dict[str, list[Result]] = {BEFORE: [], NOW: []}
    for _ in range(repeat):  # rows interleaved: a slow minute hits both
        with one_tree_a_slot_first_come():
            found[BEFORE].append(measure(count, 64, delay, RunConfig()))
        found[NOW].append(measure(count, 64, delay, RunConfig()))
    for name, results in found.items():
        print(rate_row(name, results, 64, delay))
    if HTTP:
        for row in ceiling_rows(repeat, found[NOW][0].answered, delay):
            print(row)
    print()
    for name, results in found.items():
        for result in results:
            idle = " · ".join(f"{share:.0%}" for share in result.idle())
            drain, idle_share = result.drain()
            print(
                f"- {name}: the last {drain:.1f} s under 90% of the slots busy ({idle_share:.0%} "
                f"idle there); {result.first - result.started:.1f} s before the first request, "
                f"{result.started + result.whole_s - result.last:.1f} s after the last answer; "
                f"slots idle by tenth of the request phase ({result.phase_s:.1f} s): {idle}"
            )
            stalls, stalled = result.stalls()
            print(f"  event loop held over 10 ms: {stalls} times, {stalled * 1000:.0f} ms in all")
            shares, latency = result.busy(), result.latency()
            busy = " · ".join(f"{share:.0%}" for share in shares)
            held, pace = statistics.fmean(shares), delay / latency
            print(
                f"  from request times: slot time held by the backend by tenth: {busy}; "
                f"{latency * 1000:.1f} ms a request ({delay * 1000:.0f} at the server); "
                f"phase/bound = held {held:.1%} x {delay * 1000:.0f}/{latency * 1000:.1f} ms "
                f"{pace:.1%} = {held * pace:.1%}"
            )
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sections", default="texts,wide,tail")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--tail-problems", type=int, default=300)
    parser.add_argument("--tail-delay", type=float, default=0.5)
    parser.add_argument("--no-http", action="store_true", help="in-process backend, no server")
    args = parser.parse_args()
    global HTTP
    HTTP = not args.no_http
    began = time.perf_counter()
    sections = args.sections.split(",")
    mode = "over HTTP to the stub server" if HTTP else "in process, no HTTP (--no-http)"
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start; {mode}")
    print()
    if "texts" in sections:
        texts_section(args.repeat)
    if "wide" in sections:
        wide_section(args.repeat)
    if "tail" in sections:
        tail_section(args.repeat, args.tail_problems, args.tail_delay)
    print(
        f"load average {os.getloadavg()[0]:.1f} at the end; "
        f"{time.perf_counter() - began:.0f} s in all"
    )


if __name__ == "__main__":
    main()
