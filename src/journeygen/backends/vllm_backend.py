"""An in-process vLLM engine (`pip install 'journeygen[vllm]'`, a CUDA GPU): the model is
loaded once per process — once per Ray GPU worker with `--executor ray` — so a GPU cluster
needs no server of its own. Prefix caching is on: the requests of one tree share their
system prompt, question and steps so far, and siblings reuse those KV blocks.

vLLM is imported when the engine is first needed, and the engine can be handed in, so
everything but the engine itself is tested on any machine.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Callable
from typing import Any

from journeygen.backends.base import (
    BackendError,
    BackendOptions,
    ChatMessage,
    Completion,
    SamplingOptions,
)
from journeygen.models import Usage

__all__ = ["VLLMBackend", "sampling_params"]

_INSTALL_HINT = "install it with: pip install 'journeygen[vllm]' (it needs a CUDA GPU)"


def sampling_params(options: SamplingOptions) -> Any:
    """vLLM's `SamplingParams` for one request: n samples from its seed, a JSON schema as
    structured output (the LLM judge's verdict, the critique's actions)."""
    from vllm import SamplingParams
    from vllm.sampling_params import StructuredOutputsParams

    structured = (
        StructuredOutputsParams(json=options.json_schema)
        if options.json_schema is not None
        else None
    )
    return SamplingParams(
        n=options.n,
        temperature=options.temperature,
        max_tokens=options.max_tokens,
        stop=list(options.stop) or None,
        seed=options.seed,
        structured_outputs=structured,
    )


class VLLMBackend:
    """One `AsyncLLM` engine in this process, built on first use from `model` (a Hugging
    Face model name or local folder) and `engine_args` (vLLM's `AsyncEngineArgs` fields,
    e.g. `gpu_memory_utilization`)."""

    name = "vllm"

    def __init__(
        self,
        model: str,
        *,
        seed: int = 0,
        engine: Any = None,
        params: Callable[[SamplingOptions], Any] = sampling_params,
        **engine_args: Any,
    ) -> None:
        self.model = model
        self.seed = seed
        self.engine_args = engine_args
        self._engine = engine
        self._params = params
        self._tokenizer: Any = None
        self._ids = itertools.count()

    @classmethod
    def create(cls, options: BackendOptions) -> VLLMBackend:
        """`make_backend("vllm")`: the model named by `options.model`."""
        options.check_no_server(cls.name)
        if not options.model:
            raise ValueError("the vllm backend needs --model (a Hugging Face model or folder)")
        return cls(options.model, seed=options.seed)

    def _load(self) -> Any:
        try:
            from vllm import AsyncEngineArgs
            from vllm.v1.engine.async_llm import AsyncLLM
        except ImportError:
            raise BackendError(f"vllm is not installed; {_INSTALL_HINT}") from None
        args = AsyncEngineArgs(
            model=self.model,
            seed=self.seed,
            enable_prefix_caching=True,
            **self.engine_args,
        )
        try:
            return AsyncLLM.from_engine_args(args)
        except (ValueError, RuntimeError) as exc:  # no GPU, out of memory, unknown model
            raise BackendError(f"vllm backend: cannot load {self.model}: {exc}") from exc

    async def _prompt(self, messages: list[ChatMessage]) -> str:
        """The messages in the model's own chat template, ready for its answer."""
        if self._tokenizer is None:
            tokenizer = self._engine.get_tokenizer()
            self._tokenizer = await tokenizer if inspect.isawaitable(tokenizer) else tokenizer
        prompt: str = self._tokenizer.apply_chat_template(
            [dict(message) for message in messages], tokenize=False, add_generation_prompt=True
        )
        return prompt

    async def complete(
        self, messages: list[ChatMessage], options: SamplingOptions
    ) -> list[Completion]:
        if self._engine is None:
            self._engine = self._load()
        prompt = await self._prompt(messages)
        final: Any = None
        try:
            async for output in self._engine.generate(
                prompt, self._params(options), f"journeygen-{next(self._ids)}"
            ):
                final = output
        except (ValueError, RuntimeError) as exc:  # e.g. a prompt longer than the context
            raise BackendError(f"vllm backend: {exc}") from exc
        if final is None or not final.finished:
            raise BackendError("vllm backend: the engine stopped before the answer was done")
        samples = sorted(final.outputs, key=lambda sample: sample.index)
        return [
            Completion(
                text=sample.text,
                finish_reason=sample.finish_reason,
                # the prompt was evaluated once for all samples: it counts on the first
                usage=Usage(
                    calls=1 if i == 0 else 0,
                    prompt_tokens=len(final.prompt_token_ids or []) if i == 0 else 0,
                    completion_tokens=len(sample.token_ids),
                ),
            )
            for i, sample in enumerate(samples)
        ]

    async def aclose(self) -> None:
        """Stop the engine (its GPU memory is freed when the process ends)."""
        shutdown = getattr(self._engine, "shutdown", None)
        if callable(shutdown):
            shutdown()
        self._engine = None
