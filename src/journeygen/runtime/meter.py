"""Counts what a run pays (calls, tokens, dollars), enforces run budgets, logs failed requests
and asks again when an answer does not parse (the SDKs already retry transport errors)."""

from __future__ import annotations

from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_fixed

from journeygen.backends.base import (
    Backend,
    BackendError,
    ChatMessage,
    Completion,
    SamplingOptions,
    UnparseableResponse,
)
from journeygen.models import Usage
from journeygen.runtime.failures import FailureLog
from journeygen.runtime.limits import Gate
from journeygen.runtime.pricing import Price

__all__ = ["MeteredBackend"]


class MeteredBackend:
    """Meters requests that reach `inner` (put it under the cache: replays cost nothing).

    `prior` is what earlier sessions of the run paid; budgets count it, so a resumed run
    does not get its budget afresh, and `peers` (the meters of the run's other models, e.g.
    the dialogue's critic) count too. When a budget is reached the gate stops new requests;
    the ones in flight finish and are kept.
    """

    def __init__(
        self,
        inner: Backend,
        *,
        gate: Gate,
        failures: FailureLog,
        price: Price | None = None,
        discount: float = 1.0,
        prior: Usage | None = None,
        max_tokens: int | None = None,
        max_cost: float | None = None,
        parse_attempts: int = 3,
        parse_wait: float = 0.5,
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.gate = gate
        self.failures = failures
        self.price = price
        self.discount = discount
        self.prior = prior or Usage()
        self.usage = Usage()  # this session
        self.failed = 0
        self.max_tokens = max_tokens
        self.max_cost = max_cost
        self.peers: list[MeteredBackend] = []
        self._retrying = AsyncRetrying(
            retry=retry_if_exception_type(UnparseableResponse),
            stop=stop_after_attempt(parse_attempts),
            wait=wait_fixed(parse_wait),
            before_sleep=self._log_retry,
            reraise=True,
        )

    def cost(self, usage: Usage) -> float:
        return 0.0 if self.price is None else self.price.cost(usage) * self.discount

    @property
    def session_cost(self) -> float:
        return self.cost(self.usage)

    @property
    def run_cost(self) -> float:
        return self.cost(self.prior + self.usage)

    async def complete(
        self, messages: list[ChatMessage], options: SamplingOptions
    ) -> list[Completion]:
        try:
            retrying = self._retrying.copy()  # its statistics are per call
            completions: list[Completion] = await retrying(self.inner.complete, messages, options)
        except BackendError as exc:
            self.failed += 1
            self.failures.add("request", str(exc))
            raise
        self.usage = sum((c.usage for c in completions), self.usage)
        self._check_budgets()
        return completions

    def _log_retry(self, state: object) -> None:
        outcome = getattr(state, "outcome", None)
        error = outcome.exception() if outcome is not None else None
        self.failures.add("request", f"{error} (asked again)", retried=True)

    def _check_budgets(self) -> None:
        meters = [self, *self.peers]
        tokens = sum((m.prior + m.usage).total_tokens for m in meters)
        if self.max_tokens is not None and tokens >= self.max_tokens:
            self.gate.stop(f"run token budget reached ({self.max_tokens} tokens)")
        if self.max_cost is not None and sum(m.run_cost for m in meters) >= self.max_cost:
            self.gate.stop(f"run cost budget reached (${self.max_cost:.2f})")

    async def aclose(self) -> None:
        await self.inner.aclose()
