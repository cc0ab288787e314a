"""The in-process vLLM backend: its request and answer handling on a scripted engine (any
machine), and the real engine on a CUDA GPU (skipped without one)."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from journeygen.backends.base import BackendError, ChatMessage, SamplingOptions
from journeygen.backends.build import make_backend
from journeygen.backends.vllm_backend import VLLMBackend
from journeygen.models import Usage

MESSAGES: list[ChatMessage] = [
    {"role": "system", "content": "Solve step by step."},
    {"role": "user", "content": "What is 2 + 3?"},
]


@dataclass
class Sample:
    index: int
    text: str
    token_ids: list[int]
    finish_reason: str | None


@dataclass
class Output:
    outputs: list[Sample]
    prompt_token_ids: list[int]
    finished: bool = True


class Tokenizer:
    def apply_chat_template(
        self, messages: list[dict[str, str]], *, tokenize: bool, add_generation_prompt: bool
    ) -> str:
        assert not tokenize and add_generation_prompt
        return "".join(f"<{m['role']}>{m['content']}" for m in messages) + "<assistant>"


@dataclass
class Engine:
    """What journeygen uses of vLLM's AsyncLLM: a tokenizer, and `generate` streaming outputs
    (samples out of index order, as a batch may finish them)."""

    finish: bool = True
    fail: Exception | None = None
    calls: list[tuple[str, Any, str]] = field(default_factory=list)

    async def get_tokenizer(self) -> Tokenizer:
        return Tokenizer()

    async def generate(self, prompt: str, params: Any, request_id: str) -> AsyncIterator[Output]:
        self.calls.append((prompt, params, request_id))
        if self.fail is not None:
            raise self.fail
        partial = Output([Sample(0, "5", [9], None)], [1, 2, 3], finished=False)
        yield partial
        yield Output(
            [Sample(1, "Five.", [7, 8, 9], "length"), Sample(0, "5", [9, 10], "stop")],
            [1, 2, 3, 4],
            finished=self.finish,
        )


def backend(engine: Engine) -> VLLMBackend:
    return VLLMBackend("org/model", engine=engine, params=lambda options: options.model_dump())


async def test_samples_come_in_index_order_with_the_prompt_counted_once() -> None:
    engine = Engine()
    options = SamplingOptions(n=2, seed=11, max_tokens=24, stop=["\n\n"])
    completions = await backend(engine).complete(MESSAGES, options)
    assert [(c.text, c.finish_reason) for c in completions] == [("5", "stop"), ("Five.", "length")]
    assert [c.usage for c in completions] == [
        Usage(calls=1, prompt_tokens=4, completion_tokens=2),
        Usage(calls=0, prompt_tokens=0, completion_tokens=3),
    ]
    [(prompt, params, _)] = engine.calls
    assert prompt == "<system>Solve step by step.<user>What is 2 + 3?<assistant>"
    assert params == options.model_dump()  # seed, n, stop and max_tokens reach the engine


async def test_each_request_has_its_own_id_and_failures_are_backend_errors() -> None:
    engine = Engine()
    llm = backend(engine)
    await llm.complete(MESSAGES, SamplingOptions())
    await llm.complete(MESSAGES, SamplingOptions())
    assert len({request_id for *_, request_id in engine.calls}) == 2
    with pytest.raises(BackendError, match="stopped before the answer was done"):
        await backend(Engine(finish=False)).complete(MESSAGES, SamplingOptions())
    too_long = Engine(fail=ValueError("prompt is longer than the maximum model length"))
    with pytest.raises(BackendError, match="vllm backend: prompt is longer"):
        await backend(too_long).complete(MESSAGES, SamplingOptions())


def test_the_registry_builds_it_without_loading_a_model() -> None:
    llm = make_backend("vllm", model="org/model", seed=3)
    assert isinstance(llm, VLLMBackend)
    assert (llm.name, llm.model, llm.seed) == ("vllm", "org/model", 3)
    with pytest.raises(ValueError, match="needs --model"):
        make_backend("vllm")


def _cuda() -> bool:
    if importlib.util.find_spec("vllm") is None or importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


@pytest.mark.skipif(not _cuda(), reason="needs vllm (journeygen[vllm]) and a CUDA GPU")
async def test_the_engine_answers_seeded_and_structured(bundled_gguf: Any) -> None:
    """On a GPU: the model of JOURNEYGEN_VLLM_MODEL, else the bundled GGUF (no download)."""
    model = os.environ.get("JOURNEYGEN_VLLM_MODEL") or str(bundled_gguf)
    extra = {} if "JOURNEYGEN_VLLM_MODEL" in os.environ else {"tokenizer": model}
    llm = VLLMBackend(model, seed=0, gpu_memory_utilization=0.3, max_model_len=2048, **extra)
    try:
        options = SamplingOptions(n=2, seed=5, temperature=0.8, max_tokens=16)
        first = await llm.complete(MESSAGES, options)
        again = await llm.complete(MESSAGES, options)
        assert [c.text for c in first] == [c.text for c in again]  # seeded
        assert first[0].usage.calls == 1 and first[0].usage.prompt_tokens > 0
        schema = {
            "type": "object",
            "properties": {"label": {"type": "string", "enum": ["correct", "incorrect"]}},
            "required": ["label"],
        }
        structured = SamplingOptions(seed=0, max_tokens=32, json_schema=schema)
        [verdict] = await llm.complete(MESSAGES, structured)
        assert '"label"' in verdict.text
    finally:
        await llm.aclose()
