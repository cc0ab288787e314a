"""Backends: the scripted fake, real llama.cpp (in-process and as a server), OpenAI wire format."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest

from journeygen.backends import (
    BACKENDS,
    Backend,
    BackendError,
    ChatMessage,
    Completion,
    FakeBackend,
    LocalBackend,
    OpenAIBackend,
    SamplingOptions,
    make_backend,
)
from journeygen.backends.base import UnparseableResponse
from journeygen.backends.openai_backend import NO_KEY
from journeygen.models import Usage

QUESTION: list[ChatMessage] = [
    {"role": "system", "content": "You are a careful maths tutor."},
    {"role": "user", "content": "What is 12 + 30? Think step by step."},
]


def total(completions: list[Completion]) -> Usage:
    return sum((c.usage for c in completions), Usage())


@pytest.fixture(autouse=True)
def _no_openai_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


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
        ('{"answers": ["a"]}', "must hold a list of strings"),
        ("[1, 2]", "must hold a list of strings"),
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
    assert all(c.text.strip() for c in first)
    assert [c.text for c in first] == [c.text for c in again]
    for completion in first:
        assert completion.usage.calls == 1  # llama.cpp samples one per call
        assert completion.usage.prompt_tokens > 0
        assert 0 < completion.usage.completion_tokens <= 16
        assert completion.finish_reason in {"stop", "length"}
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
    options = SamplingOptions(seed=0, max_tokens=32, json_schema=schema)
    [completion] = await local_backend.complete(messages, options)
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
    assert all(c.text for c in completions)
    # llama_cpp.server ignores n: one request per sample, each with its own seed.
    assert [(r["n"], r["seed"]) for r in requests] == [(3, 11), (2, 12), (1, 13)]
    assert all(r["model"] == "smollm2" for r in requests)
    usage = total(completions)
    assert usage.calls == len(requests) == 3
    assert usage.prompt_tokens > 0
    assert 3 <= usage.completion_tokens <= 3 * 12


@pytest.mark.server
async def test_server_respects_stop_sequences(llama_server: str) -> None:
    backend = OpenAIBackend("smollm2", base_url=llama_server)
    try:
        options = SamplingOptions(seed=5, temperature=0.7, max_tokens=48)
        [free] = await backend.complete(QUESTION, options)
        [stopped] = await backend.complete(QUESTION, options.model_copy(update={"stop": ["e"]}))
    finally:
        await backend.aclose()
    assert "e" in free.text  # the same seed would have gone past an "e" ...
    assert stopped.text == free.text.split("e")[0]  # ... but stops right before it
    assert stopped.finish_reason == "stop"


# --- OpenAIBackend wire format, via httpx MockTransport ----------------------------------


def _chat_completion(
    choices: list[tuple[int, str, str | None]], completion_tokens: int
) -> dict[str, Any]:
    """A body shaped like the documented Chat Completions response."""
    return {
        "id": "chatcmpl-123",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "test-model",
        "choices": [
            {
                "index": index,
                "message": {"role": "assistant", "content": content}
                | ({"reasoning_content": reasoning} if reasoning else {}),
                "finish_reason": "stop",
                "logprobs": None,
            }
            for index, content, reasoning in choices
        ],
        "usage": {
            "prompt_tokens": 20,
            "completion_tokens": completion_tokens,
            "total_tokens": 20 + completion_tokens,
        },
    }


def _mock_backend(
    handler: Callable[[httpx2.Request], httpx2.Response],
    requests: list[dict[str, Any]],
    api_key: str = "sk-test-0123456789abcdef",
) -> OpenAIBackend:
    def recording(request: httpx2.Request) -> httpx2.Response:
        requests.append(json.loads(request.content))
        return handler(request)

    client = httpx2.AsyncClient(transport=httpx2.MockTransport(recording))
    return OpenAIBackend(
        "test-model",
        base_url="http://mock.test/v1",
        api_key=api_key,
        max_retries=0,
        http_client=client,
    )


async def test_openai_sends_options_and_reads_reasoning_in_index_order() -> None:
    body = _chat_completion([(1, "second", None), (0, "first", "I add 12 and 30.")], 9)
    requests: list[dict[str, Any]] = []
    backend = _mock_backend(lambda _: httpx2.Response(200, json=body), requests)
    schema = {"type": "object", "properties": {"label": {"type": "string"}}}
    try:
        options = SamplingOptions(
            n=2, temperature=0.3, max_tokens=50, stop=["\n\n"], seed=42, json_schema=schema
        )
        completions = await backend.complete(QUESTION, options)
    finally:
        await backend.aclose()
    assert [c.text for c in completions] == ["first", "second"]
    assert [c.reasoning for c in completions] == ["I add 12 and 30.", None]
    assert total(completions) == Usage(calls=1, prompt_tokens=20, completion_tokens=9)
    assert completions[1].usage == Usage()
    [sent] = requests
    assert sent["model"] == "test-model"
    assert sent["messages"] == QUESTION
    assert (sent["n"], sent["seed"], sent["stop"]) == (2, 42, ["\n\n"])
    assert (sent["temperature"], sent["max_tokens"]) == (0.3, 50)
    assert sent["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "verdict", "schema": schema, "strict": True},
    }


async def test_openai_omits_unset_stop_seed_and_schema_and_reads_reasoning_field() -> None:
    body = _chat_completion([(0, "ok", None)], 1)
    body["choices"][0]["message"]["reasoning"] = "short thought"
    requests: list[dict[str, Any]] = []
    backend = _mock_backend(lambda _: httpx2.Response(200, json=body), requests)
    try:
        [completion] = await backend.complete(QUESTION, SamplingOptions())
    finally:
        await backend.aclose()
    assert completion.reasoning == "short thought"
    assert not {"stop", "seed", "response_format"} & requests[0].keys()


async def test_openai_tops_up_when_server_returns_fewer_choices() -> None:
    requests: list[dict[str, Any]] = []

    def one_choice(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json=_chat_completion([(0, f"s{len(requests)}", None)], 4))

    backend = _mock_backend(one_choice, requests)
    try:
        completions = await backend.complete(QUESTION, SamplingOptions(n=3, seed=0))
    finally:
        await backend.aclose()
    assert [c.text for c in completions] == ["s1", "s2", "s3"]
    assert [(r["n"], r["seed"]) for r in requests] == [(3, 0), (2, 1), (1, 2)]
    assert total(completions) == Usage(calls=3, prompt_tokens=60, completion_tokens=12)


async def test_openai_401_error_never_shows_the_key() -> None:
    key = "sk-proj-SECRETsecret0123456789"
    error = {
        "error": {
            "message": f"Incorrect API key provided: {key}. Also seen as sk-proj-SEC*****6789.",
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_api_key",
        }
    }
    requests: list[dict[str, Any]] = []
    backend = _mock_backend(lambda _: httpx2.Response(401, json=error), requests, api_key=key)
    try:
        assert key not in repr(backend)
        with pytest.raises(BackendError) as raised:
            await backend.complete(QUESTION, SamplingOptions())
    finally:
        await backend.aclose()
    message = str(raised.value)
    assert "401" in message
    assert "invalid_api_key" in message
    assert key not in message
    assert "SEC" not in message
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


async def test_openai_connection_error_is_a_backend_error() -> None:
    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("connection refused", request=request)

    backend = _mock_backend(refuse, [])
    try:
        with pytest.raises(BackendError, match=r"APIConnectionError from http://mock\.test/v1"):
            await backend.complete(QUESTION, SamplingOptions())
    finally:
        await backend.aclose()


def test_openai_key_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(BackendError, match="OPENAI_API_KEY is not set"):
        OpenAIBackend("gpt-4o-mini")
    local = OpenAIBackend("m", base_url="http://127.0.0.1:1/v1")
    assert local._key == NO_KEY
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:2/v1")
    from_env_url = OpenAIBackend("m")
    assert (from_env_url.base_url, from_env_url._key) == ("http://127.0.0.1:2/v1", NO_KEY)
    monkeypatch.delenv("OPENAI_BASE_URL")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env-123456")
    from_env = OpenAIBackend("m")
    assert from_env._key == "sk-from-env-123456"
    assert "sk-from-env" not in repr(from_env)


# --- make_backend ------------------------------------------------------------------------


async def test_make_backend_fake_default_cycles_one_answer() -> None:
    backend = make_backend("fake")
    assert isinstance(backend, FakeBackend)
    completions = await backend.complete(QUESTION, SamplingOptions(n=3))
    assert [c.text for c in completions] == ["The answer is 0."] * 3


async def test_make_backend_fake_from_script(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text('["Step 1: 12 + 30 = 42."]', encoding="utf-8")
    backend = make_backend("fake", model=str(script))
    [completion] = await backend.complete(QUESTION, SamplingOptions())
    assert completion.text == "Step 1: 12 + 30 = 42."


def test_make_backend_local_uses_bundled_model_and_seed(bundled_gguf: Path) -> None:
    backend = make_backend("local", seed=7)
    assert isinstance(backend, LocalBackend)
    assert isinstance(backend, Backend)
    assert (backend.model_path, backend.seed, backend.name) == (bundled_gguf, 7, "local")
    explicit = make_backend("local", model=str(bundled_gguf))
    assert isinstance(explicit, LocalBackend)
    assert explicit.model_path == bundled_gguf


async def test_make_backend_openai(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(BackendError, match="OPENAI_API_KEY is not set"):
        make_backend("openai")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-abcdef")
    default = make_backend("openai")
    served = make_backend("openai", model="smollm2", base_url="http://127.0.0.1:8080/v1")
    assert isinstance(default, OpenAIBackend) and isinstance(served, OpenAIBackend)
    assert isinstance(default, Backend)
    assert (default.model, default.base_url, default.name) == ("gpt-4o-mini", None, "openai")
    assert (served.model, served.base_url) == ("smollm2", "http://127.0.0.1:8080/v1")
    await default.aclose()
    await served.aclose()


def test_make_backend_rejects_unknown_names_and_stray_base_url() -> None:
    assert BACKENDS == ("local", "openai", "anthropic", "fake")
    with pytest.raises(ValueError, match="unknown backend 'vllm'; choose one of: local, openai"):
        make_backend("vllm")
    with pytest.raises(ValueError, match="openai and anthropic backends only"):
        make_backend("fake", base_url="http://127.0.0.1:8080/v1")


async def test_openai_posts_to_chat_completions_with_the_api_key_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The request skips the SDK's `create` wrapper: path, method and auth must still be
    exactly what `create` sends (the bearer key, never an admin key from the environment)."""
    monkeypatch.setenv("OPENAI_ADMIN_KEY", "sk-admin-must-not-be-sent")
    seen: list[httpx2.Request] = []

    def reply(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json=_chat_completion([(0, "ok", None)], 1))

    requests: list[dict[str, Any]] = []
    backend = _mock_backend(reply, requests)
    try:
        await backend.complete(QUESTION, SamplingOptions())
    finally:
        await backend.aclose()
    [request] = seen
    assert (request.method, str(request.url)) == ("POST", "http://mock.test/v1/chat/completions")
    assert request.headers["authorization"] == "Bearer sk-test-0123456789abcdef"
    assert request.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"id": "x", "choices": [{"index": 0, "mess', UnparseableResponse),  # cut off
        (b'{"id": "x", "object": "chat.completion"}', UnparseableResponse),  # no choices field
        (b'{"choices": [{"index": 0}]}', UnparseableResponse),  # a choice without a message
        (b'{"choices": []}', BackendError),  # well formed, but nothing to use
    ],
)
async def test_openai_answer_that_is_not_a_chat_completion_is_named(
    body: bytes, expected: type[Exception]
) -> None:
    requests: list[dict[str, Any]] = []
    backend = _mock_backend(
        lambda _: httpx2.Response(200, content=body, headers={"content-type": "application/json"}),
        requests,
    )
    try:
        with pytest.raises(expected, match=r"mock\.test") as caught:
            await backend.complete(QUESTION, SamplingOptions())
    finally:
        await backend.aclose()
    assert (expected is UnparseableResponse) == isinstance(caught.value, UnparseableResponse)
