"""The resolved settings of a run; their hash keys trees so a changed setting is never mixed in."""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import Field

from journeygen.models import StrictModel

__all__ = ["BackendConfig", "JourneyConfig", "RunConfig", "SearchConfig"]


class BackendConfig(StrictModel):
    """Which LLM answers; never holds a key (keys come from the environment)."""

    name: Literal["local", "openai", "fake"] = "local"
    model: str | None = None
    base_url: str | None = None


class SearchConfig(StrictModel):
    """How a tree grows and when it stops."""

    strategy: Literal["beam"] = "beam"
    width: int = Field(default=4, ge=1, le=64, description="next steps sampled per frontier node")
    keep: int = Field(default=2, ge=1, le=64, description="frontier nodes kept per depth")
    depth: int = Field(default=4, ge=1, le=64, description="steps before the solution must end")
    temperature: float = Field(default=0.9, ge=0.0, le=2.0)
    step_tokens: int = Field(default=96, ge=8, le=4096, description="max tokens of one step")
    final_tokens: int = Field(default=128, ge=8, le=8192, description="max tokens of a last step")
    max_nodes: int = Field(default=200, ge=1, description="budget: nodes per tree")
    max_tokens: int = Field(default=200_000, ge=1, description="budget: tokens per tree")
    reference_path: Literal["fallback", "never", "always"] = "fallback"
    answer_timeout: float = Field(default=5.0, gt=0.0)


class JourneyConfig(StrictModel):
    """How journeys are cut out of a tree and written as text."""

    detours: int = Field(default=2, ge=1, le=16, description="wrong detours per journey")
    detour_depth: int = Field(default=4, ge=1, le=64, description="wrong steps per detour")
    system_prompt: str | None = None


class RunConfig(StrictModel):
    """Everything that decides what a tree looks like; stored in every tree."""

    seed: int = 0
    backend: BackendConfig = Field(default_factory=BackendConfig)
    search: SearchConfig = Field(default_factory=SearchConfig)
    journey: JourneyConfig = Field(default_factory=JourneyConfig)

    def tree_hash(self) -> str:
        """Hash of the settings that shape a tree (journey knobs only shape exports)."""
        relevant = self.model_dump(mode="json", exclude={"journey"})
        canonical = json.dumps(relevant, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]
