"""Samples to jsonl a trainer loads as is: OpenAI chat SFT rows, provenance in a side file."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jsonlines

from journeygen.models import Sample
from journeygen.store import atomic_open

__all__ = ["assistant_content", "openai_row", "provenance_path", "write_samples"]


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


def assistant_content(sample: Sample) -> str:
    """R1 style: the long thought inside `<think>` tags, then the final solution."""
    return f"<think>\n{sample.thought}\n</think>\n\n{sample.solution}"


def openai_row(sample: Sample, *, system: str | None = None) -> dict[str, Any]:
    """One OpenAI chat fine-tuning row: `{"messages": [system?, user, assistant]}`."""
    messages = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": sample.prompt})
    messages.append({"role": "assistant", "content": assistant_content(sample)})
    return {"messages": messages}


def provenance_path(path: Path) -> Path:
    """`journey.jsonl` → `journey.provenance.jsonl`: line N describes row N."""
    return path.with_name(f"{path.stem}.provenance.jsonl")


def write_samples(samples: Iterable[Sample], path: Path, *, system: str | None = None) -> int:
    """Write rows and their provenance side by side, atomically; return the row count.

    OpenAI's fine-tuning format accepts no extra keys, so provenance goes to a side file.
    """
    rows = 0
    with atomic_open(path) as out, atomic_open(provenance_path(path)) as side:
        writer = jsonlines.Writer(out, dumps=_dumps)
        side_writer = jsonlines.Writer(side, dumps=_dumps)
        for sample in samples:
            writer.write(openai_row(sample, system=system))
            side_writer.write({"kind": sample.kind, **sample.provenance.model_dump(mode="json")})
            rows += 1
    return rows
