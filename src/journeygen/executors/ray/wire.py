"""What the driver and its Ray workers send each other: plain dicts of JSON values, so no
pydantic class or SDK exception has to travel through pickle, and a worker of another build
fails loudly on a field it does not know instead of guessing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, cast

from journeygen.backends.base import (
    BackendError,
    ChatMessage,
    Completion,
    RunStopped,
    SamplingOptions,
    UnparseableResponse,
)

__all__ = ["Layer", "Request", "decode_answer", "encode_completions", "encode_error"]

Layer = Literal["policy", "critic"]
"""Which model of the run a request is for: the run's own, or the dialogue's critic."""

Payload = dict[str, Any]
_ERRORS: dict[str, type[Exception]] = {
    "stopped": RunStopped,
    "unparseable": UnparseableResponse,
    "backend": BackendError,
}


@dataclass(frozen=True)
class Request:
    """One request a worker's search waits on; `ticket` names it in the answer."""

    ticket: str
    layer: Layer
    problem: str | None
    messages: list[ChatMessage]
    options: SamplingOptions

    def encode(self) -> Payload:
        return {
            "ticket": self.ticket,
            "layer": self.layer,
            "problem": self.problem,
            "messages": [dict(message) for message in self.messages],
            "options": self.options.model_dump(mode="json"),
        }

    @classmethod
    def decode(cls, payload: Payload) -> Request:
        return cls(
            ticket=payload["ticket"],
            layer=payload["layer"],
            problem=payload["problem"],
            messages=cast("list[ChatMessage]", payload["messages"]),
            options=SamplingOptions.model_validate(payload["options"]),
        )


def encode_completions(completions: list[Completion]) -> Payload:
    return {"completions": [completion.model_dump(mode="json") for completion in completions]}


def encode_error(exc: Exception) -> Payload:
    """A failure the other side raises again as the same kind: a stop, an unparseable answer
    (the meter asks again), a backend error (logged; the tree fails) or anything else."""
    if isinstance(exc, RunStopped):
        kind = "stopped"
    elif isinstance(exc, UnparseableResponse):
        kind = "unparseable"
    elif isinstance(exc, BackendError):
        kind = "backend"
    else:
        kind = "internal"
    return {"error": kind, "message": str(exc) or type(exc).__name__}


def decode_answer(payload: Payload) -> list[Completion]:
    """The completions of an answer, or its failure raised again."""
    if "error" in payload:
        raise _ERRORS.get(payload["error"], RuntimeError)(payload["message"])
    return [Completion.model_validate(item) for item in payload["completions"]]
