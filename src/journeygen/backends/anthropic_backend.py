"""Anthropic's Messages API, with the shared problem prefix marked for the prompt cache.

The system text and the user message's first paragraph (the built-in prompts put
`Problem: {question}` there) carry `cache_control`, so every request about one problem reads
that prefix from Anthropic's prompt cache; with n > 1 the whole prompt is marked too and the
first sample is sent before the others, so its siblings read the cache it wrote. The API
takes no `n`, seed or temperature (the SDK has none): n samples are n requests, varied by the
model's own sampling. The key is only handed to the SDK. Requests go over the SDK's aiohttp
transport, which costs less CPU per request than its default httpx one.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, cast

import anthropic
from anthropic.types import Message

from journeygen.backends.base import BackendError, ChatMessage, Completion, SamplingOptions
from journeygen.backends.sdk import Api, SdkClient
from journeygen.models import Usage

__all__ = [
    "ANTHROPIC",
    "JSON_TOOL",
    "AnthropicBackend",
    "message_params",
    "to_completion",
]

ANTHROPIC: Api[anthropic.AsyncAnthropic] = Api(
    env="ANTHROPIC",
    title="the Anthropic API",
    default_model="claude-haiku-4-5",
    client=anthropic.AsyncAnthropic,
    transport=anthropic.DefaultAioHttpClient,
)
"""The Anthropic SDK; a key is always needed."""

JSON_TOOL = "answer"
"""The tool whose input schema carries `options.json_schema`; its input is the JSON answer."""

_EPHEMERAL: dict[str, str] = {"type": "ephemeral"}
_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "stop"}


def _block(text: str, *, cache: bool) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "text", "text": text}
    if cache:
        block["cache_control"] = dict(_EPHEMERAL)
    return block


def _user_blocks(text: str, *, cache_whole: bool) -> list[dict[str, Any]]:
    """The problem paragraph (up to the first blank line) as its own cached block."""
    head, sep, rest = text.partition("\n\n")
    if not head.strip() or not rest.strip():  # the API refuses whitespace-only blocks
        return [_block(text, cache=True)]
    return [_block(head + sep, cache=True), _block(rest, cache=cache_whole)]


def message_params(
    model: str, messages: list[ChatMessage], options: SamplingOptions
) -> dict[str, Any]:
    """The body of one Messages API request (one sample), as `messages.create` takes it."""
    system = [m["content"] for m in messages if m["role"] == "system" and m["content"].strip()]
    turns = [m for m in messages if m["role"] != "system"]
    if not turns or turns[0]["role"] != "user":
        raise BackendError("anthropic backend: the first non-system message must be a user turn")
    first_user = next(i for i, m in enumerate(turns) if m["role"] == "user")
    body: list[dict[str, Any]] = []
    for index, turn in enumerate(turns):
        content: Any = turn["content"]
        if index == first_user:
            content = _user_blocks(turn["content"], cache_whole=options.n > 1)
        body.append({"role": turn["role"], "content": content})
    params: dict[str, Any] = {
        "model": model,
        "messages": body,
        "max_tokens": options.max_tokens,
    }
    if system:
        params["system"] = [_block("\n\n".join(system), cache=True)]
    # The API refuses whitespace-only stop sequences ("\n"); steps are cut at the first
    # line anyway (`clean_step`), so such a stop only saves tokens elsewhere.
    stops = [stop for stop in options.stop if stop.strip()]
    if stops:
        params["stop_sequences"] = stops
    if options.json_schema is not None:
        params["tools"] = [
            {
                "name": JSON_TOOL,
                "description": "Give the answer in this structure.",
                "input_schema": options.json_schema,
            }
        ]
        params["tool_choice"] = {"type": "tool", "name": JSON_TOOL}
    return params


def to_completion(message: Message) -> Completion:
    """One sample from a Messages API answer: its text, or the forced tool's input as JSON;
    its thinking blocks (if the model thought aloud) as the reasoning."""
    inputs = [b.input for b in message.content if b.type == "tool_use" and b.name == JSON_TOOL]
    if inputs:
        text = json.dumps(inputs[0], ensure_ascii=False)
    else:
        text = "".join(b.text for b in message.content if b.type == "text")
    thinking = [b.thinking for b in message.content if b.type == "thinking" and b.thinking]
    usage = message.usage
    read = usage.cache_read_input_tokens or 0
    written = usage.cache_creation_input_tokens or 0
    return Completion(
        text=text,
        finish_reason=_FINISH.get(message.stop_reason or "", message.stop_reason),
        reasoning="\n\n".join(thinking) or None,
        usage=Usage(
            calls=1,
            # input_tokens counts only the uncached part: the prompt is all three together.
            prompt_tokens=usage.input_tokens + read + written,
            completion_tokens=usage.output_tokens,
            cache_read_tokens=read,
            cache_write_tokens=written,
        ),
    )


class AnthropicBackend(SdkClient[anthropic.AsyncAnthropic]):
    """Messages through one `AsyncAnthropic` client."""

    name = "anthropic"
    api = ANTHROPIC

    async def complete(
        self, messages: list[ChatMessage], options: SamplingOptions
    ) -> list[Completion]:
        params = message_params(self.model, messages, options)
        first = await self._request(params)
        if options.n == 1:
            return [first]
        # The first answer has written the prompt cache; its siblings read it in parallel.
        rest = await asyncio.gather(*(self._request(params) for _ in range(options.n - 1)))
        return [first, *rest]

    async def _request(self, params: dict[str, Any]) -> Completion:
        try:
            message = cast(Message, await self.client.messages.create(**params))
        except anthropic.APIStatusError as exc:
            raise BackendError(
                f"anthropic backend: HTTP {exc.status_code} from {self._where()}: "
                f"{self._redact(str(exc.message))[:300]}"
            ) from None
        except anthropic.APIError as exc:  # connection errors, timeouts, unparseable responses
            raise BackendError(
                f"anthropic backend: {type(exc).__name__} from {self._where()}: "
                f"{self._redact(exc.message)[:300]}"
            ) from None
        return to_completion(message)
