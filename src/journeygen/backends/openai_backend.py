"""OpenAI Chat Completions, and any server that speaks it (vLLM, llama.cpp, Ollama) via base_url.

The SDK retries 429 and 5xx itself (`max_retries`). The API key is only handed to the SDK:
it appears in no repr, error message or log line of ours. Requests go over the SDK's aiohttp
transport, which costs the client about a third less CPU per request than its default
httpx one: at high concurrency the client's CPU is what caps requests/s.
"""

from __future__ import annotations

from typing import Any, cast

import httpx2
import openai
from openai.types.chat import ChatCompletionMessageParam
from pydantic import BaseModel

from journeygen.backends.base import (
    BackendError,
    ChatMessage,
    Completion,
    SamplingOptions,
    UnparseableResponse,
)
from journeygen.backends.sdk import Api, SdkClient
from journeygen.models import Usage

__all__ = ["NO_KEY", "OPENAI", "ChatReply", "OpenAIBackend", "chat_params", "to_completions"]

NO_KEY = "sk-no-key"
"""Sent to a local server when no key is set; such servers ignore it."""

OPENAI: Api[openai.AsyncOpenAI] = Api(
    env="OPENAI",
    title="the OpenAI API",
    default_model="gpt-4o-mini",
    client=openai.AsyncOpenAI,
    transport=openai.DefaultAioHttpClient,
    no_key=NO_KEY,
)
"""The OpenAI SDK; a local server (`base_url` or `OPENAI_BASE_URL`) needs no key."""


class _Message(BaseModel):
    content: str | None = None
    reasoning_content: Any = None  # vLLM, DeepSeek
    reasoning: Any = None  # OpenRouter and others; only a string counts


class _Choice(BaseModel):
    index: int = 0
    message: _Message
    finish_reason: str | None = None


class _PromptDetails(BaseModel):
    cached_tokens: int | None = None


class _Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    prompt_tokens_details: _PromptDetails | None = None


class ChatReply(BaseModel):
    """The fields of a chat completion that become `Completion`s; others are ignored.

    Validated from the body's bytes in one pass by pydantic-core: the SDK's own
    `ChatCompletion` is built field by field in Python, a quarter of its CPU per request.
    """

    choices: list[_Choice]
    usage: _Usage | None = None


class OpenAIBackend(SdkClient[openai.AsyncOpenAI]):
    """Chat Completions through one `AsyncOpenAI` client."""

    name = "openai"
    api = OPENAI

    async def complete(
        self, messages: list[ChatMessage], options: SamplingOptions
    ) -> list[Completion]:
        # Some servers (llama.cpp's) answer n > 1 with one choice: ask again for the rest,
        # with the seed moved on so the extra samples differ.
        completions: list[Completion] = []
        while len(completions) < options.n:
            completions += await self._request(messages, options, len(completions))
        return completions

    async def _request(
        self, messages: list[ChatMessage], options: SamplingOptions, done: int
    ) -> list[Completion]:
        wanted = options.n - done
        try:
            # `client.post` is `chat.completions.create` without its per-request TypedDict
            # transform (`chat_params` is plain JSON already) and, with the raw response,
            # without the SDK's model building; its retries and errors are the same.
            raw = await self.client.post(
                "/chat/completions",
                body=chat_params(self.model, messages, options, done=done),
                cast_to=httpx2.Response,
                options={"security": {"bearer_auth": True}},
            )
            response = ChatReply.model_validate_json(raw.content)
        except openai.APIStatusError as exc:
            # The body can echo the key (masked or not): keep a redacted line, drop the cause.
            raise BackendError(
                f"openai backend: HTTP {exc.status_code} from {self._where()}: "
                f"{self._redact(_error_message(exc))[:300]}"
            ) from None
        except openai.APIError as exc:  # connection errors and timeouts, after the retries
            raise BackendError(
                f"openai backend: {type(exc).__name__} from {self._where()}: "
                f"{self._redact(exc.message)[:300]}"
            ) from exc
        except ValueError as exc:  # a 200 whose body is not a chat completion (cut, garbled)
            raise UnparseableResponse(
                f"openai backend: unparseable response from {self._where()}: "
                f"{type(exc).__name__}: {self._redact(str(exc))[:200]}"
            ) from None
        if not response.choices:
            raise BackendError(f"openai backend: {self._where()} returned no choices")
        return to_completions(response, wanted)


def chat_params(
    model: str, messages: list[ChatMessage], options: SamplingOptions, *, done: int = 0
) -> dict[str, Any]:
    """The Chat Completions body for the samples after the first `done` (seed moved on)."""
    params: dict[str, Any] = {
        "model": model,
        "messages": [cast(ChatCompletionMessageParam, dict(m)) for m in messages],
        "n": options.n - done,
        "temperature": options.temperature,
        "max_tokens": options.max_tokens,
    }
    if options.stop:
        params["stop"] = list(options.stop)
    if options.seed is not None:
        params["seed"] = options.seed + done
    if options.json_schema is not None:
        params["response_format"] = _response_format(options.json_schema)
    return params


def to_completions(response: ChatReply, wanted: int) -> list[Completion]:
    """The first `wanted` choices in index order; the call's usage goes on the first."""
    choices = sorted(response.choices, key=lambda choice: choice.index)[:wanted]
    usage = response.usage
    prompt_tokens = usage.prompt_tokens if usage else 0
    completion_tokens = usage.completion_tokens if usage else 0
    cached = usage.prompt_tokens_details if usage else None
    cache_read = (cached.cached_tokens or 0) if cached else 0
    return [
        Completion(
            text=choice.message.content or "",
            finish_reason=choice.finish_reason,
            reasoning=_reasoning(choice.message),
            # Per-choice token counts are not reported: the call's usage goes on the first.
            usage=(
                Usage(
                    calls=1,
                    prompt_tokens=prompt_tokens,
                    completion_tokens=completion_tokens,
                    cache_read_tokens=cache_read,
                )
                if i == 0
                else Usage()
            ),
        )
        for i, choice in enumerate(choices)
    ]


def _response_format(schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "json_schema",
        "json_schema": {"name": "verdict", "schema": schema, "strict": True},
    }


def _reasoning(message: _Message) -> str | None:
    """Reasoning text that vLLM/DeepSeek (`reasoning_content`) or others (`reasoning`) add."""
    for value in (message.reasoning_content, message.reasoning):
        if isinstance(value, str) and value:
            return value
    return None


def _error_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        message = body.get("message") or body.get("detail")
        if message:
            kind = body.get("code") or body.get("type")
            return f"{message} ({kind})" if kind else str(message)
    return exc.message
