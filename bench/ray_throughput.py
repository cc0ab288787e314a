"""Benchmark: requests/s of `generate --executor ray` at 1, 2 and 4 workers (each with the
same per-worker concurrency) against the bound (requests in flight ÷ delay) and against the
single-process runtime, at one worker's concurrency and at all workers' together, on the
local stub server (tests/stub_server.py, its own process, answering every request after a
fixed delay).

Each run is a fresh run (not a resume) of beam search (width 2, keep 1, depth 3) over about
`--calls-per-slot` requests per request slot. Requests/s are read over the request phase
(first request to last answer, as the driver's stack sees them) and over the whole run
(`generate`, without joining the cluster); starting the workers is timed on its own, and so
is the CPU the driver's process spends per request (for one process: search, HTTP and all;
for Ray: the runtime stack, Ray's messages, saving trees), which bounds what one driver
serves. The single-process row at the same concurrency as one worker gives Ray's overhead.

Run: `RAY_ADDRESS=127.0.0.1:6379 .venv/bin/python bench/ray_throughput.py [--delay 0.2]
[--concurrency 16] [--workers 1,2,4] [--repeat 1]` (without RAY_ADDRESS, Ray's own rules:
a cluster started here with `ray start`, else a new local one).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from remote_throughput import ROOT, RequestClock, problems_file

from journeygen.backends.build import BackendSpec
from journeygen.config import BackendConfig, RunConfig, SearchConfig
from journeygen.executors.local import generate
from journeygen.executors.ray.driver import RayCluster
from journeygen.executors.ray.worker import WorkerSpec
from journeygen.executors.searching import Executor
from journeygen.prompts import load_prompts
from journeygen.runtime import RuntimeOptions
from journeygen.runtime.loop import run_batch

Row = tuple[float, float, int, float, float]  # run/s, phase/s, requests, start-up s, CPU ms


def config(base_url: str) -> RunConfig:
    return RunConfig(
        backend=BackendConfig(name="openai", model="stub", base_url=base_url),
        search=SearchConfig(width=2, keep=1, depth=3, reference_path="never"),
    )


def one_run(base_url: str, folder: Path, workers: int, per_worker: int, slot_calls: int) -> Row:
    """One fresh run; `workers` 0 is the single-process runtime."""
    slots = max(workers, 1) * per_worker
    count = max(12, slot_calls * slots // 3)  # at most 3 requests per tree, one after another
    run_config = config(base_url)
    started = time.perf_counter()
    cluster: RayCluster | None = None
    if workers:
        spec = WorkerSpec(
            config=run_config.model_dump_json(),
            prompts=load_prompts(),
            policy=BackendSpec("openai", "stub", base_url, run_config.seed, 30.0, 2),
        )
        cpus = min(1.0, float(os.cpu_count() or 1) / workers)
        cluster = RayCluster.start(spec, workers=workers, concurrency=per_worker, cpus=cpus)
        inner = cluster.backend("policy", "openai")
    else:
        inner = BackendSpec("openai", "stub", base_url, run_config.seed, 30.0, 2).build()
    start_up = time.perf_counter() - started
    clock = RequestClock(inner)
    executor: Executor | None = cluster

    async def timed() -> tuple[int, float, float]:
        began, cpu = time.perf_counter(), time.process_time()
        summary = await generate(
            problems_file(folder, count),
            run=f"w{workers}",
            config=run_config,
            backend=clock,
            prompts=load_prompts(),
            trees_dir=folder / "trees",
            out_dir=folder / "out",
            runtime=RuntimeOptions(concurrency=slots),
            executor=executor,
        )
        await clock.aclose()
        cpu_ms = (time.process_time() - cpu) * 1000 / summary.usage.calls
        return summary.usage.calls, time.perf_counter() - began, cpu_ms

    try:
        calls, elapsed, cpu_ms = run_batch(timed())
    finally:
        if cluster is not None:
            cluster.shutdown()
    return calls / elapsed, calls / (clock.last - clock.first), calls, start_up, cpu_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--delay", type=float, default=0.2, help="server delay in seconds")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight a worker")
    parser.add_argument("--workers", default="1,2,4", help="numbers of Ray workers")
    parser.add_argument("--calls-per-slot", type=int, default=30, help="run length")
    parser.add_argument("--repeat", type=int, default=1, help="runs per row; medians shown")
    args = parser.parse_args()
    workers = [int(x) for x in args.workers.split(",")]
    # one process at one worker's concurrency (Ray's overhead) and at the most workers' total
    plans = [(0, args.concurrency), (0, args.concurrency * max(workers))]
    plans += [(count, args.concurrency) for count in workers]
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "stub_server.py"), str(args.delay)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None and server.stdin is not None
    base_url = server.stdout.readline().strip()
    runs: dict[tuple[int, int], list[Row]] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for _ in range(args.repeat):  # rows interleaved: a slow minute hits all of them
                for plan in plans:
                    folder = Path(tempfile.mkdtemp(dir=tmp))
                    row = one_run(base_url, folder, *plan, args.calls_per_slot)
                    runs.setdefault(plan, []).append(row)
    finally:
        server.stdin.close()
        server.wait(10)
    print(f"server delay {args.delay * 1000:.0f} ms; {args.concurrency} requests in flight a "
          f"worker; bound = workers x concurrency / delay")  # fmt: skip
    print(f"CPU cores {os.cpu_count()}, load average {os.getloadavg()[0]:.1f} at the end; "
          f"median of {args.repeat} run(s) per row")  # fmt: skip
    print("| executor | workers | in flight | requests | requests/s whole run | requests/s "
          "request phase | bound | achieved/bound | start-up s | driver CPU ms/request |"
          )  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (count, concurrency), rows in runs.items():
        columns = zip(*rows, strict=True)
        whole, phase, calls, start_up, cpu_ms = (statistics.median(c) for c in columns)
        slots = max(count, 1) * concurrency
        bound = slots / args.delay
        name = "ray" if count else "one process"
        print(f"| {name} | {count or '-'} | {slots} | {calls:.0f} | {whole:.1f} | {phase:.1f} | "
              f"{bound:.0f} | {phase / bound:.0%} | {start_up:.1f} | {cpu_ms:.2f} |")  # fmt: skip


if __name__ == "__main__":
    main()
