"""The `generate` options that drive a run (concurrency, limits, budgets, prices, resume),
collected into one `RunSettings` argument so the command's own signature stays short."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from journeygen.backends.build import BackendSpec
from journeygen.config import BackendConfig
from journeygen.runtime import PriceTable, RuntimeOptions, load_prices

__all__ = ["BATCH_CONCURRENCY", "RunSettings", "runtime_options"]

BATCH_CONCURRENCY = 1024


@dataclass
class RunSettings:
    """The run-driving options of one `generate` call."""

    runtime: RuntimeOptions
    prices: PriceTable
    fresh: bool
    timeout: float
    max_retries: int

    def backend(self, config: BackendConfig, seed: int) -> BackendSpec:
        """How to build one model of the run, with these timeouts and retries."""
        return BackendSpec(
            config.name, config.model, config.base_url, seed, self.timeout, self.max_retries
        )


_OPTIONS = [
    click.option(
        "--concurrency",
        type=click.IntRange(1, 4096),
        help="Requests in flight across all trees  [default: 16; 1 for local and fake]",
    ),
    click.option("--rpm", type=click.FloatRange(min=0, min_open=True), help="Requests a minute."),
    click.option("--tpm", type=click.FloatRange(min=0, min_open=True), help="Tokens a minute."),
    click.option(
        "--max-run-tokens",
        type=click.IntRange(min=1),
        help="Stop the run after this many tokens (over every session of the run).",
    ),
    click.option(
        "--max-cost",
        type=click.FloatRange(min=0, min_open=True),
        help="Stop the run after this many dollars (over every session of the run).",
    ),
    click.option(
        "--prices",
        "prices_file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="YAML of model: {input: $, output: $} per 1M tokens, over the built-in table.",
    ),
    click.option(
        "--timeout",
        type=click.FloatRange(min=0, min_open=True),
        default=120.0,
        show_default=True,
        help="Seconds one request attempt may take (openai, anthropic).",
    ),
    click.option(
        "--max-retries",
        type=click.IntRange(0, 20),
        default=2,
        show_default=True,
        help="SDK retries of timeouts, transport errors, 429 and 5xx.",
    ),
    click.option(
        "--batch",
        is_flag=True,
        help="Send the requests of all trees as provider batches (openai, anthropic): half "
        "price, answers within 24 h; implies --concurrency 1024 unless given.",
    ),
    click.option(
        "--resume/--fresh",
        default=True,
        show_default=True,
        help="Reuse the run's finished trees and cached requests, or delete them first.",
    ),
]


def runtime_options(command: Callable[..., None]) -> Callable[..., None]:
    """Add the options above to a click command, which receives them as `settings`."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        prices_file = kwargs.pop("prices_file")
        try:
            prices = load_prices(prices_file)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--prices") from None
        batch = kwargs.pop("batch")
        settings = RunSettings(
            runtime=RuntimeOptions(
                # A batch holds what every tree waits on: let many trees wait at once.
                concurrency=kwargs.pop("concurrency") or (BATCH_CONCURRENCY if batch else None),
                batch=batch,
                rpm=kwargs.pop("rpm"),
                tpm=kwargs.pop("tpm"),
                max_run_tokens=kwargs.pop("max_run_tokens"),
                max_run_cost=kwargs.pop("max_cost"),
            ),
            prices=prices,
            fresh=not kwargs.pop("resume"),
            timeout=kwargs.pop("timeout"),
            max_retries=kwargs.pop("max_retries"),
        )
        command(*args, settings=settings, **kwargs)

    for option in reversed(_OPTIONS):
        wrapper = option(wrapper)
    return wrapper
