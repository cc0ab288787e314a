"""LLM backends and provider batch APIs by name. The tables name each class as "module:Class"
and `journeygen.backends.build` imports it only when a run builds it, so the config and the
CLI read the names without loading any backend or SDK (openai, anthropic, llama_cpp,
aiohttp); the protocol and its types are in `journeygen.backends.base`."""

from __future__ import annotations

__all__ = ["BACKENDS", "BACKEND_NAMES", "BATCH_PROVIDERS", "OWN_HARDWARE"]

BACKENDS: dict[str, str] = {
    "local": "journeygen.backends.local:LocalBackend",
    "openai": "journeygen.backends.openai_backend:OpenAIBackend",
    "anthropic": "journeygen.backends.anthropic_backend:AnthropicBackend",
    "fake": "journeygen.backends.fake:FakeBackend",
    "vllm": "journeygen.backends.vllm_backend:VLLMBackend",
}
"""Backend name -> its class, which builds itself with `create(BackendOptions)`."""

BACKEND_NAMES: tuple[str, ...] = tuple(BACKENDS)
"""What `--backend` and a recipe's `backend.name` accept; the default, `local`, first."""

OWN_HARDWARE: frozenset[str] = frozenset({"local", "fake", "vllm"})
"""Backends that run on the user's own hardware: no price per token, no dollar budget."""

BATCH_PROVIDERS: dict[str, str] = {
    "openai": "journeygen.backends.batch.openai_provider:OpenAIBatchProvider",
    "anthropic": "journeygen.backends.batch.anthropic_provider:AnthropicBatchProvider",
}
"""Backend name -> the class of its provider batch API (`--batch`), built the same way."""
