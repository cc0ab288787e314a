"""LLM backends behind one protocol, chosen by name with `make_backend`.

The openai SDK is imported on first use of `OpenAIBackend` (it takes about half a second).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from journeygen.backends.base import (
    Backend,
    BackendError,
    ChatMessage,
    Completion,
    SamplingOptions,
)
from journeygen.backends.fake import FakeBackend
from journeygen.backends.local import LocalBackend, bundled_model_path

if TYPE_CHECKING:
    from journeygen.backends.anthropic_backend import AnthropicBackend
    from journeygen.backends.openai_backend import OpenAIBackend

__all__ = [
    "BACKENDS",
    "DEFAULT_ANTHROPIC_MODEL",
    "DEFAULT_OPENAI_MODEL",
    "AnthropicBackend",
    "Backend",
    "BackendError",
    "ChatMessage",
    "Completion",
    "FakeBackend",
    "LocalBackend",
    "OpenAIBackend",
    "SamplingOptions",
    "bundled_model_path",
    "make_backend",
]

BACKENDS = ("local", "openai", "anthropic", "fake")
DEFAULT_ANTHROPIC_MODEL = "claude-haiku-4-5"
DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
FAKE_DEFAULT_RESPONSE = "The answer is 0."


def make_backend(
    name: str,
    *,
    model: str | None = None,
    base_url: str | None = None,
    seed: int = 0,
    timeout: float = 120.0,
    max_retries: int = 2,
) -> Backend:
    """Build a backend from CLI-style options.

    `model` is a GGUF path for `local` (default: the bundled SmolLM2), a model name for
    `openai` and `anthropic`, and a JSON script file for `fake` (default: always
    "The answer is 0.").
    `timeout` (seconds per attempt) and `max_retries` go to the SDKs, which retry transport
    errors, timeouts, 429 (honouring `Retry-After`) and 5xx themselves.
    """
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose one of: {', '.join(BACKENDS)}")
    if base_url is not None and name not in ("openai", "anthropic"):
        raise ValueError(
            f"a base URL applies to the openai and anthropic backends only, not to {name!r}"
        )
    if name == "local":
        return LocalBackend(model, seed=seed)
    if name == "openai":
        from journeygen.backends.openai_backend import OpenAIBackend

        return OpenAIBackend(
            model or DEFAULT_OPENAI_MODEL,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
        )
    if name == "anthropic":
        from journeygen.backends.anthropic_backend import AnthropicBackend

        return AnthropicBackend(
            model or DEFAULT_ANTHROPIC_MODEL,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
        )
    if model:  # a command-line run: no call history, so memory stays flat
        return FakeBackend.from_file(model, history=False)
    return FakeBackend([FAKE_DEFAULT_RESPONSE], cycle=True, history=False)


def __getattr__(name: str) -> Any:
    if name == "OpenAIBackend":
        from journeygen.backends.openai_backend import OpenAIBackend

        return OpenAIBackend
    if name == "AnthropicBackend":
        from journeygen.backends.anthropic_backend import AnthropicBackend

        return AnthropicBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
