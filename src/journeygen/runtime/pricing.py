"""What tokens cost: a dated price table for common OpenAI and Anthropic models, overridable."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError

from journeygen.models import StrictModel, Usage, empty_dict

__all__ = ["BATCH_DISCOUNT", "Price", "PriceTable", "load_prices"]

BATCH_DISCOUNT = 0.5
"""Both OpenAI's Batch API and Anthropic's Message Batches bill half the list price."""


class Price(StrictModel):
    """Dollars per 1M tokens; cached prompt tokens cost the input price unless given."""

    input: float = Field(ge=0.0)
    output: float = Field(ge=0.0)
    cache_read: float | None = Field(default=None, ge=0.0)
    cache_write: float | None = Field(default=None, ge=0.0)

    def cost(self, usage: Usage) -> float:
        """Dollars for `usage` (cache reads and writes are parts of its prompt tokens)."""
        read = usage.cache_read_tokens
        write = usage.cache_write_tokens
        plain = max(usage.prompt_tokens - read - write, 0)
        total = (
            plain * self.input
            + read * (self.input if self.cache_read is None else self.cache_read)
            + write * (self.input if self.cache_write is None else self.cache_write)
            + usage.completion_tokens * self.output
        )
        return total / 1_000_000


class PriceTable(StrictModel):
    """Prices by model name; a name matches its longest listed prefix."""

    date: str = ""
    models: dict[str, Price] = Field(default_factory=empty_dict)

    def price(self, model: str) -> Price | None:
        matches = [name for name in self.models if model.startswith(name)]
        return self.models[max(matches, key=len)] if matches else None

    def merged(self, overrides: Mapping[str, Price]) -> PriceTable:
        """This table with `overrides` replacing or adding models."""
        return PriceTable(date=self.date, models={**self.models, **overrides})


def _parse(data: Any, where: str) -> PriceTable:
    try:
        return PriceTable.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"])
        raise ValueError(f"{where}: field {field!r}: {error['msg']}") from None


def load_prices(path: str | Path | None = None) -> PriceTable:
    """The built-in table, with the models of the YAML file at `path` (same shape) on top."""
    text = (Path(__file__).parent / "prices.yaml").read_text(encoding="utf-8")
    table = _parse(yaml.safe_load(text), "built-in prices.yaml")
    if path is None:
        return table
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read prices file {path}: {exc}") from None
    if isinstance(data, dict) and "models" not in data:
        data = {"models": data}  # a bare mapping of model -> price is fine too
    return table.merged(_parse(data, str(path)).models)
