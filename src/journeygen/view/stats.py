"""What a run's data looks like, as one pydantic model: counts, detours, where reflections
came from, lengths of journeys vs shortcuts, the rewrite fidelity pass rate, rejects, and how
far its labels can be trusted (view.evidence). Pure: the CLI prints it as tables or JSON, and
plots can be drawn from it. The figures here, in view.evidence and in view.reflections are
computed, never read from input, so their records are made with `model_construct`: nothing
to validate, and no validator to build, which was 5-7 ms of every `stats`."""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import Field

from journeygen.derive.fidelity import RULES
from journeygen.derive.rewrite import FIDELITY_FAILED, NO_REWRITE
from journeygen.models import Sample, StrictModel, Tree, empty_dict, empty_list
from journeygen.view.evidence import EvidenceStats, evidence_stats
from journeygen.view.reflections import ReflectionStats, reflection_stats

if TYPE_CHECKING:  # a type only: importing the prompts module loads yaml
    from journeygen.prompts import PromptSet

__all__ = [
    "TOKENIZER",
    "Distribution",
    "FidelityStats",
    "LengthStats",
    "RunStats",
    "compute_stats",
    "count_tokens",
]

_TOKEN = re.compile(r"\w+|[^\w\s]")
TOKENIZER = r"regex \w+|[^\w\s]: each word, number and punctuation mark is one token"


def count_tokens(text: str) -> int:
    """A deterministic, dependency-free token count (see `TOKENIZER`); close to, but not
    the same as, a model's BPE count."""
    return len(_TOKEN.findall(text))


class Distribution(StrictModel):
    """Summary of a list of counts; all zero for an empty list."""

    count: int = 0
    mean: float = 0.0
    min: int = 0
    median: float = 0.0
    p90: int = 0
    max: int = 0
    values: list[int] = Field(default_factory=empty_list, description="every value, for plots")

    @classmethod
    def of(cls, values: Sequence[int]) -> Distribution:
        if not values:
            return cls.model_construct()
        ordered = sorted(values)
        return cls.model_construct(
            count=len(ordered),
            mean=round(statistics.fmean(ordered), 2),
            min=ordered[0],
            median=statistics.median(ordered),
            p90=ordered[min(len(ordered) - 1, (9 * len(ordered)) // 10)],
            max=ordered[-1],
            values=list(values),
        )


class LengthStats(StrictModel):
    """Lengths of the long thoughts of one kind of sample."""

    samples: int = 0
    chars: Distribution = Field(default_factory=Distribution)
    tokens: Distribution = Field(default_factory=Distribution)


class FidelityStats(StrictModel):
    """How `rewrite` linearisation fared: asked, checked (a rewrite existed), passed."""

    requested: int = 0
    checked: int = 0
    passed: int = 0
    pass_rate: float | None = None
    failures: dict[str, int] = Field(default_factory=empty_dict, description="broken rule → count")
    no_rewrite: int = 0


class RunStats(StrictModel):
    """Everything `journeygen stats` shows."""

    run: str
    problems: int
    trees: int
    tree_status: dict[str, int]
    journeys: int
    shortcuts: int
    trees_with_journey: int
    detours_per_journey: Distribution
    reflection_sources: dict[str, int]
    # critique, dialogue: the searches' own walks, and whose words their reflections are
    episodes: int = 0
    episode_reflection_sources: dict[str, int] = Field(default_factory=empty_dict)
    lengths: dict[str, LengthStats]
    tokenizer: str = TOKENIZER
    linearize_modes: dict[str, int]
    fidelity: FidelityStats
    rejects: int
    evidence: EvidenceStats
    reflections: ReflectionStats = Field(default_factory=ReflectionStats)


def _lengths(samples: Sequence[Sample]) -> LengthStats:
    return LengthStats.model_construct(
        samples=len(samples),
        chars=Distribution.of([len(s.thought) for s in samples]),
        tokens=Distribution.of([count_tokens(s.thought) for s in samples]),
    )


def _fidelity(journeys: Sequence[Sample]) -> FidelityStats:
    passed = sum(1 for s in journeys if s.provenance.linearize_mode == "rewrite")
    failures: Counter[str] = Counter()
    failed = no_rewrite = 0
    for sample in journeys:
        reason = sample.provenance.linearize_reason or ""
        if reason.startswith(FIDELITY_FAILED):
            failed += 1
            parts = reason.removeprefix(FIDELITY_FAILED).lstrip(": ").split("; ")
            broken = {part.split(":")[0] for part in parts}
            failures.update(rule for rule in RULES if rule in broken)
        elif reason.startswith(NO_REWRITE):
            no_rewrite += 1
    checked = passed + failed
    return FidelityStats.model_construct(
        requested=checked + no_rewrite,
        checked=checked,
        passed=passed,
        pass_rate=round(passed / checked, 4) if checked else None,
        failures=dict(sorted(failures.items())),
        no_rewrite=no_rewrite,
    )


def compute_stats(
    run: str,
    *,
    problems: int,
    trees: Sequence[Tree],
    journeys: Sequence[Sample],
    shortcuts: Sequence[Sample],
    rejects: int,
    episodes: Sequence[Sample] = (),
    prompts: PromptSet | None = None,
    journey: Mapping[str, Any] | None = None,
) -> RunStats:
    """The statistics of a run from its trees and the samples built from them (with the
    `journey` overrides; `prompts` to count the phrase bank's use)."""
    sources, episode_sources = (
        Counter(seg.source for s in kind for seg in s.segments if seg.source is not None)
        for kind in (journeys, episodes)
    )
    lengths = {"journey": _lengths(journeys), "shortcut": _lengths(shortcuts)}
    if episodes:
        lengths["episode"] = _lengths(episodes)
    modes: Counter[str] = Counter(s.provenance.linearize_mode for s in journeys)
    detours = [sum(1 for seg in s.segments if seg.kind == "backtrack") for s in journeys]
    return RunStats.model_construct(
        run=run,
        problems=problems,
        trees=len(trees),
        tree_status=dict(sorted(Counter(t.status for t in trees).items())),
        journeys=len(journeys),
        shortcuts=len(shortcuts),
        trees_with_journey=len({s.provenance.problem_id for s in journeys}),
        detours_per_journey=Distribution.of(detours),
        reflection_sources=dict(sources.most_common()),
        episodes=len(episodes),
        episode_reflection_sources=dict(episode_sources.most_common()),
        lengths=lengths,
        linearize_modes=dict(sorted(modes.items())),
        fidelity=_fidelity(journeys),
        rejects=rejects,
        evidence=evidence_stats(trees, journeys, shortcuts),
        reflections=reflection_stats(trees, journeys, prompts, journey),
    )
