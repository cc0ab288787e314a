"""The embedded backend reuses llama.cpp's KV cache: it counts what it reused and serves the
waiting request that shares the longest prompt prefix next (real SmolLM2, a fresh model)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from journeygen.backends.base import ChatMessage, Completion, SamplingOptions
from journeygen.backends.local import LocalBackend
from journeygen.prompts import load_prompts

pytestmark = pytest.mark.model


def prompt(question: str, progress: str = "") -> list[ChatMessage]:
    return load_prompts().step.render(question=question, progress=progress)


@pytest.fixture
def fresh(bundled_gguf: Path) -> Iterator[LocalBackend]:
    """A model of its own: an empty KV cache and counters at zero."""
    backend = LocalBackend(bundled_gguf, n_ctx=1024, seed=0)
    yield backend
    asyncio.run(backend.aclose())


async def test_samples_of_one_request_evaluate_the_prompt_once(fresh: LocalBackend) -> None:
    first, second = await fresh.complete(
        prompt("Tom has 3 apples and buys 5 more. How many now?"),
        SamplingOptions(n=2, seed=3, max_tokens=4),
    )
    size = first.usage.prompt_tokens
    assert size > 20 and second.usage.prompt_tokens == size
    # The first sample evaluates the whole prompt; the second takes all but the last token
    # from the KV cache (llama.cpp evaluates that one again to get fresh logits).
    assert fresh.prompt_tokens_requested == 2 * size
    assert fresh.prompt_tokens_evaluated == size + 1


async def test_the_request_sharing_the_longest_prefix_goes_next(fresh: LocalBackend) -> None:
    question = "Tom has 3 apples and buys 5 more. How many now?"
    options = SamplingOptions(seed=1, max_tokens=6)
    served: list[str] = []

    def start(name: str, messages: list[ChatMessage]) -> asyncio.Task[list[Completion]]:
        task = asyncio.create_task(fresh.complete(messages, options))
        task.add_done_callback(lambda _: served.append(name))
        return task

    first = start("first", prompt(question))
    await asyncio.sleep(0)  # `first` holds the model; the next two wait
    other = start("other problem", prompt("Ann reads 4 pages a day. How many in 7 days?"))
    child = start("same problem", prompt(question, "So far: 3 + 5 = 8.\n"))
    await asyncio.gather(first, other, child)
    # First come, first served would answer "other problem" second.
    assert served == ["first", "same problem", "other problem"]
