"""Build a backend, or a batch backend, by its name in the registries of `journeygen.backends`;
the class is imported here, when a run needs it."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from journeygen.backends import BACKENDS, BATCH_PROVIDERS
from journeygen.backends.base import Backend, BackendOptions
from journeygen.backends.batch import BatchingBackend, BatchProvider

__all__ = ["BackendSpec", "make_backend", "make_batch_backend"]


def _create(path: str) -> Callable[[BackendOptions], Any]:
    """The `create` of the class that `path` ("module:Class") names."""
    module, _, name = path.partition(":")
    create: Callable[[BackendOptions], Any] = getattr(importlib.import_module(module), name).create
    return create


def make_backend(
    name: str,
    *,
    model: str | None = None,
    base_url: str | None = None,
    seed: int = 0,
    timeout: float = 120.0,
    max_retries: int = 2,
) -> Backend:
    """Backend `name` from CLI-style options.

    `model` is a GGUF path for `local` (default: the bundled SmolLM2), a model name for
    `openai` and `anthropic`, and a JSON script file for `fake` (default: always
    "The answer is 0."). `timeout` (seconds per attempt) and `max_retries` go to the SDKs,
    which retry transport errors, timeouts, 429 (honouring `Retry-After`) and 5xx themselves.
    """
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose one of: {', '.join(BACKENDS)}")
    options = BackendOptions(
        model=model, base_url=base_url, seed=seed, timeout=timeout, max_retries=max_retries
    )
    backend: Backend = _create(BACKENDS[name])(options)
    return backend


@dataclass(frozen=True)
class BackendSpec:
    """`make_backend`'s arguments as one small value, which another process can be sent and
    build the very same backend from (a Ray worker loads the run's model with it)."""

    name: str
    model: str | None = None
    base_url: str | None = None
    seed: int = 0
    timeout: float = 120.0
    max_retries: int = 2

    def build(self) -> Backend:
        return make_backend(
            self.name,
            model=self.model,
            base_url=self.base_url,
            seed=self.seed,
            timeout=self.timeout,
            max_retries=self.max_retries,
        )


def make_batch_backend(
    name: str,
    *,
    model: str | None,
    base_url: str | None,
    journal: Path,
    timeout: float = 120.0,
    max_retries: int = 2,
) -> BatchingBackend:
    """`--batch`: the provider batch API of backend `name`, its batches kept in `journal`."""
    if name not in BATCH_PROVIDERS:
        raise ValueError(
            f"batch mode needs the {' or '.join(BATCH_PROVIDERS)} backend, not {name!r}"
        )
    options = BackendOptions(
        model=model, base_url=base_url, timeout=timeout, max_retries=max_retries
    )
    provider: BatchProvider = _create(BATCH_PROVIDERS[name])(options)
    return BatchingBackend(provider, journal)
