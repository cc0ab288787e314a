"""What needs no Ray cluster: what a worker and the driver send each other (a worker's outbox
on one event loop, its requests taken in numbered batches, answers and failures handed
back), and the checks `generate --executor ray` makes before it joins a cluster."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner

from journeygen.backends.base import (
    BackendError,
    ChatMessage,
    Completion,
    RunStopped,
    SamplingOptions,
    UnparseableResponse,
)
from journeygen.cli import main
from journeygen.executors.ray.wire import Request, encode_completions, encode_error
from journeygen.executors.ray.worker import Outbox, OutboxBackend
from journeygen.models import Usage
from journeygen.runtime import CURRENT_PROBLEM

MESSAGES: list[ChatMessage] = [{"role": "user", "content": "What is 2 + 2?"}]
OPTIONS = SamplingOptions(n=2, seed=7, max_tokens=16, stop=["\n"])


async def ask_in_background(outbox: Outbox, problem: str) -> asyncio.Task[list[Completion]]:
    async def ask() -> list[Completion]:
        CURRENT_PROBLEM.set(problem)
        return await OutboxBackend(outbox, "critic", "openai").complete(MESSAGES, OPTIONS)

    task = asyncio.create_task(ask())
    await asyncio.sleep(0)  # the request is in the outbox
    return task


async def test_a_request_goes_out_whole_and_its_answer_comes_back_as_sent() -> None:
    outbox = Outbox()
    task = await ask_in_background(outbox, "q07")
    number, batch = await outbox.take(1.0, received=0)
    assert number == 1
    [request] = [Request.decode(payload) for payload in batch]
    assert (request.layer, request.problem) == ("critic", "q07")
    assert request.messages == MESSAGES
    assert request.options == OPTIONS  # seed, stop and n survive the trip
    completions = [
        Completion(text="4", finish_reason="stop", usage=Usage(calls=1, prompt_tokens=9),
                   request="abc/0"),
        Completion(text="four", finish_reason="length", reasoning="add", request="abc/1"),
    ]  # fmt: skip
    outbox.deliver([(request.ticket, encode_completions(completions))])
    assert await task == completions  # the cache's references included


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (RunStopped("run cost budget reached ($0.01)"), RunStopped),
        (UnparseableResponse("cut JSON"), UnparseableResponse),
        (BackendError("openai backend: 500"), BackendError),
        (KeyError("bug"), RuntimeError),
    ],
)
async def test_a_failure_is_raised_again_as_its_kind(error: Exception, kind: type) -> None:
    outbox = Outbox()
    task = await ask_in_background(outbox, "q01")
    _, [payload] = await outbox.take(1.0, received=0)
    outbox.deliver([(payload["ticket"], encode_error(error))])
    with pytest.raises(kind) as raised:
        await task
    assert type(raised.value) is kind  # a backend error is not taken for an unparseable one
    assert str(error).strip("'") in str(raised.value)


async def test_a_batch_whose_reply_was_lost_is_offered_again_until_confirmed() -> None:
    outbox = Outbox()
    first = await ask_in_background(outbox, "q01")
    number, batch = await outbox.take(0.01, received=0)
    assert len(batch) == 1
    second = await ask_in_background(outbox, "q02")
    # the driver never got batch 1: it still says 0, so batch 1 comes again with the new one
    number, again = await outbox.take(0.01, received=0)
    assert [p["problem"] for p in again] == ["q01", "q02"]
    # it got that one: nothing is offered twice, and an empty outbox waits, then says so
    number, empty = await outbox.take(0.01, received=number)
    assert empty == []
    for payload in again:
        outbox.deliver([(payload["ticket"], encode_completions([Completion(text="ok")]))])
    assert [c.text for c in await first] == ["ok"]
    assert [c.text for c in await second] == ["ok"]


async def test_an_answer_meant_for_another_incarnation_is_dropped() -> None:
    dead, restarted = Outbox(), Outbox()
    stale = await ask_in_background(dead, "q01")
    _, [old] = await dead.take(0.01, received=0)
    live = await ask_in_background(restarted, "q01")
    _, [new] = await restarted.take(0.01, received=0)
    assert old["ticket"] != new["ticket"]  # same request number, another worker's token
    restarted.deliver([(old["ticket"], encode_completions([Completion(text="stale")]))])
    await asyncio.sleep(0)
    assert not live.done()
    restarted.deliver([(new["ticket"], encode_completions([Completion(text="fresh")]))])
    assert [c.text for c in await live] == ["fresh"]
    stale.cancel()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--executor", "ray"], "--executor ray needs --workers N"),
        (["--workers", "2"], "--workers is for --executor ray"),
        (["--executor", "ray", "--workers", "2", "--batch", "--backend", "openai"],
         "run it without --executor ray"),
    ],
)  # fmt: skip
def test_executor_flags_are_checked_before_any_cluster(
    tmp_path: Path, flags: list[str], message: str
) -> None:
    problems = tmp_path / "p.jsonl"
    problems.write_text('{"id": "a", "question": "1 + 1?", "answer": "2"}\n')
    result = CliRunner().invoke(
        main, ["generate", str(problems), "--trees-dir", str(tmp_path / "t"), *flags]
    )
    assert result.exit_code == (2 if "workers" in message else 1)
    assert message in result.output
    assert not (tmp_path / "t").exists()  # nothing written, no cluster joined
