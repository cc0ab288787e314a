"""LLM-written texts of a run (reflections, rewrites), kept beside its trees and keyed by the
exact request, so a re-export is offline, gives the same bytes, and pays no token twice.

Each text is appended to `llm-texts.jsonl` the moment it arrives (one JSON line, flushed to
disk), so Ctrl-C, a crash or a budget stop keeps every text paid for; the texts are asked
through the run's runtime stack, many at once, like the search's own requests.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

from pydantic import ValidationError

from journeygen.models import StrictModel
from journeygen.seeds import request_seed

if TYPE_CHECKING:  # types only: `show` and `stats` load no backend module
    from journeygen.backends.base import Backend, ChatMessage

__all__ = ["TEXTS_FILE", "Purpose", "TextCache", "TextRequest", "ask_texts"]

TEXTS_FILE = "llm-texts.jsonl"
Purpose = Literal["reflect", "rewrite"]


class TextRequest(StrictModel):
    """One text a sample needs: what to send, and the key it is stored under."""

    key: str
    purpose: Purpose
    messages: list[dict[str, str]]
    max_tokens: int


class _Entry(StrictModel):
    key: str
    purpose: Purpose
    text: str


class TextCache:
    """Texts by request key; `get` records every miss so the texts can be asked for later."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.entries: dict[str, _Entry] = {}
        self.missing: dict[str, TextRequest] = {}
        if path is not None and path.is_file():
            self._read(path)

    def _read(self, path: Path) -> None:
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, start=1):
            try:
                entry = _Entry.model_validate_json(line)
            except ValidationError as exc:
                if number == len(lines):  # a line cut by a crash mid-write: asked again
                    break
                raise ValueError(f"{path}:{number}: not a journeygen text: {exc}") from None
            self.entries[entry.key] = entry

    @staticmethod
    def key(purpose: Purpose, messages: list[ChatMessage]) -> str:
        canonical = json.dumps([purpose, messages], sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()[:24]

    def get(self, purpose: Purpose, messages: list[ChatMessage], *, max_tokens: int) -> str | None:
        key = self.key(purpose, messages)
        entry = self.entries.get(key)
        if entry is None:
            self.missing[key] = TextRequest(
                key=key,
                purpose=purpose,
                messages=[{"role": m["role"], "content": m["content"]} for m in messages],
                max_tokens=max_tokens,
            )
            return None
        return entry.text

    def put(self, key: str, purpose: Purpose, text: str) -> None:
        """Keep a text, on disk at once (appended and flushed)."""
        entry = _Entry(key=key, purpose=purpose, text=text)
        self.entries[key] = entry
        self.missing.pop(key, None)
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(entry.model_dump_json() + "\n")
            handle.flush()
            os.fsync(handle.fileno())


async def ask_texts(
    cache: TextCache, requests: Iterable[TextRequest], backend: Backend, *, seed: int
) -> int:
    """Ask `backend` (the run's runtime stack) for every text in `requests` at once, greedy and
    seeded, keeping each as it arrives; return how many were asked."""
    import asyncio  # loaded by the running loop anyway; at module level it cost `stats` 30 ms

    from journeygen.backends.base import SamplingOptions  # the options type, at run time only

    async def ask(request: TextRequest) -> None:
        options = SamplingOptions(
            n=1,
            temperature=0.0,
            max_tokens=request.max_tokens,
            seed=request_seed(seed, request.purpose, request.key),
        )
        messages = cast("list[ChatMessage]", request.messages)
        completion = (await backend.complete(messages, options))[0]
        cache.put(request.key, request.purpose, completion.text.strip())

    wanted = [r for r in {r.key: r for r in requests}.values() if r.key not in cache.entries]
    await asyncio.gather(*(ask(request) for request in sorted(wanted, key=lambda r: r.key)))
    return len(wanted)
