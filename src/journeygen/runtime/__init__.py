"""The batch runtime: wrappers around any backend for concurrency, rate limits, run budgets,
cost, failure logging and a request cache, so search strategies never change.

The stack, outermost first: `CachedBackend` (replays cost nothing) → `MeteredBackend`
(counts what is paid, budgets, asks again on unparseable answers) → `LimitedBackend`
(requests in flight, rpm/tpm, the stop gate) → the backend itself. A provider-batch wrapper
takes the place of `LimitedBackend`'s inner backend.

A second model in a run (the dialogue's critic) gets a stack of its own over the same gate
and failure log: its own cache file and namespace, its own price, and run budgets that count
what both models paid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import Field

from journeygen.backends import OWN_HARDWARE
from journeygen.backends.base import Backend
from journeygen.models import StrictModel, Usage, empty_dict
from journeygen.runtime.cache import CachedBackend
from journeygen.runtime.failures import CURRENT_PROBLEM, FailureLog
from journeygen.runtime.limits import Gate, LimitedBackend
from journeygen.runtime.meter import MeteredBackend
from journeygen.runtime.pricing import (
    BATCH_DISCOUNT,
    Price,
    PriceTable,
    load_prices,
)

__all__ = [
    "CACHE_FILE",
    "CRITIC_CACHE_FILE",
    "CURRENT_PROBLEM",
    "FAILURES_FILE",
    "CachedBackend",
    "FailureLog",
    "Gate",
    "LimitedBackend",
    "MeteredBackend",
    "Price",
    "PriceTable",
    "RuntimeOptions",
    "Stack",
    "build_stack",
    "default_concurrency",
    "load_prices",
]

CACHE_FILE = "cache.sqlite"
CRITIC_CACHE_FILE = "critic-cache.sqlite"  # the critic model's answers and payments
FAILURES_FILE = "failures.jsonl"


def default_concurrency(backend: str) -> int:
    """16 requests in flight for a server; 1 for the in-process model (one model answers one
    request at a time) and the scripted fake (its queue is consumed in request order)."""
    return 1 if backend in ("local", "fake") else 16


class RuntimeOptions(StrictModel):
    """How a run is driven; none of it changes what a tree looks like (not in the tree hash)."""

    concurrency: int | None = Field(default=None, ge=1, le=4096, description="requests in flight")
    rpm: float | None = Field(default=None, gt=0.0, description="requests per minute")
    tpm: float | None = Field(default=None, gt=0.0, description="tokens per minute")
    max_run_tokens: int | None = Field(default=None, ge=1, description="budget: tokens per run")
    max_run_cost: float | None = Field(default=None, gt=0.0, description="budget: $ per run")
    batch: bool = Field(default=False, description="provider batch mode: half price")
    prices: dict[str, Price] = Field(default_factory=empty_dict, description="price overrides")


@dataclass
class Stack:
    """The wrapped backend a run sends its requests to, and handles on each layer."""

    backend: CachedBackend
    meter: MeteredBackend
    limits: LimitedBackend
    gate: Gate
    failures: FailureLog
    critic: Stack | None = field(default=None)  # the dialogue critic's, when another model

    @property
    def layers(self) -> list[Stack]:
        """This stack and the critic's: what a run's figures add up."""
        return [self] if self.critic is None else [self, self.critic]

    @property
    def usage(self) -> Usage:
        """Tokens this session paid, every model together."""
        return sum((layer.meter.usage for layer in self.layers), Usage())

    @property
    def run_usage(self) -> Usage:
        """Tokens the run paid in all its sessions, every model together."""
        return sum((layer.meter.prior + layer.meter.usage for layer in self.layers), Usage())

    @property
    def session_cost(self) -> float:
        """Dollars this session paid, each model at its own price."""
        return sum(layer.meter.session_cost for layer in self.layers)

    @property
    def run_cost(self) -> float:
        """Dollars the run paid in all its sessions, each model at its own price."""
        return sum(layer.meter.run_cost for layer in self.layers)

    def close(self) -> None:
        """Close what the stacks opened (the caches); the inner backends stay open."""
        for layer in self.layers:
            layer.backend.close()


def build_stack(
    inner: Backend,
    run_dir: Path,
    options: RuntimeOptions,
    *,
    backend_name: str,
    model: str | None,
    prices: PriceTable | None = None,
    beside: Stack | None = None,
) -> Stack:
    """Wrap `inner` for a run whose files live in `run_dir` (cache, failure log).

    A dollar budget needs a known price: an unknown paid model is an error then, not free.
    With `beside` (the run's stack), the new stack is the critic model's: it shares that
    stack's gate and failure log, keeps its answers in `CRITIC_CACHE_FILE`, and each
    stack's run budgets count what the other paid.
    """
    gate = beside.gate if beside else Gate()
    failures = beside.failures if beside else FailureLog(run_dir / FAILURES_FILE)
    concurrency = options.concurrency or default_concurrency(backend_name)
    limits = LimitedBackend(
        inner, concurrency=concurrency, gate=gate, rpm=options.rpm, tpm=options.tpm
    )
    price: Price | None = None
    if backend_name not in OWN_HARDWARE and model:
        price = (prices or load_prices()).merged(options.prices).price(model)
    if price is None and options.max_run_cost is not None and backend_name not in OWN_HARDWARE:
        raise ValueError(
            f"no price known for model {model!r}: give one with --prices FILE "
            "to use a dollar budget"
        )
    meter = MeteredBackend(
        limits,
        gate=gate,
        failures=failures,
        price=price,
        discount=BATCH_DISCOUNT if options.batch else 1.0,
        max_tokens=options.max_run_tokens,
        max_cost=options.max_run_cost,
    )
    cache_file = run_dir / (CRITIC_CACHE_FILE if beside else CACHE_FILE)
    cache = CachedBackend(meter, cache_file, namespace=f"{backend_name}:{model or ''}")
    meter.prior = cache.paid()  # what earlier sessions of this run paid
    if beside is not None:
        meter.peers.append(beside.meter)
        beside.meter.peers.append(meter)
    return Stack(backend=cache, meter=meter, limits=limits, gate=gate, failures=failures)
