"""The resolved settings of a run, one typed object from the command line down to every tree;
their hash keys trees so a changed setting is never mixed in. Strategy, backend and judge
names are checked against the registries that define them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from journeygen.backends import BACKEND_NAMES
from journeygen.judges import JUDGE_NAMES
from journeygen.search import STRATEGY_NAMES

ReflectionSource = Literal["judge", "arithmetic", "answer", "llm", "phrase"]

REFLECTION_SOURCES: tuple[ReflectionSource, ...] = (
    "judge",
    "arithmetic",
    "answer",
    "llm",
    "phrase",
)

__all__ = [
    "REFLECTION_SOURCES",
    "BackendConfig",
    "CriticConfig",
    "JourneyConfig",
    "JudgeConfig",
    "ReflectionSource",
    "RunConfig",
    "SearchConfig",
    "StrictModel",
    "empty_dict",
    "empty_list",
]


class StrictModel(BaseModel):
    """Base for all types: unknown fields are an error, not silently kept. Validators are
    built on first use, not at import, so a command pays only for the types it reads
    (`show`, `stats` and `export` start 10-15% sooner: bench/cli_startup.py)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)


# Default factories of list and dict fields. Not the builtins `list` and `dict`: pydantic reads
# a default factory's signature, and a builtin's is parsed from text with tokenize, which cost
# every command 5-10 ms of start-up (bench/cli_startup.py); a Python function's is at hand.
def empty_list() -> list[Any]:
    """A new empty list, the default of a list field."""
    return []


def empty_dict() -> dict[Any, Any]:
    """A new empty dict, the default of a dict field."""
    return {}


def _registered(kind: str, names: tuple[str, ...]) -> AfterValidator:
    """A check that accepts only the names a registry defines."""

    def check(value: str) -> str:
        if value not in names:
            raise PydanticCustomError(
                "unknown_name",
                "unknown {kind} '{value}'; expected one of {names}",
                {"kind": kind, "value": value, "names": ", ".join(names)},
            )
        return value

    return AfterValidator(check)


BackendName = Annotated[str, _registered("backend", BACKEND_NAMES)]
StrategyName = Annotated[str, _registered("strategy", STRATEGY_NAMES)]
JudgeName = Annotated[str, _registered("judge", JUDGE_NAMES)]


class BackendConfig(StrictModel):
    """Which LLM answers; never holds a key (keys come from the environment)."""

    name: BackendName = "local"
    model: str | None = None
    base_url: str | None = None


class SearchConfig(StrictModel):
    """How a tree grows and when it stops."""

    strategy: StrategyName = "beam"
    width: int = Field(default=4, ge=1, le=64, description="next steps sampled per frontier node")
    keep: int = Field(default=2, ge=1, le=64, description="frontier nodes kept per depth")
    depth: int = Field(default=4, ge=1, le=64, description="steps before the solution must end")
    temperature: float = Field(default=0.9, ge=0.0, le=2.0)
    step_tokens: int = Field(default=96, ge=8, le=4096, description="max tokens of one step")
    final_tokens: int = Field(default=128, ge=8, le=8192, description="max tokens of a last step")
    max_nodes: int = Field(default=200, ge=1, description="budget: nodes per tree")
    max_tokens: int = Field(default=200_000, ge=1, description="budget: tokens per tree")
    max_cost: float | None = Field(default=None, gt=0.0, description="budget: dollars per tree")
    prompt_price: float = Field(default=0.0, ge=0.0, description="dollars per 1M prompt tokens")
    completion_price: float = Field(
        default=0.0, ge=0.0, description="dollars per 1M completion tokens"
    )
    rollouts: int = Field(
        default=4, ge=1, le=64, description="full solutions sampled per prefix (rollout, best_of_n)"
    )
    rollout_tokens: int = Field(
        default=256, ge=8, le=8192, description="max tokens of one full solution"
    )
    simulations: int = Field(default=16, ge=1, le=10_000, description="MCTS iterations")
    parallel_simulations: int = Field(
        default=1,
        ge=1,
        le=64,
        description="MCTS simulations chosen per round with virtual loss and asked together",
    )
    turns: int = Field(
        default=24, ge=1, le=1000, description="critique, dialogue: most steps written per tree"
    )
    revisits: int = Field(
        default=3, ge=1, le=100, description="critique, dialogue: most backtracks to one step"
    )
    exploration: float = Field(default=1.0, ge=0.0, le=100.0, description="UCT constant (MCTS)")
    reference_path: Literal["fallback", "never", "always"] = "fallback"
    answer_timeout: float = Field(default=5.0, gt=0.0)


class JourneyConfig(StrictModel):
    """How journeys are cut out of a tree and written as text."""

    detours: int = Field(default=2, ge=1, le=16, description="wrong detours per journey")
    detour_depth: int = Field(default=4, ge=1, le=64, description="wrong steps per detour")
    wrong_trials: int = Field(
        default=1, ge=1, le=8, description="wrong detours at one correct-path step (paper: 1)"
    )
    samples_per_tree: int = Field(
        default=1, ge=1, le=64, description="distinct journeys cut from one tree"
    )
    seed: int | None = Field(default=None, description="seed of journey choices (None: run seed)")
    reflection_sources: list[ReflectionSource] = Field(
        default_factory=lambda: list(REFLECTION_SOURCES),
        min_length=1,
        description="where a reflection's reason comes from, best first",
    )
    marker_every: int = Field(
        default=4, ge=1, le=64, description="at most one 'Wait'/'Hmm' per this many segments"
    )
    linearize: Literal["template", "rewrite"] = "template"
    system_prompt: str | None = None

    @field_validator("reflection_sources")
    @classmethod
    def _distinct(cls, value: list[ReflectionSource]) -> list[ReflectionSource]:
        if len(set(value)) != len(value):
            raise ValueError("reflection_sources lists a source twice")
        return value

    def updated(self, overrides: Mapping[str, Any]) -> JourneyConfig:
        """A validated copy with the `overrides` that are not None (itself when there are
        none: an export asks this of every tree, twice, and a copy costs ~25 us)."""
        changes = {key: value for key, value in overrides.items() if value is not None}
        if not changes:
            return self
        return JourneyConfig.model_validate({**self.model_dump(), **changes})


class JudgeConfig(StrictModel):
    """Which judges label the steps, and how their verdicts combine into a step's label.

    A step is `correct` only on evidence: its stated final answer matches, a judge says so,
    or its value (share of finished continuations reaching the gold answer) is at least
    `value_threshold`. `any`: any `incorrect` verdict marks the step wrong, else any piece
    of evidence makes it correct. `consensus`: as `any`, but an inner step needs a judge's
    verdict and the value both. `cascade`: a hard failure (answer, arithmetic) marks it
    wrong; else the LLM judge decides; else the rollout value; else the continuations.
    """

    use: list[JudgeName] = Field(default_factory=lambda: ["answer", "arithmetic"], min_length=1)
    combine: Literal["any", "consensus", "cascade"] = "any"
    value_threshold: float = Field(
        default=0.5,
        gt=0.0,
        le=1.0,
        description="an inner step whose value is at least this is correct on that evidence",
    )
    rollout_threshold: float = Field(
        default=0.0, ge=0.0, lt=1.0, description="rollout: value at or below it is incorrect"
    )
    llm_attempts: int = Field(default=3, ge=1, le=10, description="llm: tries per step")
    llm_temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    llm_tokens: int = Field(default=256, ge=16, le=4096, description="llm: max tokens")

    @field_validator("use")
    @classmethod
    def _distinct_judges(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("judges.use lists a judge twice")
        return value


class CriticConfig(StrictModel):
    """Who chooses the actions of a critique or dialogue search, and how it is asked.

    In `critique` the policy chooses its own actions; in `dialogue` a critic agent does, on
    the run's backend unless `backend`, `model` or `base_url` name another model (a small
    policy with a stronger critic). Its answers are JSON that a schema constrains; one that
    does not parse is asked again up to `attempts` times.
    """

    backend: BackendName | None = None
    model: str | None = None
    base_url: str | None = None
    attempts: int = Field(default=3, ge=1, le=10, description="tries per action")
    tokens: int = Field(default=160, ge=16, le=4096, description="max tokens of one action")
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)

    @property
    def own_model(self) -> bool:
        """Whether the critic is another model than the run's (its own backend stack)."""
        return any(value is not None for value in (self.backend, self.model, self.base_url))


class RunConfig(StrictModel):
    """Everything that decides what a tree looks like; stored in every tree."""

    seed: int = 0
    backend: BackendConfig = Field(default_factory=BackendConfig)
    search: SearchConfig = Field(default_factory=SearchConfig)
    judges: JudgeConfig = Field(default_factory=JudgeConfig)
    journey: JourneyConfig = Field(default_factory=JourneyConfig)
    critic: CriticConfig = Field(default_factory=CriticConfig)

    @model_validator(mode="after")
    def _critic_model_for_dialogue(self) -> RunConfig:
        if self.critic.own_model and self.search.strategy != "dialogue":
            raise ValueError(
                "critic.backend, critic.model and critic.base_url name the critic agent of "
                f"the dialogue strategy, not of {self.search.strategy!r}"
            )
        return self

    def critic_backend(self) -> BackendConfig | None:
        """The critic's own backend settings (unset ones from the run's backend), or None
        when the critic is the run's model."""
        if not self.critic.own_model:
            return None
        critic, run = self.critic, self.backend
        same = critic.backend in (None, run.name)
        return BackendConfig(
            name=critic.backend or run.name,
            model=critic.model or (run.model if same else None),
            base_url=critic.base_url or (run.base_url if same else None),
        )

    def tree_hash(self) -> str:
        """Hash of the settings that shape a tree (journey knobs only shape exports)."""
        canonical = json.dumps(self._tree_settings(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def tree_changes(self, other: RunConfig) -> list[str]:
        """The settings that shape a tree and differ from `other`'s, as `field: old → new`."""
        before, after = _flat(other._tree_settings()), _flat(self._tree_settings())
        return [
            f"{key}: {before.get(key)} → {after.get(key)}"
            for key in sorted(before.keys() | after.keys())
            if before.get(key) != after.get(key)
        ]

    def _tree_settings(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"journey"})


def _flat(settings: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested settings as `section.field` keys."""
    flat: dict[str, Any] = {}
    for key, value in settings.items():
        if isinstance(value, Mapping):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat
