"""A scripted, deterministic backend for tests and dry runs (after simonw/llm's mock model)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import ValidationError

from journeygen.backends.base import BackendError, ChatMessage, Completion, SamplingOptions
from journeygen.models import StrictModel, Usage

__all__ = ["FakeBackend", "Responder"]

Responder = Callable[[list[ChatMessage], SamplingOptions, int], str]
"""Computes one response from (messages, options, sample index within the call)."""


class _Script(StrictModel):
    """The object form of a script file: the responses and whether to wrap around."""

    responses: list[str]
    cycle: bool = False


def _words(text: str) -> int:
    return len(text.split())


class FakeBackend:
    """Answers from a queue of strings (one per sample, in order) or from a callable.

    Token usage counts words, so it is deterministic. Every call is kept in `calls` unless
    `history` is off (a dry run of 10,000 problems must not hold every prompt it sent).
    """

    def __init__(
        self,
        responses: Sequence[str] | Responder = (),
        *,
        name: str = "fake",
        cycle: bool = False,
        history: bool = True,
    ) -> None:
        self.name = name
        self.calls: list[tuple[list[ChatMessage], SamplingOptions]] = []
        self._history = history
        self._responder: Responder | None = None
        self._script: list[str] = []
        if callable(responses):
            self._responder = responses
        else:
            self._script = list(responses)
        if cycle and not self._script:
            raise ValueError("fake backend: cycle needs at least one response")
        self._cycle = cycle
        self._position = 0

    @classmethod
    def from_file(
        cls, path: str | Path, *, name: str = "fake", history: bool = True
    ) -> FakeBackend:
        """Load a script: a JSON list of strings, or `{"responses": [...], "cycle": true}`."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise BackendError(f"fake backend: cannot read script {path}: {exc}") from exc
        try:
            script = _Script.model_validate({"responses": data} if isinstance(data, list) else data)
        except ValidationError as exc:
            raise BackendError(
                f"fake backend: {path} must hold a list of strings or "
                f'{{"responses": [...], "cycle": true}}: {exc.errors()[0]["msg"]}'
            ) from None
        if script.cycle and not script.responses:
            raise BackendError(f"fake backend: {path} has no responses to cycle through")
        return cls(script.responses, name=name, cycle=script.cycle, history=history)

    async def aclose(self) -> None:
        """Nothing to release: a script holds no connection or model."""

    async def complete(
        self, messages: list[ChatMessage], options: SamplingOptions
    ) -> list[Completion]:
        if self._history:
            self.calls.append(([m.copy() for m in messages], options.model_copy(deep=True)))
        left = len(self._script) - self._position
        if self._responder is None and not self._cycle and options.n > left:
            raise BackendError(
                f"fake backend: script exhausted after {len(self._script)} responses"
            )
        texts = [self._next(messages, options, i) for i in range(options.n)]
        prompt_tokens = sum(_words(m["content"]) for m in messages)
        return [
            Completion(
                text=text,
                finish_reason="stop",
                usage=Usage(
                    calls=1 if i == 0 else 0,
                    prompt_tokens=prompt_tokens if i == 0 else 0,
                    completion_tokens=_words(text),
                ),
            )
            for i, text in enumerate(texts)
        ]

    def _next(self, messages: list[ChatMessage], options: SamplingOptions, index: int) -> str:
        if self._responder is not None:
            return self._responder(messages, options, index)
        if self._position >= len(self._script):  # only reached when cycling
            self._position = 0
        text = self._script[self._position]
        self._position += 1
        return text

    def __repr__(self) -> str:
        source = "callable" if self._responder else f"{len(self._script)} responses"
        return f"FakeBackend(name={self.name!r}, {source}, cycle={self._cycle})"
