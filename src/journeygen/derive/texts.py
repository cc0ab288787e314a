"""LLM-written texts of a run (reflections, rewrites), kept beside its trees and keyed by the
exact request, so a re-export is offline, gives the same bytes, and pays no token twice."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

from pydantic import ValidationError

from journeygen.models import StrictModel
from journeygen.seeds import request_seed
from journeygen.store import atomic_open

if TYPE_CHECKING:
    from journeygen.backends.base import Backend, ChatMessage

__all__ = ["TEXTS_FILE", "Purpose", "TextCache", "fill_texts"]

TEXTS_FILE = "llm-texts.json"
Purpose = Literal["reflect", "rewrite"]


class _Request(StrictModel):
    purpose: Purpose
    messages: list[dict[str, str]]
    max_tokens: int


class _Entry(StrictModel):
    purpose: Purpose
    text: str


class TextCache:
    """Texts by request key; `get` records every miss so a backend can answer them later."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.entries: dict[str, _Entry] = {}
        self.missing: dict[str, _Request] = {}
        if path is not None and path.is_file():
            try:
                raw = json.loads(path.read_text(encoding="utf-8"))
                self.entries = {key: _Entry.model_validate(v) for key, v in raw.items()}
            except (ValueError, AttributeError, ValidationError) as exc:
                raise ValueError(f"{path}: not a journeygen text cache: {exc}") from None

    @staticmethod
    def key(purpose: Purpose, messages: list[ChatMessage]) -> str:
        canonical = json.dumps([purpose, messages], sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()[:24]

    def get(self, purpose: Purpose, messages: list[ChatMessage], *, max_tokens: int) -> str | None:
        key = self.key(purpose, messages)
        entry = self.entries.get(key)
        if entry is None:
            self.missing[key] = _Request(
                purpose=purpose,
                messages=[{"role": m["role"], "content": m["content"]} for m in messages],
                max_tokens=max_tokens,
            )
            return None
        return entry.text

    def put(self, key: str, purpose: Purpose, text: str) -> None:
        self.entries[key] = _Entry(purpose=purpose, text=text)
        self.missing.pop(key, None)

    def save(self) -> None:
        if self.path is None:
            return
        data = {key: self.entries[key].model_dump() for key in sorted(self.entries)}
        with atomic_open(self.path) as handle:
            json.dump(data, handle, ensure_ascii=False, indent=1)
            handle.write("\n")


async def fill_texts(cache: TextCache, backend: Backend, *, seed: int) -> int:
    """Ask `backend` for every text the cache missed (greedy, seeded), store and save them;
    return how many were asked."""
    from journeygen.backends.base import SamplingOptions  # only here: reading texts needs none

    asked = 0
    for key, request in sorted(cache.missing.items()):
        messages = cast("list[ChatMessage]", request.messages)
        options = SamplingOptions(
            n=1,
            temperature=0.0,
            max_tokens=request.max_tokens,
            seed=request_seed(seed, request.purpose, key),
        )
        completion = (await backend.complete(messages, options))[0]
        cache.put(key, request.purpose, completion.text.strip())
        asked += 1
    cache.save()
    return asked
