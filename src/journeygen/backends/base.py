"""The one protocol every LLM backend implements: chat messages in, completions out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypedDict, runtime_checkable

from pydantic import Field

from journeygen.models import StrictModel, Usage, empty_list

__all__ = [
    "Backend",
    "BackendError",
    "BackendOptions",
    "ChatMessage",
    "Completion",
    "RunStopped",
    "SamplingOptions",
    "UnparseableResponse",
]


class ChatMessage(TypedDict):
    """One chat turn, as every chat API spells it."""

    role: Literal["system", "user", "assistant"]
    content: str


class SamplingOptions(StrictModel):
    """How to sample; `seed` makes a request repeatable where the backend allows it."""

    n: int = Field(default=1, ge=1, le=64)
    temperature: float = Field(default=0.8, ge=0.0, le=2.0)
    max_tokens: int = Field(default=128, ge=1)
    stop: list[str] = Field(default_factory=empty_list)
    seed: int | None = None
    json_schema: dict[str, Any] | None = None


class Completion(StrictModel):
    """One sampled answer with why it stopped and what it cost."""

    text: str
    finish_reason: str | None = None
    reasoning: str | None = None
    """A reasoning model's own thinking, where the API returns it apart from the text
    (`reasoning_content`/`reasoning` of OpenAI-compatible servers, Anthropic thinking blocks)."""
    usage: Usage = Field(default_factory=Usage)
    request: str | None = None
    """Where the run's request cache keeps this answer (`KEY/INDEX`), so a user can see the
    exact messages sent and the raw answer; None when no cache was in the way."""


@dataclass(frozen=True)
class BackendOptions:
    """What `make_backend` hands each backend class's `create`; each takes the fields it uses.

    `model` is a GGUF path (local), a model name (openai, anthropic; default: the provider's)
    or a script file (fake).
    """

    model: str | None = None
    base_url: str | None = None
    seed: int = 0
    timeout: float = 120.0
    max_retries: int = 2

    def check_no_server(self, backend: str) -> None:
        """Refuse a base URL for a backend that talks to no server."""
        if self.base_url is not None:
            raise ValueError(
                f"a base URL is only for a backend that talks to a server, not for {backend!r}"
            )


class BackendError(RuntimeError):
    """A backend failed in a way the caller should report (never carries secrets)."""


class UnparseableResponse(BackendError):
    """The server answered, but with a body that is not the API's shape; asking again may help."""


class RunStopped(Exception):
    """A runtime wrapper refuses more requests (budget spent, Ctrl-C): the search ends and its
    tree is saved as `partial`, to be rebuilt on the next run."""


@runtime_checkable
class Backend(Protocol):
    """An LLM. `complete` returns exactly `options.n` completions, in sample order."""

    name: str

    async def complete(
        self, messages: list[ChatMessage], options: SamplingOptions
    ) -> list[Completion]: ...

    async def aclose(self) -> None:
        """Release connections or model memory; the backend is not used afterwards."""
