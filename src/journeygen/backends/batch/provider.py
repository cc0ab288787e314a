"""What a provider's batch endpoints take and give, so the runner and the providers share
types without importing each other."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from journeygen.backends.base import ChatMessage, Completion, SamplingOptions

__all__ = ["BatchItem", "BatchProvider", "BatchResults", "Outcome"]


@dataclass(frozen=True)
class BatchItem:
    """One request in a batch; `key` is its custom id, the same in every process."""

    key: str
    messages: list[ChatMessage]
    options: SamplingOptions


@dataclass(frozen=True)
class Outcome:
    """What a batch gave for one request: its completions, or why not (and if worth a retry)."""

    completions: list[Completion] | None = None
    error: str = ""
    retry: bool = False


@dataclass(frozen=True)
class BatchResults:
    """An ended batch: an outcome per request key, and the outcome of any key it lacks."""

    outcomes: dict[str, Outcome]
    missing: Outcome = field(
        default_factory=lambda: Outcome(error="no result in the batch output", retry=True)
    )


class BatchProvider(Protocol):
    """One provider's batch endpoints: submit items, and poll a batch until it has ended."""

    name: str
    model: str

    async def submit(self, items: list[BatchItem], token: str) -> str:
        """Create a batch of `items`, tagged with `token` where the provider allows; return
        its id."""

    async def find(self, token: str, since: float) -> str | None:
        """The id of the batch tagged `token`, created after `since` (unix time), if any."""

    async def poll(self, batch_id: str) -> BatchResults | None:
        """None while the batch runs; its results once it has ended (completed or not)."""

    async def aclose(self) -> None: ...
