"""The anthropic backend's wire format through httpx2.MockTransport, and its default transport
over real HTTP to the local stub server."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx2
import pytest
from stub_server import StubServer

from journeygen.backends.anthropic_backend import AnthropicBackend
from journeygen.backends.base import BackendError, SamplingOptions
from journeygen.backends.build import make_backend
from journeygen.models import Usage

KEY = "sk-ant-api03-SECRETsecret0123456789"
PROMPT = [
    {"role": "system", "content": "You solve maths problems one step at a time."},
    {"role": "user", "content": "Problem: Tom has 3 apples.\n\nSteps so far: none.\nNext step."},
]


def message_body(
    content: list[dict[str, Any]],
    *,
    stop_reason: str = "end_turn",
    usage: tuple[int, int, int, int] = (10, 5, 0, 0),
) -> dict[str, Any]:
    """A body shaped like the documented Messages API response."""
    input_tokens, output_tokens, created, read = usage
    return {
        "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF",
        "type": "message",
        "role": "assistant",
        "content": content,
        "model": "claude-haiku-4-5",
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cache_creation_input_tokens": created,
            "cache_read_input_tokens": read,
        },
    }


def mock_backend(
    handler: Callable[[httpx2.Request], httpx2.Response], requests: list[dict[str, Any]]
) -> AnthropicBackend:
    def recording(request: httpx2.Request) -> httpx2.Response:
        assert request.url.path == "/v1/messages"
        requests.append(json.loads(request.content))
        return handler(request)

    client = httpx2.AsyncClient(transport=httpx2.MockTransport(recording))
    return AnthropicBackend(
        "claude-haiku-4-5",
        base_url="http://mock.test",
        api_key=KEY,
        max_retries=0,
        http_client=client,
    )


@pytest.fixture(autouse=True)
def _no_anthropic_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


async def test_n_samples_are_n_requests_sharing_a_cached_prefix() -> None:
    # The first answer writes the cache (12 tokens), the second reads it: the usage must show
    # both, and prompt_tokens is the whole prompt (uncached + written + read).
    bodies = iter(
        [
            message_body([{"type": "text", "text": "3 + 1 = 4."}], usage=(8, 6, 12, 0)),
            message_body(
                [{"type": "text", "text": "So 4."}], stop_reason="max_tokens", usage=(8, 3, 0, 12)
            ),
        ]
    )
    requests: list[dict[str, Any]] = []
    backend = mock_backend(lambda _: httpx2.Response(200, json=next(bodies)), requests)
    try:
        options = SamplingOptions(
            n=2, temperature=1.5, max_tokens=40, stop=["\n", "Step 3:"], seed=7
        )
        completions = await backend.complete(PROMPT, options)  # type: ignore[arg-type]
    finally:
        await backend.aclose()
    assert [c.text for c in completions] == ["3 + 1 = 4.", "So 4."]
    assert [c.finish_reason for c in completions] == ["stop", "length"]
    assert [c.reasoning for c in completions] == [None, None]  # no thinking blocks
    assert completions[0].usage == Usage(
        calls=1, prompt_tokens=20, completion_tokens=6, cache_write_tokens=12
    )
    assert completions[1].usage == Usage(
        calls=1, prompt_tokens=20, completion_tokens=3, cache_read_tokens=12
    )
    assert len(requests) == 2 and requests[0] == requests[1]
    sent = requests[0]
    ephemeral = {"type": "ephemeral"}
    assert sent["system"] == [
        {"type": "text", "text": PROMPT[0]["content"], "cache_control": ephemeral}
    ]
    # The problem paragraph is its own cached block; with n > 1 the rest is cached too.
    assert sent["messages"] == [
        {
            "role": "user",
            "content": [
                {
                    "type": "text",
                    "text": "Problem: Tom has 3 apples.\n\n",
                    "cache_control": ephemeral,
                },
                {
                    "type": "text",
                    "text": "Steps so far: none.\nNext step.",
                    "cache_control": ephemeral,
                },
            ],
        }
    ]
    assert sent["max_tokens"] == 40
    assert sent["stop_sequences"] == ["Step 3:"]  # whitespace-only stops are refused
    # The Messages API has no n, seed or temperature: none may be sent.
    assert set(sent) == {"model", "messages", "max_tokens", "system", "stop_sequences"}


async def test_single_sample_marks_only_system_and_problem() -> None:
    requests: list[dict[str, Any]] = []
    body = message_body([{"type": "text", "text": "ok"}])
    backend = mock_backend(lambda _: httpx2.Response(200, json=body), requests)
    try:
        await backend.complete(PROMPT, SamplingOptions(n=1, stop=["\n"]))  # type: ignore[arg-type]
    finally:
        await backend.aclose()
    blocks = requests[0]["messages"][0]["content"]
    assert ["cache_control" in block for block in blocks] == [True, False]
    assert "stop_sequences" not in requests[0]


async def test_json_schema_goes_through_a_forced_tool() -> None:
    schema = {
        "type": "object",
        "properties": {"label": {"type": "string"}, "reason": {"type": "string"}},
        "required": ["label", "reason"],
    }
    tool_answer = {
        "type": "tool_use",
        "id": "toolu_01A09q90qw90lq917835lq9",
        "name": "answer",
        "input": {"label": "incorrect", "reason": "3 + 1 is 4, not 5"},
    }
    requests: list[dict[str, Any]] = []
    body = message_body([tool_answer], stop_reason="tool_use")
    backend = mock_backend(lambda _: httpx2.Response(200, json=body), requests)
    try:
        completions = await backend.complete(
            PROMPT,  # type: ignore[arg-type]
            SamplingOptions(json_schema=schema),
        )
    finally:
        await backend.aclose()
    assert json.loads(completions[0].text) == tool_answer["input"]
    assert completions[0].finish_reason == "stop"
    sent = requests[0]
    assert sent["tools"] == [
        {
            "name": "answer",
            "description": "Give the answer in this structure.",
            "input_schema": schema,
        }
    ]
    assert sent["tool_choice"] == {"type": "tool", "name": "answer"}


async def test_thinking_blocks_become_the_reasoning() -> None:
    """An answer with extended thinking (the documented block shapes): the thinking is the
    reasoning, never part of the text; redacted thinking has no readable text to keep."""
    content = [
        {"type": "thinking", "thinking": "3 apples and 1 more.", "signature": "EqQBCgIYAhIM"},
        {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4a"},
        {"type": "thinking", "thinking": "That makes 4.", "signature": "EqQBCgIYAhIN"},
        {"type": "text", "text": "3 + 1 = 4."},
    ]
    requests: list[dict[str, Any]] = []
    body = message_body(content)
    backend = mock_backend(lambda _: httpx2.Response(200, json=body), requests)
    try:
        [completion] = await backend.complete(PROMPT, SamplingOptions())  # type: ignore[arg-type]
    finally:
        await backend.aclose()
    assert completion.text == "3 + 1 = 4."
    assert completion.reasoning == "3 apples and 1 more.\n\nThat makes 4."
    assert "thinking" not in requests[0]  # parsed when present, never asked for


async def test_401_never_shows_the_key() -> None:
    error = {
        "type": "error",
        "error": {"type": "authentication_error", "message": f"invalid x-api-key {KEY}"},
        "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy",
    }
    requests: list[dict[str, Any]] = []
    backend = mock_backend(lambda _: httpx2.Response(401, json=error), requests)
    try:
        assert KEY not in repr(backend)
        with pytest.raises(BackendError) as raised:
            await backend.complete(PROMPT, SamplingOptions())  # type: ignore[arg-type]
    finally:
        await backend.aclose()
    message = str(raised.value)
    assert "401" in message and "authentication_error" in message
    assert KEY not in message and "SECRET" not in message
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_key_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(BackendError, match="ANTHROPIC_API_KEY is not set"):
        make_backend("anthropic")
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    backend = make_backend("anthropic", model="claude-sonnet-4-5")
    assert isinstance(backend, AnthropicBackend)
    assert backend.model == "claude-sonnet-4-5"
    assert KEY not in repr(backend)


async def test_over_real_http_with_retries_of_429_and_500() -> None:
    """The default (aiohttp) transport against a local server that answers `/v1/messages`
    and fails some attempts: the SDK's retries get every sample through."""
    server = StubServer(fault_rate=0.4, faults=("429", "500"))
    with server.serve():
        backend = AnthropicBackend(
            "claude-stub",
            base_url=f"http://127.0.0.1:{server.port}",
            api_key="sk-ant-test-0123456789",
            max_retries=6,
        )
        try:
            completions = [
                await backend.complete(
                    [{"role": "user", "content": f"Problem: {i} + 3?\n\nGive the next step."}],
                    SamplingOptions(n=2, max_tokens=20),
                )
                for i in range(6)
            ]
        finally:
            await backend.aclose()
    assert server.injected["429"] + server.injected["500"] >= 2  # faults did happen
    assert sum(server.answered.values()) == 12  # 6 requests x 2 samples, each answered once
    for pair in completions:
        assert len(pair) == 2 and all(c.text and c.finish_reason == "stop" for c in pair)
        assert pair[0].usage.calls == 1 and pair[0].usage.completion_tokens > 0
