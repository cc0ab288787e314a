"""The paths the viewers draw over a tree (its journeys, its shortcut and, for a critique or
dialogue tree, its episode), built with the settings stored in the tree exactly as the exports
build them, with their samples."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from journeygen.derive.episode import extract_episode
from journeygen.derive.journey import extract_journeys, extract_shortcut
from journeygen.derive.rewrite import rewrite_tokens
from journeygen.derive.samples import (
    SampleKind,
    SampleSettings,
    journey_settings,
    kinds_of,
    samples,
)
from journeygen.derive.texts import TextCache
from journeygen.models import Journey, Sample, Tree

if TYPE_CHECKING:  # a type only: `show` and `graph` load no prompt files
    from journeygen.prompts import PromptSet

__all__ = ["Walk", "tree_paths", "tree_walks"]


@dataclass(frozen=True)
class Walk:
    """A sample (its `segments` are the walk) and, when the run asked for LLM rewrites, the
    template draft and the rewrite the fidelity check judged."""

    sample: Sample
    draft: str | None = None
    rewritten: str | None = None  # the LLM's rewrite of `draft`, kept or not


def _has_episode(tree: Tree) -> bool:
    """Whether the exports write an episode for this tree's strategy (critique, dialogue)."""
    return "episode" in kinds_of(tree.config)


def tree_paths(tree: Tree) -> list[Journey]:
    """The tree's journeys (none without a usable detour), then its shortcut (none without
    a correct leaf), then its episode (only a critique or dialogue search that reached the
    right answer has one): structure only, no text is linearised."""
    config, seed = journey_settings(tree, {})
    shortcut = extract_shortcut(tree)
    episode = extract_episode(tree) if _has_episode(tree) else None
    return [
        *extract_journeys(tree, config, seed=seed),
        *([shortcut] if shortcut else []),
        *([episode] if episode else []),
    ]


def tree_walks(
    tree: Tree, prompts: PromptSet, *, run: str, settings: SampleSettings | None = None
) -> list[Walk]:
    """The samples the exports write for this tree (journeys, the shortcut, then the episode
    of a critique or dialogue tree) with `settings` (journey knobs, the run's saved LLM
    texts); a journey or episode that was to be rewritten comes with its template draft and
    the rewrite."""
    settings = settings or SampleSettings()
    shortcuts = samples([tree], "shortcut", prompts, run=run, settings=settings)
    return [
        *_reflected_walks(tree, "journey", prompts, run, settings),
        *(Walk(sample) for sample in shortcuts),
        *(_reflected_walks(tree, "episode", prompts, run, settings) if _has_episode(tree) else []),
    ]


def _reflected_walks(
    tree: Tree, kind: SampleKind, prompts: PromptSet, run: str, settings: SampleSettings
) -> list[Walk]:
    """The `kind` samples (journeys or the episode: those whose reflections are filled in and
    may be rewritten), each with its template draft and rewrite when the run rewrites."""
    texts = settings.texts
    built = list(samples([tree], kind, prompts, run=run, settings=settings))
    drafts: list[str | None] = [None] * len(built)
    if journey_settings(tree, settings.journey)[0].linearize == "rewrite":
        template = SampleSettings(
            journey={**settings.journey, "linearize": "template"},
            texts=texts,
            path_source=settings.path_source,
        )
        drafts = [s.thought for s in samples([tree], kind, prompts, run=run, settings=template)]
    return [
        Walk(sample, draft, _rewritten(sample, draft, prompts, texts))
        for sample, draft in zip(built, drafts, strict=True)
    ]


def _rewritten(
    sample: Sample, draft: str | None, prompts: PromptSet, texts: TextCache | None
) -> str | None:
    """The saved rewrite of `draft`, looked up the way `rewrite()` asks for it."""
    if draft is None or texts is None:
        return None
    messages = prompts.rewrite.render(question=sample.prompt, draft=draft)
    text = texts.get("rewrite", messages, max_tokens=rewrite_tokens(draft))
    return text.strip() if text is not None else None
