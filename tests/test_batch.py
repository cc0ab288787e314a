"""Provider batch mode against in-process fakes of the OpenAI and Anthropic batch endpoints."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from batch_fakes import FakeAnthropicBatches, FakeOpenAIBatches

from journeygen.backends.base import BackendError, ChatMessage, SamplingOptions
from journeygen.backends.batch import (
    BATCH_JOURNAL,
    POLL_ERRORS,
    BatchingBackend,
    BatchJournal,
    BatchProvider,
)
from journeygen.backends.batch.anthropic_provider import AnthropicBatchProvider
from journeygen.backends.batch.openai_provider import OpenAIBatchProvider
from journeygen.config import BackendConfig, RunConfig, SearchConfig
from journeygen.executors.local import RunSummary, generate
from journeygen.judges.answer import AnswerJudge
from journeygen.models import Problem, Tree
from journeygen.prompts import load_prompts
from journeygen.runtime import CACHE_FILE, RuntimeOptions
from journeygen.search.tree import search

Fake = FakeOpenAIBatches | FakeAnthropicBatches
PROVIDERS = ["openai", "anthropic"]
PROBLEMS = [
    Problem(id=name, question=f"{name} has 3 apples and buys 5 more. How many now?", answer="8")
    for name in ("Ann", "Bob", "Cid")
]
CONFIG = RunConfig(search=SearchConfig(width=2, keep=1, depth=2, reference_path="never"))


def answer(prompt: str, index: int) -> str:
    if "Finish the solution" in prompt:
        return f"So there are 3 + 5 = 8 apples (way {index}). The answer is 8."
    return f"First, 3 + 5 = 8 apples (way {index})."


def first_prompt(problem: Problem) -> str:
    """The user text of the first request of `problem`'s tree (its question, no steps yet)."""
    return load_prompts().step.render(question=problem.question, progress="")[1]["content"]


def make_fake(kind: str, polls_to_end: int = 1) -> Fake:
    if kind == "openai":
        return FakeOpenAIBatches(answer, polls_to_end=polls_to_end)
    return FakeAnthropicBatches(answer, polls_to_end=polls_to_end)


def make_provider(kind: str, fake: Fake) -> BatchProvider:
    if kind == "openai":
        return OpenAIBatchProvider(
            "gpt-4o-mini",
            base_url="http://mock.test/v1",
            api_key="sk-test-key",
            max_retries=0,
            http_client=fake.client(),
        )
    return AnthropicBatchProvider(
        "claude-haiku-4-5",
        base_url="http://mock.test",
        api_key="sk-ant-test-key",
        max_retries=0,
        http_client=fake.client(),
    )


async def run_trees(backend: BatchingBackend) -> list[Tree]:
    async def one(problem: Problem) -> Tree:
        async with backend.tree():
            return await search(problem, backend, [AnswerJudge()], CONFIG, load_prompts())

    try:
        return list(await asyncio.gather(*(one(problem) for problem in PROBLEMS)))
    finally:
        await backend.aclose()


async def restart_and_ask(
    kind: str, fake: Fake, journal: Path, messages: list[ChatMessage], options: SamplingOptions
) -> BatchingBackend:
    """A new process asks the first step again (n=2): both samples come back."""
    second = BatchingBackend(make_provider(kind, fake), journal, window=0, poll_interval=0)
    try:
        completions = await second.complete(messages, options)
    finally:
        await second.aclose()
    assert [c.text for c in completions] == [
        "First, 3 + 5 = 8 apples (way 0).",
        "First, 3 + 5 = 8 apples (way 1).",
    ]
    return second


def distinct_prompts(fake: Fake) -> list[int]:
    return [len(set(batch)) for batch in fake.batches]


@pytest.mark.parametrize("kind", PROVIDERS)
async def test_one_batch_per_round_for_all_trees(kind: str, tmp_path: Path) -> None:
    fake = make_fake(kind, polls_to_end=2)
    # A window of an hour: only "every tree waits" may send a batch, or the test would hang.
    backend = BatchingBackend(
        make_provider(kind, fake), tmp_path / "batches.jsonl", window=3600, poll_interval=0
    )
    trees = await run_trees(backend)
    # Depth 2, keep 1: a first step and a closing step per tree, so two rounds of 3 requests.
    assert distinct_prompts(fake) == [3, 3]
    # n=2 is one OpenAI request but two Anthropic requests (the Messages API has no n).
    assert [len(batch) for batch in fake.batches] == ([3, 3] if kind == "openai" else [6, 6])
    for tree in trees:
        assert tree.status == "complete", tree.error
        assert [node.id for node in tree.nodes] == ["1", "2", "1.1", "1.2"]
        assert tree.nodes[2].label == "correct"
    journal = [json.loads(line) for line in (tmp_path / "batches.jsonl").read_text().splitlines()]
    # each batch: its keys and token before it is created, its id once it has one
    assert [sorted(entry) for entry in journal] == [
        ["at", "keys", "submitting"],
        ["batch", "keys"],
    ] * 2
    assert all(len(entry["keys"]) == 3 for entry in journal)
    assert backend.batches_submitted == 2


@pytest.mark.parametrize("kind", PROVIDERS)
async def test_expired_requests_go_into_the_next_batch(kind: str, tmp_path: Path) -> None:
    fake = make_fake(kind)
    bob = first_prompt(PROBLEMS[1])
    fake.expire_once.add(bob)
    backend = BatchingBackend(
        make_provider(kind, fake), tmp_path / "batches.jsonl", window=3600, poll_interval=0
    )
    trees = await run_trees(backend)
    assert all(tree.status == "complete" for tree in trees), [t.error for t in trees]
    # Round 2 carries Bob's expired first request with Ann's and Cid's second ones.
    assert distinct_prompts(fake) == [3, 3, 1]
    assert bob in fake.batches[1]
    # Only the expired request was sent twice: nothing answered was paid for again.
    sent = Counter(prompt for batch in fake.batches for prompt in set(batch))
    assert {prompt: count for prompt, count in sent.items() if count > 1} == {bob: 2}


@pytest.mark.parametrize("kind", PROVIDERS)
async def test_an_errored_request_fails_its_tree_with_the_reason(kind: str, tmp_path: Path) -> None:
    fake = make_fake(kind)
    fake.fail.add(first_prompt(PROBLEMS[1]))
    backend = BatchingBackend(
        make_provider(kind, fake), tmp_path / "batches.jsonl", window=3600, poll_interval=0
    )
    ann, bob, cid = await run_trees(backend)
    assert ann.status == cid.status == "complete"
    assert bob.status == "failed" and bob.nodes == []
    assert bob.error is not None and "max_tokens" in bob.error
    assert ("HTTP 400" if kind == "openai" else "invalid_request_error") in bob.error
    assert distinct_prompts(fake) == [3, 2]  # an invalid request is not sent again


@pytest.mark.parametrize("kind", PROVIDERS)
async def test_a_restarted_process_waits_on_the_batch_in_flight(kind: str, tmp_path: Path) -> None:
    fake = make_fake(kind, polls_to_end=3)
    journal = tmp_path / "batches.jsonl"
    messages = load_prompts().step.render(question=PROBLEMS[0].question, progress="")
    options = SamplingOptions(n=2, seed=11, max_tokens=32)
    first = BatchingBackend(make_provider(kind, fake), journal, window=0, poll_interval=3600)
    call = asyncio.create_task(first.complete(messages, options))
    while '"batch"' not in (journal.read_text() if journal.exists() else ""):
        await asyncio.sleep(0.01)  # submitted and its id journaled; then the process "dies"
    call.cancel()
    await first.aclose()
    assert len(fake.batches) == 1

    second = await restart_and_ask(kind, fake, journal, messages, options)
    assert len(fake.batches) == 1  # waited on the batch already paid for; none submitted
    assert second.batches_submitted == 0


@pytest.mark.parametrize("kind", PROVIDERS)
async def test_a_batch_accepted_but_not_journaled_is_found_by_its_token(
    kind: str, tmp_path: Path
) -> None:
    """The process dies after the provider accepted the batch, before its id reached the
    journal (simulated by a journal that fails there: a kill cannot be timed to that instant).
    OpenAI keeps the submission token in the batch's metadata, so the batch is found and
    nothing is paid twice; Anthropic's batches carry no metadata, so there it is sent again."""
    fake = make_fake(kind)
    journal = tmp_path / "batches.jsonl"
    messages = load_prompts().step.render(question=PROBLEMS[0].question, progress="")
    options = SamplingOptions(n=2, seed=5, max_tokens=32)
    first = BatchingBackend(make_provider(kind, fake), journal, window=0, poll_interval=0)

    def killed(batch_id: str, keys: list[str]) -> None:
        raise RuntimeError("killed before the batch id was written")

    first.journal.record = killed  # type: ignore[method-assign]
    try:
        with pytest.raises(RuntimeError, match="killed"):
            await first.complete(messages, options)
    finally:
        await first.aclose()
    assert len(fake.batches) == 1 and '"batch"' not in journal.read_text()

    second = await restart_and_ask(kind, fake, journal, messages, options)
    found = kind == "openai"
    assert len(fake.batches) == (1 if found else 2)
    assert second.batches_submitted == (0 if found else 1)
    entries = [json.loads(line) for line in journal.read_text().splitlines()]
    assert [("batch" in e, "submitting" in e) for e in entries] == [(False, True)] + (
        [(True, False)] if found else [(False, True), (True, False)]
    )


def test_the_latest_journal_line_of_a_key_counts(tmp_path: Path) -> None:
    journal = BatchJournal(tmp_path / "batches.jsonl")
    journal.record("batch_1", ["a", "b"])
    submission = journal.intend("t0", ["b"])  # b goes into a new batch (a retry)
    reread = BatchJournal(tmp_path / "batches.jsonl")
    assert (reread.batch_of("a"), reread.batch_of("b")) == ("batch_1", None)
    assert reread.submission_of("b") == submission and reread.submission_of("a") is None
    reread.record("batch_2", ["b"])
    assert BatchJournal(tmp_path / "batches.jsonl").batch_of("b") == "batch_2"


@pytest.mark.parametrize("kind", PROVIDERS)
async def test_polling_rides_out_a_few_server_errors(kind: str, tmp_path: Path) -> None:
    fake = make_fake(kind, polls_to_end=2)
    messages = load_prompts().step.render(question=PROBLEMS[0].question, progress="")
    backend = BatchingBackend(
        make_provider(kind, fake), tmp_path / "batches.jsonl", window=0, poll_interval=0
    )
    try:
        fake.failing_polls = POLL_ERRORS - 1
        [completion] = await backend.complete(messages, SamplingOptions(seed=1))
        assert completion.text == "First, 3 + 5 = 8 apples (way 0)."
        fake.failing_polls = POLL_ERRORS
        with pytest.raises(BackendError, match="HTTP 500"):
            await backend.complete(messages, SamplingOptions(seed=2))
    finally:
        await backend.aclose()
    assert len(fake.batches) == 2


@pytest.mark.parametrize("kind", PROVIDERS)
async def test_a_batch_answer_keeps_the_model_reasoning(kind: str, tmp_path: Path) -> None:
    fake = make_fake(kind)
    fake.thinking = "3 apples and 5 more make 8."
    messages = load_prompts().step.render(question=PROBLEMS[0].question, progress="")
    backend = BatchingBackend(
        make_provider(kind, fake), tmp_path / "batches.jsonl", window=0, poll_interval=0
    )
    try:
        completions = await backend.complete(messages, SamplingOptions(n=2, seed=1))
    finally:
        await backend.aclose()
    assert [c.text for c in completions] == [answer(messages[-1]["content"], i) for i in (0, 1)]
    assert [c.reasoning for c in completions] == ["3 apples and 5 more make 8."] * 2


async def test_without_tree_tracking_a_window_collects_the_requests(tmp_path: Path) -> None:
    fake = make_fake("openai")
    backend = BatchingBackend(
        make_provider("openai", fake), tmp_path / "batches.jsonl", window=0.05, poll_interval=0
    )
    prompts = load_prompts()
    try:
        results = await asyncio.gather(
            *(
                backend.complete(
                    prompts.step.render(question=p.question, progress=""), SamplingOptions()
                )
                for p in PROBLEMS
            )
        )
    finally:
        await backend.aclose()
    assert [len(r) for r in results] == [1, 1, 1]
    assert distinct_prompts(fake) == [3]


def test_a_torn_journal_is_an_error_naming_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "batches.jsonl"
    path.write_text('{"batch": "batch_1", "keys": ["abc"]}\n{"batch": "batch_2"\n')
    with pytest.raises(BackendError, match=r"batches\.jsonl:2: not a batch journal line"):
        BatchJournal(path).batch_of("abc")


@pytest.mark.parametrize("kind", PROVIDERS)
async def test_a_run_in_batch_mode_pays_each_request_once(kind: str, tmp_path: Path) -> None:
    problems = tmp_path / "problems.jsonl"
    problems.write_text("".join(p.model_dump_json() + "\n" for p in PROBLEMS))
    config = CONFIG.model_copy(update={"backend": BackendConfig(name=kind, model="m")})
    trees = tmp_path / "trees"
    fake = make_fake(kind)

    async def run() -> RunSummary:
        backend = BatchingBackend(
            make_provider(kind, fake), trees / "r" / BATCH_JOURNAL, window=3600, poll_interval=0
        )
        try:  # only "every tree waits" can send a batch (window: an hour): a bound, not a hang
            return await asyncio.wait_for(
                generate(
                    problems,
                    run="r",
                    config=config,
                    backend=backend,
                    prompts=load_prompts(),
                    trees_dir=trees,
                    out_dir=tmp_path / "out",
                    runtime=RuntimeOptions(batch=True, concurrency=64),
                ),
                timeout=60,
            )
        finally:
            await backend.aclose()

    first = await run()
    assert first.status == {"complete": 3}
    assert distinct_prompts(fake) == [3, 3]
    saved = {p.name: p.read_bytes() for p in (trees / "r").glob("[ABC]*.json")}
    # A crash after the batches were paid, before any answer was kept: trees and request
    # cache gone, the journal left. The rerun takes the answers from the batches it paid for.
    for path in [*(trees / "r").glob("[ABC]*.json"), trees / "r" / CACHE_FILE]:
        path.unlink()
    second = await run()
    assert second.status == {"complete": 3} and second.reused == 0
    assert len(fake.batches) == 2
    assert {p.name: p.read_bytes() for p in (trees / "r").glob("[ABC]*.json")} == saved


def test_cli_refuses_batch_mode_and_anthropic_without_what_they_need(tmp_path: Path) -> None:
    problems = tmp_path / "p.jsonl"
    problems.write_text(PROBLEMS[0].model_dump_json() + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}

    def journeygen(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "journeygen", "generate", str(problems), *args]
        return subprocess.run(
            command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )

    local = journeygen("--backend", "fake", "--batch")
    assert local.returncode != 0
    assert "batch mode needs the openai or anthropic backend, not 'fake'" in local.stderr
    keyless = journeygen("--backend", "anthropic")
    assert keyless.returncode != 0 and "ANTHROPIC_API_KEY is not set" in keyless.stderr
    assert not (tmp_path / "trees" / "p").exists()  # nothing was started
