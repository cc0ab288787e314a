"""Benchmark 1: decode tokens/s of a tree search on the embedded model vs raw llama.cpp.

A whole `generate` run (beam search, judging, saving, exporting, the runtime stack) on the
bundled SmolLM2 GGUF records every request it makes. Then, in the same process, a plain
loop hands the same prompts with the same sampling settings, in the same order, straight to
`llama_cpp.Llama.create_chat_completion` (one sample per call, as the backend does). Decode
tokens/s is completion tokens ÷ wall time, so everything the tree search does besides
decoding counts against it. Prompt tokens evaluated ÷ requested shows how much of each
prompt came from llama.cpp's KV cache. `--concurrency 1` serves requests first come, first
served; with more, the backend picks the waiting request sharing the longest prefix.

Each run is repeated `--reps` times, alternating with its raw replay; the fastest of each
counts, so a busy machine slows both alike.

Run: `.venv/bin/python bench/embedded_decode.py [--problems 3] [--levels 1,4] [--reps 3]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llama_cpp import Llama

from journeygen.backends.base import ChatMessage, Completion, SamplingOptions
from journeygen.backends.local import LocalBackend, bundled_model_path, reused_prefix_tokens
from journeygen.config import RunConfig, SearchConfig
from journeygen.executors.local import generate
from journeygen.prompts import load_prompts
from journeygen.runtime import RuntimeOptions

ROOT = Path(__file__).resolve().parent.parent
N_CTX = 2048


class Recorder:
    """Passes requests to the local backend and keeps them, to replay them raw."""

    name = "local"

    def __init__(self, inner: LocalBackend) -> None:
        self.inner = inner
        self.requests: list[tuple[list[ChatMessage], SamplingOptions]] = []

    async def complete(
        self, messages: list[ChatMessage], options: SamplingOptions
    ) -> list[Completion]:
        self.requests.append((messages, options))
        return await self.inner.complete(messages, options)

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass
class Figures:
    samples: int
    completion_tokens: int
    prompt_requested: int
    prompt_evaluated: int
    wall_s: float

    @property
    def tokens_per_s(self) -> float:
        return self.completion_tokens / self.wall_s

    @property
    def evaluated_share(self) -> float:
        return self.prompt_evaluated / max(self.prompt_requested, 1)


async def tree_search(problems: int, concurrency: int, folder: Path) -> tuple[Figures, Recorder]:
    local = LocalBackend(n_ctx=N_CTX, seed=0)
    await local.complete([{"role": "user", "content": "Hi"}], SamplingOptions(max_tokens=1))
    local.prompt_tokens_requested = local.prompt_tokens_evaluated = 0  # load and warm-up
    recorder = Recorder(local)
    config = RunConfig(search=SearchConfig(width=3, keep=2, depth=3))
    started = time.perf_counter()
    summary = await generate(
        ROOT / "examples" / "problems.jsonl",
        run=f"c{concurrency}",
        config=config,
        backend=recorder,  # type: ignore[arg-type]
        prompts=load_prompts(),
        trees_dir=folder / "trees",
        out_dir=folder / "outputs",
        limit=problems,
        runtime=RuntimeOptions(concurrency=concurrency),
        fresh=True,
    )
    wall = time.perf_counter() - started
    await local.aclose()
    figures = Figures(
        samples=summary.usage.calls,
        completion_tokens=summary.usage.completion_tokens,
        prompt_requested=local.prompt_tokens_requested,
        prompt_evaluated=local.prompt_tokens_evaluated,
        wall_s=wall,
    )
    return figures, recorder


def raw_replay(requests: list[tuple[list[ChatMessage], SamplingOptions]]) -> Figures:
    """The same prompts and settings, in the same order, straight to llama.cpp."""
    llama = Llama(model_path=str(bundled_model_path()), n_ctx=N_CTX, seed=0, verbose=False)
    llama.create_chat_completion(messages=[{"role": "user", "content": "Hi"}], max_tokens=1)
    figures = Figures(0, 0, 0, 0, 0.0)
    started = time.perf_counter()
    for messages, options in requests:
        for index in range(options.n):
            cached = llama._input_ids.tolist()
            response: Any = llama.create_chat_completion(
                messages=messages,  # type: ignore[arg-type]
                temperature=options.temperature,
                max_tokens=options.max_tokens,
                stop=options.stop,
                seed=None if options.seed is None else options.seed + index,
            )
            usage = response["usage"]
            prompt = llama._input_ids[: usage["prompt_tokens"]].tolist()
            figures.samples += 1
            figures.completion_tokens += usage["completion_tokens"]
            figures.prompt_requested += usage["prompt_tokens"]
            figures.prompt_evaluated += usage["prompt_tokens"] - reused_prefix_tokens(
                cached, prompt
            )
    figures.wall_s = time.perf_counter() - started
    llama.close()
    return figures


def row(name: str, f: Figures, raw: Figures | None) -> str:
    ratio = f"{f.tokens_per_s / raw.tokens_per_s:.0%}" if raw else "100%"
    return (
        f"| {name} | {f.samples} | {f.completion_tokens} | {f.wall_s:.1f} | "
        f"{f.tokens_per_s:.1f} | {ratio} | {f.prompt_evaluated} / {f.prompt_requested} "
        f"({f.evaluated_share:.0%}) |"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=3, help="from examples/problems.jsonl")
    parser.add_argument("--levels", default="1,4", help="request concurrency levels")
    parser.add_argument("--reps", type=int, default=3, help="runs of each; the fastest counts")
    args = parser.parse_args()
    print(
        "| run | samples | completion tokens | wall s | decode tok/s | vs raw | "
        "prompt tokens evaluated / requested |"
    )
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for level in (int(x) for x in args.levels.split(",")):
            searches: list[Figures] = []
            raws: list[Figures] = []
            for _ in range(args.reps):  # alternate, so both see the same load on the machine
                search, recorder = await tree_search(args.problems, level, Path(folder))
                searches.append(search)
                raws.append(raw_replay(recorder.requests))
            best_search = min(searches, key=lambda f: f.wall_s)
            best_raw = min(raws, key=lambda f: f.wall_s)
            print(row(f"raw llama.cpp, same prompts (c{level} order)", best_raw, None))
            print(row(f"tree search, --concurrency {level}", best_search, best_raw), flush=True)
    print(f"CPU cores {os.cpu_count()}, load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    asyncio.run(main())
