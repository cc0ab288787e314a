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
    "Built",
    "PathSourceFilter",
    "SampleKind",
    "SampleSettings",
    "TreeTexts",
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
TEXT_KINDS: tuple[SampleKind, ...] = ("journey", "episode")  # the kinds that use LLM texts
# Samples of some kinds of one tree, built already
Built = Mapping[str, list[Sample]]


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


def _draft(
    tree: Tree, prompts: PromptSet, settings: SampleSettings, texts: TextCache, run: str
) -> tuple[list[TextRequest], Built]:
    """The texts `needed_texts` lists, and the journeys and episodes built to find them: with
    none missing, they are the tree's samples as an export would build them."""
    texts.missing.clear()
    built: dict[str, list[Sample]] = {
        kind: list(_tree_samples(tree, kind, prompts, run, settings)) for kind in TEXT_KINDS
    }
    needed = list(texts.missing.values())
    texts.missing.clear()
    if any(request.purpose == "reflect" for request in needed):
        return [request for request in needed if request.purpose == "reflect"], built
    return needed, built


def needed_texts(
    tree: Tree, prompts: PromptSet, settings: SampleSettings, *, run: str
) -> list[TextRequest]:
    """The LLM texts (reflections, rewrites) the journeys and episodes of `tree` lack now:
    reflections first, and rewrites only once no reflection is missing (a rewrite of a draft
    that still holds a stand-in for a missing reflection would be paid for and never used).
    Pure: it builds the samples with what the cache holds and lists what they missed; asks
    nothing."""
    if settings.texts is None:
        return []
    return _draft(tree, prompts, settings, settings.texts, run)[0]


@dataclass(frozen=True)
class TreeTexts:
    """What `write_texts` did for one tree: the texts it asked, and the tree's journeys and
    episodes as built once every text was in (None while some are missing: a failed request,
    a stopped run, or rounds left over), which an export may use instead of building them
    again."""

    asked: int
    built: Built | None


async def write_texts(
    tree: Tree, prompts: PromptSet, settings: SampleSettings, backend: Backend, *, run: str
) -> TreeTexts:
    """Ask `backend` (a runtime stack) for every text the journeys of `tree` need, all at once,
    round by round (a rewrite is asked once its reflections exist); each text is kept as it
    arrives."""
    if settings.texts is None:
        return TreeTexts(0, None)
    _, seed = journey_settings(tree, settings.journey)
    asked = 0
    for _ in range(ROUNDS):
        needed, built = _draft(tree, prompts, settings, settings.texts, run)
        if not needed:
            return TreeTexts(asked, built)
        asked += await ask_texts(settings.texts, needed, backend, seed=seed)
    return TreeTexts(asked, None)


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
            asked += (await write_texts(tree, prompts, settings, backend, run=run)).asked
            if on_tree is not None:
                on_tree(tree)

    await asyncio.gather(*(worker() for _ in range(workers)))
    return asked
