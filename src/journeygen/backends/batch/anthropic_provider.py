"""Anthropic Message Batches as a `BatchProvider`: `requests[{custom_id, params}]` in, jsonl out.

The Messages API has no `n`, so a request for n samples becomes n batch requests with custom
ids `<key>-<index>`; the request succeeds when all n did. Results (`succeeded`, `errored`,
`canceled`, `expired`) are read once the batch's `processing_status` is `ended`.
"""

from __future__ import annotations

from collections import defaultdict

import anthropic
from anthropic.types.messages import MessageBatchIndividualResponse

from journeygen.backends.anthropic_backend import ANTHROPIC, message_params, to_completion
from journeygen.backends.base import BackendError, Completion
from journeygen.backends.batch.provider import BatchItem, BatchResults, Outcome
from journeygen.backends.sdk import SdkClient

__all__ = ["AnthropicBatchProvider"]

_RETRYABLE = {"api_error", "overloaded_error", "rate_limit_error"}


class AnthropicBatchProvider(SdkClient[anthropic.AsyncAnthropic]):
    """Batches through one `AsyncAnthropic` client (key from `ANTHROPIC_API_KEY`)."""

    name = "anthropic"
    api = ANTHROPIC

    async def find(self, token: str, since: float) -> str | None:
        """Message Batches carry no metadata to find a batch by: never found."""
        return None

    async def submit(self, items: list[BatchItem], token: str) -> str:
        requests = [
            {"custom_id": f"{item.key}-{index}", "params": params}
            for item in items
            for params in [message_params(self.model, item.messages, item.options)]
            for index in range(item.options.n)
        ]
        try:
            batch = await self.client.messages.batches.create(requests=requests)  # type: ignore[arg-type]
        except anthropic.APIError as exc:
            raise BackendError(f"anthropic batch: cannot submit: {_reason(exc)}") from None
        return batch.id

    async def poll(self, batch_id: str) -> BatchResults | None:
        try:
            batch = await self.client.messages.batches.retrieve(batch_id)
            if batch.processing_status != "ended":
                return None
            lines = [line async for line in await self.client.messages.batches.results(batch_id)]
        except anthropic.APIError as exc:
            raise BackendError(f"anthropic batch {batch_id}: {_reason(exc)}") from None
        return BatchResults(_outcomes(lines))


def _outcomes(lines: list[MessageBatchIndividualResponse]) -> dict[str, Outcome]:
    """Join the samples of each request (`<key>-<index>`) back into one outcome."""
    samples: dict[str, dict[int, Completion]] = defaultdict(dict)
    failures: dict[str, Outcome] = {}
    for line in lines:
        key, _, index = line.custom_id.rpartition("-")
        result = line.result
        if result.type == "succeeded":
            samples[key][int(index)] = to_completion(result.message)
            continue
        if result.type == "errored":
            error = result.error.error
            failure = Outcome(
                error=f"{error.type}: {error.message}", retry=error.type in _RETRYABLE
            )
        elif result.type == "expired":
            failure = Outcome(error="expired before the batch processed it", retry=True)
        else:
            failure = Outcome(error="canceled")
        if key not in failures or not failure.retry:  # a final error outranks a retryable one
            failures[key] = failure
    outcomes = dict(failures)
    for key, by_index in samples.items():
        if key not in failures:
            outcomes[key] = Outcome(completions=[by_index[i] for i in sorted(by_index)])
    return outcomes


def _reason(exc: anthropic.APIError) -> str:
    if isinstance(exc, anthropic.APIStatusError):
        return f"HTTP {exc.status_code}"  # the body may echo the key: keep only the status
    return type(exc).__name__
