"""From saved trees to samples: extract each kind of path, reflect, linearise (and rewrite)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from journeygen.config import JourneyConfig, RunConfig
from journeygen.derive.episode import extract_episode
from journeygen.derive.journey import extract_journeys, extract_shortcut
from journeygen.derive.linearize import linearize
from journeygen.derive.reflect import reflect
from journeygen.derive.rewrite import rewrite
from journeygen.derive.texts import TextCache, TextRequest, ask_texts
from journeygen.models import Journey, Sample, Tree
from journeygen.search import EPISODE_STRATEGIES

if TYPE_CHECKING:  # types only: `show` and `stats` load no prompt files or backend types
    from journeygen.backends.base import Backend
    from journeygen.prompts import PromptSet

__all__ = [
    "KINDS",
    "PATH_SOURCES",
    "PathSourceFilter",
    "SampleKind",
    "SampleSettings",
    "journey_settings",
    "kinds_of",
    "needed_texts",
    "prepare_texts",
    "samples",
    "write_texts",
]

SampleKind = Literal["journey", "shortcut", "episode"]
KINDS: tuple[SampleKind, ...] = ("journey", "shortcut", "episode")
PathSourceFilter = Literal["any", "policy", "reference"]
PATH_SOURCES: tuple[PathSourceFilter, ...] = ("any", "policy", "reference")
ROUNDS = 3  # LLM reflections, then rewrites of drafts that use them, then nothing left


@dataclass(frozen=True)
class SampleSettings:
    """What an export may change about the samples of saved trees: journey knobs that
    replace each tree's own (`JourneyConfig` field names), the run's LLM-written texts, and
    whose correct path a sample may stand on (the model's own, the reference, or any)."""

    journey: Mapping[str, Any] = field(default_factory=dict)
    texts: TextCache | None = None
    path_source: PathSourceFilter = "any"

    def keeps(self, path: Journey) -> bool:
        """Whether `path` passes `path_source`; asked before any text is paid for it."""
        return self.path_source in ("any", path.path_source)


def journey_settings(tree: Tree, overrides: Mapping[str, Any]) -> tuple[JourneyConfig, int]:
    """The journey knobs and seed for one tree: its stored ones, with `overrides` on top."""
    journey = tree.config.journey.updated(overrides)
    return journey, tree.config.seed if journey.seed is None else journey.seed


def kinds_of(config: RunConfig) -> tuple[SampleKind, ...]:
    """The kinds a run writes: journeys and shortcuts, and episodes when its strategy keeps
    its moves in order (critique, dialogue)."""
    return KINDS if config.search.strategy in EPISODE_STRATEGIES else KINDS[:2]


def _tree_samples(
    tree: Tree, kind: SampleKind, prompts: PromptSet, run: str, settings: SampleSettings
) -> Iterator[Sample]:
    config, seed = journey_settings(tree, settings.journey)
    if kind == "shortcut":
        shortcut = extract_shortcut(tree)
        if shortcut is not None and settings.keeps(shortcut):
            yield linearize(shortcut, tree, prompts, run=run, seed=seed)
        return
    if kind == "journey":
        paths = extract_journeys(tree, config, seed=seed)
    else:  # the episode: what the search did, in order
        paths = [episode] if (episode := extract_episode(tree)) is not None else []
    for index, path in enumerate(paths):
        if not settings.keeps(path):
            continue
        reflected = reflect(
            path,
            tree,
            prompts,
            sources=config.reflection_sources,
            texts=settings.texts,
            seed=seed,
            index=index,
        )
        sample = linearize(
            reflected,
            tree,
            prompts,
            run=run,
            seed=seed,
            marker_every=config.marker_every,
            index=index,
        )
        if config.linearize == "rewrite":
            sample = rewrite(sample, reflected, prompts, settings.texts)
        yield sample


def samples(
    trees: Iterable[Tree],
    kind: SampleKind,
    prompts: PromptSet,
    *,
    run: str,
    settings: SampleSettings | None = None,
) -> Iterator[Sample]:
    """The samples of `kind` of each tree that has some, in tree order, each built with the
    settings stored in its own tree (and `settings` on top). Pure: LLM texts come only from
    `settings.texts`; what it lacks is recorded there and the next best is used."""
    for tree in trees:
        yield from _tree_samples(tree, kind, prompts, run, settings or SampleSettings())


def needed_texts(
    tree: Tree, prompts: PromptSet, settings: SampleSettings, *, run: str
) -> list[TextRequest]:
    """The LLM texts (reflections, rewrites) the journeys and episodes of `tree` lack now:
    reflections first, and rewrites only once no reflection is missing (a rewrite of a draft
    that still holds a stand-in for a missing reflection would be paid for and never used).
    Pure: it builds the samples with what the cache holds and lists what they missed; asks
    nothing."""
    texts = settings.texts
    if texts is None:
        return []
    texts.missing.clear()
    for kind in ("journey", "episode"):
        for _sample in _tree_samples(tree, kind, prompts, run, settings):
            pass
    needed = list(texts.missing.values())
    texts.missing.clear()
    if any(request.purpose == "reflect" for request in needed):
        return [request for request in needed if request.purpose == "reflect"]
    return needed


async def write_texts(
    tree: Tree, prompts: PromptSet, settings: SampleSettings, backend: Backend, *, run: str
) -> int:
    """Ask `backend` (a runtime stack) for every text the journeys of `tree` need, all at once,
    round by round (a rewrite is asked once its reflections exist); each text is kept as it
    arrives. Returns how many were asked."""
    if settings.texts is None:
        return 0
    _, seed = journey_settings(tree, settings.journey)
    asked = 0
    for _ in range(ROUNDS):
        needed = needed_texts(tree, prompts, settings, run=run)
        if not needed:
            break
        asked += await ask_texts(settings.texts, needed, backend, seed=seed)
    return asked


async def prepare_texts(
    trees: Iterable[Tree],
    prompts: PromptSet,
    settings: SampleSettings,
    backend: Backend,
    *,
    run: str,
    workers: int = 16,
    on_tree: Callable[[Tree], None] | None = None,
) -> int:
    """`write_texts` for every tree, `workers` trees at a time (the backend's stack bounds the
    requests in flight); return how many texts were asked. Each tree's requests run under its
    problem id (`CURRENT_PROBLEM`: failures and progress name it); `on_tree` follows each."""
    import asyncio  # loaded by the running loop anyway; at module level it cost `show` 30 ms

    from journeygen.runtime.failures import CURRENT_PROBLEM  # a context variable, no stack

    remaining = iter(trees)
    asked = 0

    async def worker() -> None:
        nonlocal asked
        for tree in remaining:  # shared: each tree goes to one worker
            CURRENT_PROBLEM.set(tree.problem.id)
            asked += await write_texts(tree, prompts, settings, backend, run=run)
            if on_tree is not None:
                on_tree(tree)

    await asyncio.gather(*(worker() for _ in range(workers)))
    return asked
