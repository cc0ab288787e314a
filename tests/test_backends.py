"""Backends: the scripted fake, and real llama.cpp in-process and as an OpenAI-compatible server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest
from chat_cases import QUESTION, total

from journeygen.backends.base import Backend, BackendError, ChatMessage, SamplingOptions
from journeygen.backends.fake import FakeBackend
from journeygen.backends.local import LocalBackend
from journeygen.backends.openai_backend import OpenAIBackend
from journeygen.models import Usage

# --- FakeBackend -----------------------------------------------------------------------


async def test_fake_consumes_queue_in_order_and_records_calls() -> None:
    fake = FakeBackend(["one", "two words", "three more words"])
    first = await fake.complete(QUESTION, SamplingOptions(n=2, seed=3))
    second = await fake.complete(QUESTION[1:], SamplingOptions())
    assert [c.text for c in first] == ["one", "two words"]
    assert [c.text for c in second] == ["three more words"]
    assert [c.finish_reason for c in first + second] == ["stop"] * 3
    assert len(fake.calls) == 2
    assert fake.calls[0] == (QUESTION, SamplingOptions(n=2, seed=3))
    assert fake.calls[1][0] == QUESTION[1:]
    assert isinstance(fake, Backend)


async def test_fake_usage_counts_words_and_sums_per_call() -> None:
    fake = FakeBackend(["a b", "c d e"])
    completions = await fake.complete(QUESTION, SamplingOptions(n=2))
    prompt_words = len(QUESTION[0]["content"].split()) + len(QUESTION[1]["content"].split())
    assert completions[0].usage == Usage(calls=1, prompt_tokens=prompt_words, completion_tokens=2)
    assert completions[1].usage == Usage(calls=0, prompt_tokens=0, completion_tokens=3)
    assert total(completions) == Usage(calls=1, prompt_tokens=prompt_words, completion_tokens=5)


async def test_fake_exhaustion_is_an_error_that_consumes_nothing() -> None:
    fake = FakeBackend(["only"])
    with pytest.raises(BackendError, match="script exhausted after 1 responses"):
        await fake.complete(QUESTION, SamplingOptions(n=2))
    assert [c.text for c in await fake.complete(QUESTION, SamplingOptions())] == ["only"]
    with pytest.raises(BackendError, match="script exhausted after 1 responses"):
        await fake.complete(QUESTION, SamplingOptions())


async def test_fake_cycle_wraps_around() -> None:
    fake = FakeBackend(["x", "y"], cycle=True)
    completions = await fake.complete(QUESTION, SamplingOptions(n=5))
    assert [c.text for c in completions] == ["x", "y", "x", "y", "x"]
    with pytest.raises(ValueError, match="at least one response"):
        FakeBackend([], cycle=True)


async def test_fake_callable_gets_messages_options_and_sample_index() -> None:
    def respond(messages: list[ChatMessage], options: SamplingOptions, index: int) -> str:
        return f"{messages[-1]['role']} {options.seed} {index}"

    fake = FakeBackend(respond, name="scripted")
    completions = await fake.complete(QUESTION, SamplingOptions(n=3, seed=7))
    assert [c.text for c in completions] == ["user 7 0", "user 7 1", "user 7 2"]
    assert fake.name == "scripted"
    assert "callable" in repr(fake)


@pytest.mark.parametrize(
    ("content", "expected", "cycle"),
    [
        (["a", "b"], ["a", "b"], False),
        ({"responses": ["a", "b"], "cycle": True}, ["a", "b", "a"], True),
        ({"responses": ["a", "b"]}, ["a", "b"], False),
    ],
)
async def test_fake_from_file(
    tmp_path: Path, content: object, expected: list[str], cycle: bool
) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps(content), encoding="utf-8")
    fake = FakeBackend.from_file(script)
    completions = await fake.complete(QUESTION, SamplingOptions(n=len(expected)))
    assert [c.text for c in completions] == expected
    if not cycle:
        with pytest.raises(BackendError, match="exhausted after 2 responses"):
            await fake.complete(QUESTION, SamplingOptions())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "cannot read script"),
        ('{"answers": ["a"]}', "must hold a list of replies"),
        ("[1, 2]", "must hold a list of replies"),
        ('[{"text": "a", "thought": "b"}]', "must hold a list of replies"),
        ('{"responses": [], "cycle": true}', "no responses to cycle through"),
    ],
)
def test_fake_from_file_rejects_bad_scripts(tmp_path: Path, text: str, message: str) -> None:
    script = tmp_path / "script.json"
    script.write_text(text, encoding="utf-8")
    with pytest.raises(BackendError, match=message):
        FakeBackend.from_file(script)
    with pytest.raises(BackendError, match="cannot read script"):
        FakeBackend.from_file(tmp_path / "missing.json")


async def test_fake_replies_may_carry_reasoning_and_a_finish_reason(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    cut = {"text": "So 12 + 30", "reasoning": "Tens first: 10 + 30.", "finish_reason": "length"}
    script.write_text(json.dumps(["Step 1: 12 + 30 = 42.", cut]), encoding="utf-8")
    plain, thought = await FakeBackend.from_file(script).complete(QUESTION, SamplingOptions(n=2))
    assert (plain.text, plain.reasoning, plain.finish_reason) == (
        "Step 1: 12 + 30 = 42.",
        None,
        "stop",
    )
    assert (thought.text, thought.reasoning, thought.finish_reason) == (
        "So 12 + 30",
        "Tens first: 10 + 30.",
        "length",
    )
    assert thought.usage == Usage(completion_tokens=4)  # words of the text, not the thinking


# --- LocalBackend on the real bundled SmolLM2 -------------------------------------------


@pytest.mark.model
def test_bundled_model_path_is_a_gguf(bundled_gguf: Path) -> None:
    assert bundled_gguf.is_file()
    assert bundled_gguf.suffix == ".gguf"


def test_local_backend_rejects_missing_model(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="does not exist"):
        LocalBackend(tmp_path / "nope.gguf")


@pytest.mark.model
async def test_local_samples_n_with_usage_and_is_deterministic(
    local_backend: LocalBackend,
) -> None:
    options = SamplingOptions(n=2, seed=1, temperature=0.8, max_tokens=16)
    first = await local_backend.complete(QUESTION, options)
    again = await local_backend.complete(QUESTION, options)
    assert len(first) == 2
    assert [c.text for c in first] == [c.text for c in again]
    for completion in first:  # what the model writes differs by CPU; the accounting does not
        assert completion.usage.calls == 1  # llama.cpp samples one per call
        assert completion.usage.prompt_tokens > 0
        assert completion.finish_reason in {"stop", "length"}
        if completion.finish_reason == "length":
            assert completion.usage.completion_tokens == 16
        else:
            assert completion.usage.completion_tokens < 16
    assert total(first).calls == 2
    assert total(first).completion_tokens == sum(c.usage.completion_tokens for c in first)


@pytest.mark.model
async def test_local_json_schema_constrains_output(local_backend: LocalBackend) -> None:
    schema = {
        "type": "object",
        "properties": {"label": {"type": "string", "enum": ["correct", "incorrect"]}},
        "required": ["label"],
    }
    messages: list[ChatMessage] = [
        {"role": "user", "content": 'Is "2 + 2 = 5" correct? Answer in JSON.'}
    ]
    # llama.cpp's JSON grammar allows at most one space wherever JSON allows whitespace: its
    # longest answer here, `{ "label" : "incorrect" } `, is 26 characters, within 32 tokens
    options = SamplingOptions(seed=0, max_tokens=32, json_schema=schema)
    [completion] = await local_backend.complete(messages, options)
    assert completion.finish_reason == "stop"
    assert json.loads(completion.text)["label"] in {"correct", "incorrect"}


@pytest.mark.model
async def test_local_prompt_over_context_is_a_backend_error(local_backend: LocalBackend) -> None:
    messages: list[ChatMessage] = [{"role": "user", "content": "seven " * 3000}]
    with pytest.raises(BackendError, match="context window"):
        await local_backend.complete(messages, SamplingOptions(max_tokens=4))


# --- OpenAIBackend against a real llama.cpp server ----------------------------------------


def _counting_client(requests: list[dict[str, Any]]) -> httpx2.AsyncClient:
    async def record(request: httpx2.Request) -> None:
        if request.url.path.endswith("/chat/completions"):
            requests.append(json.loads(request.content))

    return httpx2.AsyncClient(event_hooks={"request": [record]})


@pytest.mark.server
async def test_server_lists_the_alias(llama_server: str) -> None:
    async with httpx2.AsyncClient() as client:
        models = (await client.get(f"{llama_server}/models")).json()
    assert [m["id"] for m in models["data"]] == ["smollm2"]


@pytest.mark.server
async def test_server_n3_tops_up_and_counts_usage(llama_server: str) -> None:
    requests: list[dict[str, Any]] = []
    backend = OpenAIBackend(
        "smollm2", base_url=llama_server, http_client=_counting_client(requests)
    )
    try:
        options = SamplingOptions(n=3, seed=11, temperature=0.9, max_tokens=12)
        completions = await backend.complete(QUESTION, options)
    finally:
        await backend.aclose()
    assert len(completions) == 3
    # llama_cpp.server ignores n: one request per sample, each with its own seed.
    assert [(r["n"], r["seed"]) for r in requests] == [(3, 11), (2, 12), (1, 13)]
    assert all(r["model"] == "smollm2" for r in requests)
    usage = total(completions)
    assert usage.calls == len(requests) == 3
    assert usage.prompt_tokens > 0
    for completion in completions:  # one request each, so each carries its own usage
        assert completion.finish_reason in {"stop", "length"}
        cut = completion.finish_reason == "length"
        assert (
            (completion.usage.completion_tokens == 12)
            if cut
            else (completion.usage.completion_tokens < 12)
        )


@pytest.mark.server
async def test_server_respects_stop_sequences(llama_server: str) -> None:
    backend = OpenAIBackend("smollm2", base_url=llama_server)
    try:
        options = SamplingOptions(seed=5, temperature=0.7, max_tokens=48)
        [free] = await backend.complete(QUESTION, options)
        # Stop at a character from the second half of whatever the model wrote this time.
        half = free.text[len(free.text) // 2 :]
        stop = next((char for char in half if not char.isspace()), "e")
        [stopped] = await backend.complete(QUESTION, options.model_copy(update={"stop": [stop]}))
    finally:
        await backend.aclose()
    # the same seed goes the same way but stops right before the stop string's first use
    assert stopped.text == free.text.split(stop)[0]
    assert stopped.finish_reason == ("stop" if stop in free.text else free.finish_reason)
