"""`generate --executor ray` on a real local Ray cluster (`ray start --head` on 127.0.0.1 with
2 CPUs, joined through RAY_ADDRESS), against the local stub OpenAI server and the embedded
model: the same bytes as one process at 1 and 2 workers, a driver killed with SIGKILL then
rerun, a worker process killed mid-run, and a dollar budget that holds across workers."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from stub_server import StubServer
from test_faults import files, text_lines, write_problems

from journeygen.backends.build import make_backend
from journeygen.cli.executor_options import Placement, RayRun, start_ray
from journeygen.cli.runtime_options import RunSettings
from journeygen.config import (
    BackendConfig,
    CriticConfig,
    JourneyConfig,
    RunConfig,
    SearchConfig,
)
from journeygen.executors.local import RunSummary, generate
from journeygen.models import Usage
from journeygen.prompts import load_prompts
from journeygen.runtime import Price, RuntimeOptions, load_prices
from journeygen.store import RunStore

# On Linux, Ray turns 127.0.0.1 into the machine's outward address; as it does on macOS, the
# first keeps a one-node cluster (and every connection to it) on the loopback interface. The
# test cluster asks for a token of this session, whatever ~/.ray holds. Ray reads these once,
# when imported: so here, before the import (the cluster, drivers and workers inherit them).
LOOPBACK = {
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    "RAY_AUTH_MODE": "token",
    "RAY_AUTH_TOKEN": secrets.token_hex(16),
}
os.environ.update(LOOPBACK)
ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'journeygen[ray]'")
pytestmark = [
    pytest.mark.ray,
    # Ray 2.55's `ray.init` warns of a change to come in GPU visibility (not used here)
    pytest.mark.filterwarnings("ignore:Tip:FutureWarning"),
]
PER_WORKER = 3  # requests in flight per worker
PROBLEMS = 12
PRICES = {"stub": Price(input=1000.0, output=1000.0)}  # $0.001 a token
TEXTS = JourneyConfig(reflection_sources=["llm", "phrase"], linearize="rewrite")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def ray_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A one-node cluster of 2 CPUs for the session; this process joins it as a driver.
    `ray start --block` owns the cluster's processes: stopping it stops them (and no other
    cluster on the machine, as `ray stop` would)."""
    port = _free_port()
    log = tmp_path_factory.mktemp("ray") / "ray-start.log"
    command = [
        str(Path(sys.executable).with_name("ray")), "start", "--head", "--block",
        "--node-ip-address", "127.0.0.1", "--port", str(port), "--num-cpus", "2",
        "--include-dashboard=false", "--disable-usage-stats",
        "--object-store-memory", str(200 * 2**20),
        "--dashboard-agent-listen-port", str(_free_port()),
    ]  # fmt: skip
    saved = os.environ.get("RAY_ADDRESS")
    with log.open("wb") as sink:
        head = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while "Ray runtime started" not in log.read_text(errors="replace"):
            assert head.poll() is None, log.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "ray start: no cluster after 120 s"
            time.sleep(0.5)
        os.environ["RAY_ADDRESS"] = address
        ray.init(logging_level="WARNING")  # through RAY_ADDRESS, as a user's driver would
        assert ray.get_runtime_context().gcs_address == address
        yield address
    finally:
        ray.shutdown()
        head.send_signal(signal.SIGTERM)  # drains, then stops raylet, GCS and the workers
        try:
            head.wait(60)
        except subprocess.TimeoutExpired:
            head.kill()
            head.wait()
        if saved is None:
            os.environ.pop("RAY_ADDRESS", None)
        else:
            os.environ["RAY_ADDRESS"] = saved


@pytest.fixture(scope="module")
def server() -> Iterator[StubServer]:
    with StubServer(delay=0.03).serve() as stub:
        yield stub


def stub_config(server: StubServer, journey: JourneyConfig = TEXTS) -> RunConfig:
    return RunConfig(
        seed=7,
        backend=BackendConfig(name="openai", model="stub", base_url=server.base_url),
        search=SearchConfig(width=2, keep=1, depth=3, reference_path="never"),
        journey=journey,
    )


def settings(runtime: RuntimeOptions) -> RunSettings:
    return RunSettings(
        runtime=runtime, prices=load_prices(), fresh=False, timeout=30.0, max_retries=2
    )


Meanwhile = Callable[[RayRun, "asyncio.Task[RunSummary]"], Awaitable[None]]


async def run_on_ray(
    folder: Path,
    config: RunConfig,
    workers: int,
    runtime: RuntimeOptions,
    problems: Path,
    meanwhile: Meanwhile | None = None,
) -> tuple[RunSummary, RayRun]:
    """What `generate --executor ray --workers N` does, in this process; `meanwhile` runs
    beside it (to kill a worker, say)."""
    prompts = load_prompts()
    placement = Placement(executor="ray", workers=workers, cpus=0.5)
    ray_run = start_ray(placement, config, settings(runtime), prompts)
    try:
        run = asyncio.create_task(
            generate(
                problems,
                run="r",
                config=config,
                backend=ray_run.backend,
                prompts=prompts,
                trees_dir=folder / "trees",
                out_dir=folder / "out",
                runtime=ray_run.runtime,
                critic=ray_run.critic,
                executor=ray_run.cluster,
            )
        )
        if meanwhile is not None:
            await meanwhile(ray_run, run)
        summary = await run
    finally:
        ray_run.cluster.shutdown()
    return summary, ray_run


async def run_here(folder: Path, config: RunConfig, problems: Path) -> RunSummary:
    """The same run in this process (the CLI's way to build its models)."""
    spec = settings(RuntimeOptions())
    backend = spec.backend(config.backend, config.seed).build()
    named = config.critic_backend()
    critic = spec.backend(named, config.seed).build() if named is not None else None
    try:
        return await generate(
            problems,
            run="r",
            config=config,
            backend=backend,
            prompts=load_prompts(),
            trees_dir=folder / "trees",
            out_dir=folder / "out",
            runtime=RuntimeOptions(concurrency=PER_WORKER),
            critic=critic,
        )
    finally:
        await backend.aclose()
        if critic is not None:
            await critic.aclose()


@pytest.fixture(scope="module")
def single(server: StubServer, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """The run in one process, and how many requests it paid."""
    folder = tmp_path_factory.mktemp("single")
    problems = write_problems(folder / "r.jsonl", PROBLEMS)
    server.reset()
    asyncio.run(run_here(folder, stub_config(server), problems))
    assert server.repeats() == 0
    return folder, sum(server.answered.values())


def same_run(folder: Path, single: Path) -> None:
    assert files(folder / "trees") == files(single / "trees")
    assert files(folder / "out") == files(single / "out")
    assert files(single / "out")  # compared something
    assert text_lines(folder / "trees/r") == text_lines(single / "trees/r")


@pytest.mark.parametrize("workers", [1, 2])
async def test_trees_and_exports_are_the_bytes_of_one_process(
    ray_address: str,
    server: StubServer,
    single: tuple[Path, int],
    tmp_path: Path,
    workers: int,
) -> None:
    single_dir, paid = single
    problems = write_problems(tmp_path / "r.jsonl", PROBLEMS)
    server.reset()
    runtime = RuntimeOptions(concurrency=PER_WORKER)
    summary, _ = await run_on_ray(tmp_path, stub_config(server), workers, runtime, problems)
    same_run(tmp_path, single_dir)
    assert server.repeats() == 0
    assert sum(server.answered.values()) == paid == summary.usage.calls  # metered once
    manifest = json.loads((tmp_path / "trees/r/manifest.json").read_text())
    assert manifest["executor"] == {
        "name": "ray",
        "address": ray_address,
        "workers": workers,
        "concurrency": PER_WORKER,
    }
    assert manifest["usage"]["calls"] == paid


async def test_a_dialogue_with_its_own_critic_model_is_the_bytes_of_one_process(
    ray_address: str, server: StubServer, tmp_path: Path
) -> None:
    """The critic's requests go through a stack of their own on the driver, and to the
    critic model each worker loaded beside the run's."""
    problems = write_problems(tmp_path / "r.jsonl", 4)
    config = RunConfig(
        seed=3,
        backend=BackendConfig(name="openai", model="stub", base_url=server.base_url),
        search=SearchConfig(strategy="dialogue", turns=4),
        critic=CriticConfig(backend="openai", model="critic", base_url=server.base_url),
    )
    await run_here(tmp_path / "single", config, problems)
    runtime = RuntimeOptions(concurrency=PER_WORKER)
    summary, _ = await run_on_ray(tmp_path / "ray", config, 2, runtime, problems)
    assert summary.exported["episode"]
    assert files(tmp_path / "ray/trees") == files(tmp_path / "single/trees")
    assert files(tmp_path / "ray/out") == files(tmp_path / "single/out")
    asked: dict[str, list[tuple[str, int, str]]] = {}
    for run in ("single", "ray"):  # the critic's answers, in its own cache, the same ones
        with sqlite3.connect(tmp_path / run / "trees/r/critic-cache.sqlite") as db:
            asked[run] = db.execute("SELECT key, idx, completion FROM samples").fetchall()
            sent = db.execute("SELECT request FROM requests").fetchall()
            assert {json.loads(request)["backend"] for (request,) in sent} == {"openai:critic"}
    assert asked["ray"] and sorted(asked["ray"]) == sorted(asked["single"])


async def test_a_worker_killed_mid_run_costs_only_its_requests_in_flight(
    ray_address: str,
    server: StubServer,
    single: tuple[Path, int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    single_dir, paid = single
    problems = write_problems(tmp_path / "r.jsonl", PROBLEMS)
    written: Counter[str] = Counter()
    write = RunStore.write_tree_json

    def counting(store: RunStore, problem_id: str, text: str) -> Path:
        written[problem_id] += 1
        return write(store, problem_id, text)

    monkeypatch.setattr(RunStore, "write_tree_json", counting)

    async def kill_half_way(ray_run: RayRun, run: asyncio.Task[RunSummary]) -> None:
        deadline = time.monotonic() + 60
        while sum(server.answered.values()) < paid // 2:
            assert not run.done() and time.monotonic() < deadline
            await asyncio.sleep(0.005)
        os.kill(ray_run.cluster.workers[0]["pid"], signal.SIGKILL)

    server.reset()
    runtime = RuntimeOptions(concurrency=PER_WORKER)
    summary, _ = await run_on_ray(
        tmp_path, stub_config(server), 2, runtime, problems, kill_half_way
    )
    assert summary.status == Counter(complete=PROBLEMS)
    same_run(tmp_path, single_dir)
    assert set(written.values()) == {1}  # no tree written twice
    lost = [
        line
        for line in (tmp_path / "trees/r/failures.jsonl").read_text().splitlines()
        if "ray worker 0 lost" in line
    ]
    assert lost and all(json.loads(line)["retried"] for line in lost)
    # answers the driver had cached are replayed; only the worker's calls in flight are asked
    # again (the server answered them, the worker died before handing them back)
    assert server.repeats() <= PER_WORKER
    assert sum(server.answered.values()) <= paid + PER_WORKER


async def test_a_dollar_budget_holds_for_the_whole_run_across_workers(
    ray_address: str, server: StubServer, single: tuple[Path, int], tmp_path: Path
) -> None:
    single_dir, _ = single
    problems = write_problems(tmp_path / "r.jsonl", PROBLEMS)
    server.reset()
    config = stub_config(server)
    budget = 2.0  # dollars; the whole run costs several times that
    runtime = RuntimeOptions(concurrency=PER_WORKER, max_run_cost=budget, prices=PRICES)
    summary, _ = await run_on_ray(tmp_path, config, 2, runtime, problems)
    assert summary.stopped == "run cost budget reached ($2.00)"
    assert summary.failures == 0  # a budget stop is no failure
    manifest = json.loads((tmp_path / "trees/r/manifest.json").read_text())
    assert budget <= manifest["cost_usd"] == pytest.approx(PRICES["stub"].cost(summary.usage))
    # in the order the driver paid them: once the run cost reached the budget, only the
    # requests already in flight (at most workers x per-worker concurrency) were paid
    with sqlite3.connect(tmp_path / "trees/r/cache.sqlite") as db:
        rows = db.execute("SELECT prompt_tokens, completion_tokens FROM payments ORDER BY rowid")
        paid = [Usage(prompt_tokens=p, completion_tokens=c) for p, c in rows]
    totals = [PRICES["stub"].cost(usage) for usage in itertools.accumulate(paid)]
    reached = next(i for i, total in enumerate(totals) if total >= budget)
    assert len(paid) - 1 - reached <= 2 * PER_WORKER - 1
    statuses = [json.loads(p.read_text())["status"] for p in (tmp_path / "trees/r").glob("q*")]
    assert "partial" in statuses
    assert manifest["counts"]["trees"] + manifest["counts"].get("pending", 0) == PROBLEMS

    # the same run with a larger budget finishes it: same bytes, no answer paid twice
    runtime = runtime.model_copy(update={"max_run_cost": 1000.0})
    summary, _ = await run_on_ray(tmp_path, config, 2, runtime, problems)
    assert summary.stopped is None
    same_run(tmp_path, single_dir)
    assert server.repeats() == 0


def test_a_driver_killed_with_sigkill_then_run_again_finishes_the_run(
    ray_address: str, server: StubServer, single: tuple[Path, int], tmp_path: Path
) -> None:
    single_dir, paid = single
    problems = write_problems(tmp_path / "r.jsonl", PROBLEMS)
    server.reset()
    command = [
        sys.executable, "-m", "journeygen", "generate", str(problems), "--run", "r",
        "--backend", "openai", "--base-url", server.base_url, "--model", "stub",
        "--width", "2", "--keep", "1", "--depth", "3", "--reference-path", "never",
        "--seed", "7", "--reflection-sources", "llm,phrase", "--linearize", "rewrite",
        "--executor", "ray", "--workers", "2", "--worker-cpus", "0.5",
        "--concurrency", str(PER_WORKER),
        "--trees-dir", str(tmp_path / "trees"), "--out-dir", str(tmp_path / "out"),
    ]  # fmt: skip
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    driver = subprocess.Popen(command, cwd=tmp_path, **pipes)  # RAY_ADDRESS: the fixture's
    deadline = time.monotonic() + 90
    while sum(server.answered.values()) < paid // 2:  # kill half-way
        assert driver.poll() is None, driver.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.005)
    driver.kill()
    driver.communicate()
    saved = {p.name: p.stat() for p in (tmp_path / "trees/r").glob("q*.json")}
    assert 0 < len(saved) < PROBLEMS

    rerun = subprocess.run(command, cwd=tmp_path, timeout=180, check=False, **pipes)
    assert rerun.returncode == 0, rerun.stderr
    assert f"trees {PROBLEMS} (reused {len(saved)}; complete {PROBLEMS})" in rerun.stdout
    same_run(tmp_path, single_dir)
    for name, before in saved.items():  # finished trees are reused, never written again
        after = (tmp_path / "trees/r" / name).stat()
        assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    # only the requests in flight at the kill (every worker's) are paid again
    assert server.repeats() <= 2 * PER_WORKER
    assert sum(server.answered.values()) <= paid + 2 * PER_WORKER


@pytest.mark.model
async def test_the_embedded_model_on_two_workers_writes_the_bytes_of_one_process(
    ray_address: str, bundled_gguf: Path, tmp_path: Path
) -> None:
    problems = write_problems(tmp_path / "r.jsonl", 2)
    config = RunConfig(
        seed=7,
        backend=BackendConfig(name="local"),
        search=SearchConfig(width=2, keep=1, depth=1, step_tokens=24, reference_path="never"),
    )
    backend = make_backend("local", seed=7)
    try:
        await generate(
            problems,
            run="r",
            config=config,
            backend=backend,
            prompts=load_prompts(),
            trees_dir=tmp_path / "single/trees",
            out_dir=tmp_path / "single/out",
        )
    finally:
        await backend.aclose()
    runtime = RuntimeOptions(concurrency=1)  # each worker loads the GGUF once: one at a time
    summary, ray_run = await run_on_ray(tmp_path / "ray", config, 2, runtime, problems)
    assert summary.status == Counter(complete=2)
    assert len({worker["pid"] for worker in ray_run.cluster.workers}) == 2
    assert files(tmp_path / "ray/trees") == files(tmp_path / "single/trees")
    assert files(tmp_path / "ray/out") == files(tmp_path / "single/out")
