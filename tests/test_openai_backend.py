"""The openai backend's wire format through httpx2.MockTransport, with bodies shaped like the
documented Chat Completions response (reasoning fields of vLLM / DeepSeek and others too)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest
from chat_cases import QUESTION, total

from journeygen.backends.base import BackendError, SamplingOptions, UnparseableResponse
from journeygen.backends.openai_backend import NO_KEY, OpenAIBackend
from journeygen.models import Usage
from journeygen.runtime.cache import CachedBackend


@pytest.fixture(autouse=True)
def _no_openai_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


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


async def test_the_request_cache_replays_the_reasoning(tmp_path: Path) -> None:
    body = _chat_completion([(0, "12 + 30 = 42.", "Tens first, then units.")], 6)
    requests: list[dict[str, Any]] = []
    backend = _mock_backend(lambda _: httpx2.Response(200, json=body), requests)
    cached = CachedBackend(backend, tmp_path / "cache.sqlite", namespace="openai:test-model")
    try:
        first = await cached.complete(QUESTION, SamplingOptions(seed=1))
        replayed = await cached.complete(QUESTION, SamplingOptions(seed=1))
    finally:
        await cached.aclose()
    assert len(requests) == 1 and cached.hits == 1  # the second answer came from the cache
    assert replayed == first
    assert replayed[0].reasoning == "Tens first, then units."
