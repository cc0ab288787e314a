"""A scripted, deterministic backend for tests and dry runs (after simonw/llm's mock model)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import ValidationError

from journeygen.backends.base import (
    BackendError,
    BackendOptions,
    ChatMessage,
    Completion,
    SamplingOptions,
)
from journeygen.models import StrictModel, Usage

__all__ = ["DEFAULT_RESPONSE", "FakeBackend", "Reply", "Responder"]

DEFAULT_RESPONSE = "The answer is 0."
"""What `make_backend("fake")` answers when given no script."""

Reply = str | Completion
"""One scripted answer: its text, or a `Completion` whose text, reasoning and finish reason
are answered as given (usage is counted in words either way)."""

Responder = Callable[[list[ChatMessage], SamplingOptions, int], Reply]
"""Computes one response from (messages, options, sample index within the call)."""


class _Script(StrictModel):
    """The object form of a script file: the responses and whether to wrap around."""

    responses: list[str | Completion]
    cycle: bool = False


def _words(text: str) -> int:
    return len(text.split())


class FakeBackend:
    """Answers from a queue of replies (one per sample, in order) or from a callable.

    Token usage counts words, so it is deterministic. Every call is kept in `calls` unless
    `history` is off (a dry run of 10,000 problems must not hold every prompt it sent).
    """

    def __init__(
        self,
        responses: Sequence[Reply] | Responder = (),
        *,
        name: str = "fake",
        cycle: bool = False,
        history: bool = True,
    ) -> None:
        self.name = name
        self.calls: list[tuple[list[ChatMessage], SamplingOptions]] = []
        self._history = history
        self._responder: Responder | None = None
        self._script: list[Reply] = []
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
        """Load a script: a JSON list of replies, or `{"responses": [...], "cycle": true}`;
        a reply is a string or `{"text": ..., "reasoning": ..., "finish_reason": ...}`."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise BackendError(f"fake backend: cannot read script {path}: {exc}") from exc
        try:
            script = _Script.model_validate({"responses": data} if isinstance(data, list) else data)
        except ValidationError as exc:
            raise BackendError(
                f'fake backend: {path} must hold a list of replies (strings or {{"text": ...}}) '
                f'or {{"responses": [...], "cycle": true}}: {exc.errors()[0]["msg"]}'
            ) from None
        if script.cycle and not script.responses:
            raise BackendError(f"fake backend: {path} has no responses to cycle through")
        return cls(script.responses, name=name, cycle=script.cycle, history=history)

    @classmethod
    def create(cls, options: BackendOptions) -> FakeBackend:
        """`make_backend("fake")`: the script file at `options.model`, else always
        `DEFAULT_RESPONSE`. A command-line run keeps no call history, so memory stays flat."""
        options.check_no_server("fake")
        if options.model:
            return cls.from_file(options.model, history=False)
        return cls([DEFAULT_RESPONSE], cycle=True, history=False)

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
        replies = [self._next(messages, options, i) for i in range(options.n)]
        prompt_tokens = sum(_words(m["content"]) for m in messages)
        completions = []
        for i, reply in enumerate(replies):
            given = Completion(text=reply) if isinstance(reply, str) else reply
            usage = Usage(
                calls=1 if i == 0 else 0,
                prompt_tokens=prompt_tokens if i == 0 else 0,
                completion_tokens=_words(given.text),
            )
            completions.append(
                Completion(
                    text=given.text,
                    finish_reason=given.finish_reason or "stop",
                    reasoning=given.reasoning,
                    usage=usage,
                )
            )
        return completions

    def _next(self, messages: list[ChatMessage], options: SamplingOptions, index: int) -> Reply:
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
