"""The runtime wrappers: request cache, limits, stop gate, prices, budgets, signals, resume."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from journeygen.backends.base import (
    BackendError,
    ChatMessage,
    Completion,
    RunStopped,
    SamplingOptions,
    UnparseableResponse,
)
from journeygen.backends.fake import FakeBackend
from journeygen.config import BackendConfig, JourneyConfig, RunConfig, SearchConfig
from journeygen.executors.local import RunSummary, generate
from journeygen.models import Usage
from journeygen.prompts import load_prompts
from journeygen.runtime import (
    CachedBackend,
    FailureLog,
    Gate,
    LimitedBackend,
    MeteredBackend,
    RuntimeOptions,
    load_prices,
)
from journeygen.runtime.cache import CHECKPOINT_EVERY, look_up
from journeygen.runtime.limits import TokenBucket
from journeygen.runtime.pricing import Price
from journeygen.store import RunStore

QUESTION: list[ChatMessage] = [{"role": "user", "content": "What is 2 + 2?"}]


def by_request(messages: list[ChatMessage], options: SamplingOptions, index: int) -> str:
    """A deterministic answer from the request alone (like a seeded server)."""
    seed = options.seed or 0
    if options.max_tokens > 100:  # a closing step (final_tokens 128, step_tokens 96)
        return f"The answer is {8 if (seed + index) % 3 else 9}."
    return f"Add {seed % 5} and {index}."


# --- request cache ----------------------------------------------------------------------


async def test_cache_replays_the_same_completions_without_asking(tmp_path: Path) -> None:
    fake = FakeBackend(by_request)
    cache = CachedBackend(fake, tmp_path / "cache.sqlite", namespace="fake:x")
    options = SamplingOptions(n=3, seed=11, max_tokens=20)
    first = await cache.complete(QUESTION, options)
    again = await cache.complete(QUESTION, options)
    assert again == first and len(fake.calls) == 1 and cache.hits == 1
    # fewer samples: the first ones come back; more samples: the backend is asked again
    assert await cache.complete(QUESTION, options.model_copy(update={"n": 2})) == first[:2]
    await cache.complete(QUESTION, options.model_copy(update={"n": 4}))
    assert len(fake.calls) == 2
    # another seed is another request
    await cache.complete(QUESTION, options.model_copy(update={"seed": 12}))
    assert len(fake.calls) == 3
    # paid: the fake counts words; 3 calls each with calls=1 on their first sample
    assert cache.paid().calls == 3
    cache.close()


async def test_cache_commits_an_answer_and_its_cost_in_one_transaction(tmp_path: Path) -> None:
    """A kill between two commits would keep an answer without its cost (or the reverse)."""
    cache = CachedBackend(FakeBackend(by_request), tmp_path / "cache.sqlite", namespace="fake:x")
    statements: list[str] = []
    cache._db.set_trace_callback(statements.append)
    await cache.complete(QUESTION, SamplingOptions(n=2, seed=3))
    writes = [s.split()[0].upper() for s in statements if not s.startswith("SELECT")]
    # cost, the request as sent, sample 0, sample 1
    assert writes == ["BEGIN", "INSERT", "INSERT", "INSERT", "INSERT", "COMMIT"]
    cache.close()


async def test_each_answer_points_at_its_request_and_raw_answer_in_the_cache(
    tmp_path: Path,
) -> None:
    """What a user audits behind a label: the exact messages sent and the raw answer."""
    path = tmp_path / "cache.sqlite"
    cache = CachedBackend(FakeBackend(by_request), path, namespace="fake:x")
    options = SamplingOptions(n=2, seed=3, max_tokens=20)
    first = await cache.complete(QUESTION, options)
    replayed = await cache.complete(QUESTION, options)
    cache.close()
    assert [c.request for c in replayed] == [c.request for c in first]
    refs = [c.request for c in first]
    assert all(ref is not None for ref in refs) and refs[0] != refs[1]
    for ref, completion in zip(refs, first, strict=True):
        assert ref is not None
        found = look_up(path, ref)
        assert found is not None and found.backend == "fake:x"
        assert found.messages == QUESTION
        assert found.options["seed"] == 3 and found.options["max_tokens"] == 20
        assert found.completion is not None and found.completion.text == completion.text
    assert look_up(path, "0" * 64 + "/0") is None
    assert look_up(tmp_path / "missing.sqlite", refs[0] or "") is None


async def test_cache_survives_a_new_process_and_keeps_models_apart(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    options = SamplingOptions(n=2, seed=5)
    first = CachedBackend(FakeBackend(["a b", "c"]), path, namespace="openai:m1")
    stored = await first.complete(QUESTION, options)
    first.close()
    replay = CachedBackend(FakeBackend([]), path, namespace="openai:m1")  # empty: must not ask
    assert await replay.complete(QUESTION, options) == stored
    # "What is 2 + 2?" is 5 words; "a b" and "c" are 3
    assert replay.paid() == Usage(calls=1, prompt_tokens=5, completion_tokens=3)
    replay.close()
    other = CachedBackend(FakeBackend([]), path, namespace="openai:m2")
    with pytest.raises(BackendError, match="script exhausted"):
        await other.complete(QUESTION, options)
    other.close()


async def test_cache_checkpoints_its_log_on_a_worker_thread(tmp_path: Path) -> None:
    """A checkpoint inside a commit would stall the event loop: commits never checkpoint, a
    worker thread does every CHECKPOINT_EVERY answers, so the log stays bounded."""
    path = tmp_path / "cache.sqlite"
    wal = path.with_name("cache.sqlite-wal")
    long_answer = " ".join(["step"] * 2000)  # about 10 KB: several pages an answer
    cache = CachedBackend(FakeBackend(lambda *_: long_answer), path, namespace="fake:x")
    (auto,) = cache._db.execute("PRAGMA wal_autocheckpoint").fetchone()
    assert auto == 0
    sizes = []
    for seed in range(3 * CHECKPOINT_EVERY):
        await cache.complete(QUESTION, SamplingOptions(seed=seed))
        if seed == CHECKPOINT_EVERY - 2:  # no checkpoint yet: every answer is in the log
            one_round = wal.stat().st_size
            assert one_round > (CHECKPOINT_EVERY - 1) * len(long_answer)
        if cache._checkpoint is not None:
            await cache._checkpoint
        sizes.append(wal.stat().st_size)
    # Checkpointed three times: the log is reused from its start, never three rounds long.
    assert max(sizes) < 1.5 * one_round
    cache.close()
    assert not wal.exists()  # the last connection checkpointed the rest and removed the log
    reopened = CachedBackend(FakeBackend([]), path, namespace="fake:x")
    assert reopened.stored() == 3 * CHECKPOINT_EVERY
    assert (await reopened.complete(QUESTION, SamplingOptions(seed=7)))[0].text == long_answer
    reopened.close()


async def test_a_failed_checkpoint_stops_the_run_and_keeps_every_answer(tmp_path: Path) -> None:
    """A checkpoint that fails is raised with the next answer (already stored), not lost in
    a worker thread while the log grows."""
    path = tmp_path / "cache.sqlite"
    cache = CachedBackend(FakeBackend(by_request), path, namespace="fake:x")
    for seed in range(CHECKPOINT_EVERY - 1):
        await cache.complete(QUESTION, SamplingOptions(seed=seed))
    # The checkpoint opens the database by its name: a folder there makes it fail, while the
    # cache's own connection goes on writing to the moved file.
    moved = tmp_path / "moved"
    moved.mkdir()
    for part in ("cache.sqlite", "cache.sqlite-wal", "cache.sqlite-shm"):
        (tmp_path / part).rename(moved / part)
    path.mkdir()
    await cache.complete(QUESTION, SamplingOptions(seed=CHECKPOINT_EVERY))  # starts one
    assert cache._checkpoint is not None
    await asyncio.wait([cache._checkpoint])
    with pytest.raises(sqlite3.OperationalError):
        await cache.complete(QUESTION, SamplingOptions(seed=CHECKPOINT_EVERY + 1))
    cache.close()
    reopened = CachedBackend(FakeBackend([]), moved / "cache.sqlite", namespace="fake:x")
    assert reopened.stored() == CHECKPOINT_EVERY + 1  # the answer that came with the error too
    reopened.close()


# --- limits, gate, meter ----------------------------------------------------------------


class SlowBackend:
    """Answers after `delay` seconds and records how many requests were in flight at most."""

    name = "slow"

    def __init__(self, delay: float = 0.01) -> None:
        self.delay = delay
        self.in_flight = 0
        self.peak = 0
        self.calls = 0

    async def complete(
        self, messages: list[ChatMessage], options: SamplingOptions
    ) -> list[Completion]:
        self.calls += 1
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        usage = Usage(calls=1, prompt_tokens=10, completion_tokens=10)
        return [
            Completion(text=by_request(messages, options, i), finish_reason="stop", usage=usage)
            for i in range(options.n)
        ]

    async def aclose(self) -> None:
        pass


async def test_concurrency_bounds_requests_in_flight() -> None:
    slow = SlowBackend()
    limited = LimitedBackend(slow, concurrency=3, gate=Gate())
    await asyncio.gather(*(limited.complete(QUESTION, SamplingOptions()) for _ in range(12)))
    assert slow.calls == 12 and slow.peak == 3


async def test_token_bucket_spreads_requests_beyond_the_burst() -> None:
    bucket = TokenBucket(6000, burst_s=0.05)  # 100 a second, burst of 5
    started = time.monotonic()
    for _ in range(25):
        await bucket.take(1)
    # 5 from the burst, 20 more at 100/s: at least 0.2 s (lower bound only)
    assert time.monotonic() - started >= 0.18


async def test_gate_abort_cancels_requests_in_flight() -> None:
    gate = Gate()
    slow = SlowBackend(delay=10)
    limited = LimitedBackend(slow, concurrency=2, gate=gate)
    pending = asyncio.ensure_future(limited.complete(QUESTION, SamplingOptions()))
    await asyncio.sleep(0.01)
    assert slow.in_flight == 1
    gate.stop("interrupted (SIGINT)", abort=True)
    with pytest.raises(RunStopped, match="interrupted"):
        await pending
    assert slow.in_flight == 0  # the request itself was cancelled, not left running
    with pytest.raises(RunStopped):  # and nothing new goes out
        await limited.complete(QUESTION, SamplingOptions())


async def test_gate_abort_leaves_the_tree_task_free_to_save_its_partial_tree() -> None:
    """The abort cancels the requesting task itself; the cancel must be consumed as
    `RunStopped`, or the tree's own awaits afterwards (saving it) would be cancelled too."""
    gate = Gate()
    limited = LimitedBackend(SlowBackend(delay=10), concurrency=1, gate=gate)

    async def tree() -> tuple[str, int]:
        try:
            await limited.complete(QUESTION, SamplingOptions())
        except RunStopped as exc:
            await asyncio.sleep(0.01)  # e.g. writing the partial tree in a thread
            task = asyncio.current_task()
            assert task is not None
            return str(exc), task.cancelling()
        return "finished", 0

    task = asyncio.ensure_future(tree())
    await asyncio.sleep(0.01)
    gate.stop("interrupted (SIGTERM)", abort=True)
    assert await task == ("interrupted (SIGTERM)", 0)


async def test_gate_lets_a_cancel_from_elsewhere_through() -> None:
    gate = Gate()
    limited = LimitedBackend(SlowBackend(delay=10), concurrency=1, gate=gate)
    task = asyncio.ensure_future(limited.complete(QUESTION, SamplingOptions()))
    await asyncio.sleep(0.01)
    task.cancel()  # not the gate: a plain cancellation, not RunStopped
    with pytest.raises(asyncio.CancelledError):
        await task
    assert gate.reason is None


async def test_meter_asks_again_on_unparseable_output_and_logs_it(tmp_path: Path) -> None:
    answers: list[Exception | str] = [UnparseableResponse("cut JSON"), "fine"]

    class Flaky(FakeBackend):
        async def complete(
            self, messages: list[ChatMessage], options: SamplingOptions
        ) -> list[Completion]:
            item = answers.pop(0)
            if isinstance(item, Exception):
                raise item
            return [Completion(text=item, usage=Usage(calls=1, completion_tokens=1))]

    log = FailureLog(tmp_path / "failures.jsonl")
    meter = MeteredBackend(Flaky(), gate=Gate(), failures=log, parse_wait=0)
    assert [c.text for c in await meter.complete(QUESTION, SamplingOptions())] == ["fine"]
    entries = [json.loads(line) for line in log.path.read_text().splitlines()]
    assert entries[0]["kind"] == "request" and entries[0]["retried"] is True
    assert "cut JSON" in entries[0]["reason"]
    assert meter.usage == Usage(calls=1, completion_tokens=1)


# --- prices -----------------------------------------------------------------------------


def test_prices_match_longest_prefix_and_count_cache_tokens() -> None:
    table = load_prices()
    mini = table.price("gpt-4o-mini-2024-07-18")
    assert mini == Price(input=0.15, output=0.60, cache_read=0.075)
    assert mini.cost(Usage(prompt_tokens=1_000_000, completion_tokens=1_000_000)) == 0.75
    haiku = table.price("claude-3-5-haiku-20241022")
    assert haiku is not None
    # 200 plain x $0.80 + 600 read x $0.08 + 200 written x $1.00 + 100 out x $4.00 per 1M
    usage = Usage(
        prompt_tokens=1000, cache_read_tokens=600, cache_write_tokens=200, completion_tokens=100
    )
    assert haiku.cost(usage) == pytest.approx((160 + 48 + 200 + 400) / 1e6)
    assert table.price("my-own-model") is None


def test_price_file_overrides_and_errors_name_file_and_field(tmp_path: Path) -> None:
    good = tmp_path / "prices.yaml"
    good.write_text("gpt-4o-mini: {input: 1, output: 2}\nmine: {input: 0.5, output: 0.5}\n")
    table = load_prices(good)
    assert table.price("gpt-4o-mini") == Price(input=1, output=2)
    assert table.price("mine-v2") == Price(input=0.5, output=0.5)
    bad = tmp_path / "bad.yaml"
    bad.write_text("models:\n  mine: {input: -1, output: 1}\n")
    with pytest.raises(ValueError, match=r"bad\.yaml: field 'models\.mine\.input'"):
        load_prices(bad)


# --- whole runs on the fake backend -----------------------------------------------------


def write_problems(path: Path, count: int) -> Path:
    rows = [
        {"id": f"p{i}", "question": f"Tom has {i} apples and buys {8 - i} more.", "answer": "8"}
        for i in range(count)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


CONFIG = RunConfig(
    backend=BackendConfig(name="openai", model="gpt-4o-mini"),
    search=SearchConfig(width=2, keep=1, depth=3, reference_path="never"),
)


async def run_once(
    tmp_path: Path, backend: FakeBackend | SlowBackend, options: RuntimeOptions, run: str = "r"
) -> RunSummary:
    return await generate(
        write_problems(tmp_path / "problems.jsonl", 6),
        run=run,
        config=CONFIG,
        backend=backend,  # type: ignore[arg-type]
        prompts=load_prompts(),
        trees_dir=tmp_path / "trees",
        out_dir=tmp_path / "outputs",
        runtime=options,
    )


def tree_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.glob("p*.json")}


async def test_run_budget_stops_cleanly_and_a_rerun_pays_nothing_twice(tmp_path: Path) -> None:
    whole = tmp_path / "whole"
    reference = FakeBackend(by_request)
    await run_once(whole, reference, RuntimeOptions(concurrency=2))
    all_calls = len(reference.calls)

    fake = FakeBackend(by_request)
    # 3 calls of the fake cost about 20 words each: the budget stops the run early
    summary = await run_once(tmp_path, fake, RuntimeOptions(concurrency=2, max_run_tokens=60))
    assert summary.stopped == "run token budget reached (60 tokens)"
    first_calls = len(fake.calls)
    assert 0 < first_calls < all_calls
    statuses = {
        p.stem: json.loads(p.read_text())["status"] for p in (tmp_path / "trees/r").glob("p*.json")
    }
    assert "partial" in statuses.values() and len(statuses) < 6 + 1
    manifest = json.loads((tmp_path / "trees/r/manifest.json").read_text())
    assert manifest["stopped"] == summary.stopped
    assert manifest["counts"]["trees"] + manifest["counts"].get("pending", 0) == 6

    again = FakeBackend(by_request)
    summary = await run_once(tmp_path, again, RuntimeOptions(concurrency=2))
    assert summary.stopped is None
    assert len(again.calls) == all_calls - first_calls  # the cache answered the rest
    assert tree_bytes(tmp_path / "trees/r") == tree_bytes(whole / "trees/r")
    assert (tmp_path / "outputs/r/journey.jsonl").read_bytes() == (
        whole / "outputs/r/journey.jsonl"
    ).read_bytes()


async def test_dollar_budget_uses_the_price_table(tmp_path: Path) -> None:
    fake = FakeBackend(by_request)
    # gpt-4o-mini: $0.15 / $0.60 per 1M; a budget of a millionth of a dollar stops at once
    summary = await run_once(
        tmp_path, fake, RuntimeOptions(concurrency=1, max_run_cost=1e-6, batch=True)
    )
    assert summary.stopped == "run cost budget reached ($0.00)"
    usage = summary.usage
    expected = (usage.prompt_tokens * 0.15 + usage.completion_tokens * 0.60) / 1e6 * 0.5
    assert summary.cost == pytest.approx(expected)
    assert len(fake.calls) == 1


async def test_sigint_saves_trees_in_flight_as_partial_and_resume_matches(tmp_path: Path) -> None:
    whole = tmp_path / "whole"
    await run_once(whole, SlowBackend(delay=0), RuntimeOptions(concurrency=3))

    class Interrupting(SlowBackend):
        async def complete(
            self, messages: list[ChatMessage], options: SamplingOptions
        ) -> list[Completion]:
            if self.calls == 7:
                os.kill(os.getpid(), signal.SIGINT)  # as if Ctrl-C was pressed now
            return await super().complete(messages, options)

    before = signal.getsignal(signal.SIGINT)
    summary = await run_once(tmp_path, Interrupting(delay=0.02), RuntimeOptions(concurrency=3))
    assert summary.interrupted and summary.stopped == "interrupted (SIGINT)"
    assert not (tmp_path / "outputs/r/journey.jsonl").exists()  # no export after Ctrl-C
    saved = {p.stem: json.loads(p.read_text()) for p in (tmp_path / "trees/r").glob("p*.json")}
    assert any(tree["status"] == "partial" for tree in saved.values())
    for tree in saved.values():
        if tree["status"] == "partial":
            assert tree["stats"]["stop_reason"] == "interrupted (SIGINT)"
    assert signal.getsignal(signal.SIGINT) is before  # our handler is gone again

    resumed = SlowBackend(delay=0)
    await run_once(tmp_path, resumed, RuntimeOptions(concurrency=3))
    assert tree_bytes(tmp_path / "trees/r") == tree_bytes(whole / "trees/r")


def test_cli_resumes_by_default_and_fresh_starts_over(tmp_path: Path) -> None:
    from hand_cases import fake_run_inputs
    from test_cli import journeygen

    problems, script = fake_run_inputs(tmp_path)
    args = ("generate", problems, "--backend", "fake", "--model", script, "--depth", "2")
    first = journeygen(*args, "--max-run-tokens", "100000", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "complete  apples  nodes" in first.stderr  # plain lines when stderr is no terminal
    assert "cost $0.0000" in first.stdout  # the fake backend is free
    again = journeygen(*args, cwd=tmp_path)
    assert "reused 2" in again.stdout and "tokens 0 in 0 calls" in again.stdout
    fresh = journeygen(*args, "--fresh", cwd=tmp_path)
    assert fresh.returncode == 0, fresh.stderr
    assert "reused 0" in fresh.stdout and "tokens 0 in 0 calls" not in fresh.stdout
    bad = journeygen(*args, "--prices", problems, cwd=tmp_path)
    assert bad.returncode != 0 and "demo.jsonl" in bad.stderr


# --- the event loop of a batch --------------------------------------------------------------


def test_run_batch_keeps_objects_alive_before_the_run_out_of_full_collections() -> None:
    from journeygen.runtime.loop import run_batch

    async def frozen_now() -> int:
        return gc.get_freeze_count()

    gc.unfreeze()
    before = len(gc.get_objects())
    try:
        frozen = run_batch(frozen_now())
    finally:
        gc.unfreeze()
    assert frozen >= before // 2  # the modules and classes loaded so far: 10^5 objects
    assert gc.get_freeze_count() == 0


async def test_every_searched_step_of_a_run_can_be_audited_from_the_cache(tmp_path: Path) -> None:
    await run_once(tmp_path, FakeBackend(by_request), RuntimeOptions(concurrency=2))
    store = RunStore(tmp_path / "trees", "r")
    checked = 0
    for tree in store.trees():
        for node in tree.nodes:
            assert node.request is not None, node.id
            found = look_up(store.dir / "cache.sqlite", node.request)
            assert found is not None and found.completion is not None
            assert tree.problem.question in found.messages[-1]["content"]
            assert node.text in found.completion.text  # the step, cut from the raw answer
            checked += 1
    assert checked > 6


class JitterBackend(SlowBackend):
    """Answers after a delay that depends on the request, so answers come back in another
    order than they were asked, and differently at each concurrency."""

    async def complete(
        self, messages: list[ChatMessage], options: SamplingOptions
    ) -> list[Completion]:
        self.delay = ((options.seed or 0) % 7) / 1000
        return await super().complete(messages, options)


WIDE = RunConfig(
    backend=BackendConfig(name="openai", model="gpt-4o-mini"),
    search=SearchConfig(width=3, keep=3, depth=3, reference_path="never"),
)


async def wide_run(tmp_path: Path, backend: SlowBackend, concurrency: int) -> RunSummary:
    return await generate(
        write_problems(tmp_path / "problems.jsonl", 3),
        run="w",
        config=WIDE,
        backend=backend,  # type: ignore[arg-type]
        prompts=load_prompts(),
        trees_dir=tmp_path / "trees",
        out_dir=tmp_path / "outputs",
        runtime=RuntimeOptions(concurrency=concurrency),
    )


async def test_concurrency_never_changes_a_byte_of_trees_or_exports(tmp_path: Path) -> None:
    one, many = JitterBackend(), JitterBackend()
    await wide_run(tmp_path / "c1", one, 1)
    await wide_run(tmp_path / "c32", many, 32)
    assert one.peak == 1 and many.peak > 3  # a frontier's parents were asked together
    trees = [tree_bytes(tmp_path / c / "trees" / "w") for c in ("c1", "c32")]
    assert trees[0] == trees[1] and len(trees[0]) == 3
    for name in ("journey.jsonl", "shortcut.jsonl"):
        files = [(tmp_path / c / "outputs" / "w" / name).read_bytes() for c in ("c1", "c32")]
        assert files[0] == files[1]


async def test_a_few_wide_trees_fill_more_slots_than_there_are_trees(tmp_path: Path) -> None:
    backend = SlowBackend(delay=0.02)
    await wide_run(tmp_path, backend, 32)
    # 3 trees, each asking a level's 3 frontier parents at once after the first level
    assert backend.peak > 3


TEXTS_CONFIG = CONFIG.model_copy(
    update={"journey": JourneyConfig(reflection_sources=["llm", "phrase"], linearize="rewrite")}
)


async def texts_run(tmp_path: Path, backend: FakeBackend, options: RuntimeOptions) -> RunSummary:
    return await generate(
        write_problems(tmp_path / "problems.jsonl", 6),
        run="t",
        config=TEXTS_CONFIG,
        backend=backend,  # type: ignore[arg-type]
        prompts=load_prompts(),
        trees_dir=tmp_path / "trees",
        out_dir=tmp_path / "outputs",
        runtime=options,
    )


def is_text_request(options: SamplingOptions) -> bool:
    return options.temperature == 0.0  # texts are greedy; search samples at 0.9


async def test_texts_go_through_the_runtime_and_a_budget_stop_keeps_them(tmp_path: Path) -> None:
    whole = FakeBackend(by_request)
    summary = await texts_run(tmp_path / "whole", whole, RuntimeOptions(concurrency=4))
    asked = [options for _, options in whole.calls if is_text_request(options)]
    assert asked  # reflections and rewrites were asked
    assert summary.usage.calls == len(whole.calls)  # the meter counted every text too
    # a token budget of 80% of the whole run stops it among its trees and texts
    stopped = FakeBackend(by_request)
    limit = int(summary.usage.total_tokens * 0.8)
    summary = await texts_run(
        tmp_path / "cut", stopped, RuntimeOptions(concurrency=4, max_run_tokens=limit)
    )
    assert summary.stopped is not None and not summary.interrupted
    kept = (tmp_path / "cut/trees/t/llm-texts.jsonl").read_text().splitlines()
    paid = [o for _, o in stopped.calls if is_text_request(o)]
    assert 0 < len(paid) < len(asked)
    assert len(kept) == len(paid)  # every text paid for was kept
    again = FakeBackend(by_request)
    await texts_run(tmp_path / "cut", again, RuntimeOptions(concurrency=4))
    assert len(stopped.calls) + len(again.calls) == len(whole.calls)  # none asked twice
    for name in ("journey.jsonl", "shortcut.jsonl"):
        assert (tmp_path / "cut/outputs/t" / name).read_bytes() == (
            tmp_path / "whole/outputs/t" / name
        ).read_bytes()
