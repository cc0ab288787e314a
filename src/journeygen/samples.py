"""From saved trees to samples: extract each kind of path and linearise it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Literal

from journeygen.config import RunConfig
from journeygen.journey import extract_journey, extract_shortcut
from journeygen.linearize import linearize
from journeygen.models import Sample, Tree
from journeygen.prompts import PromptSet

__all__ = ["KINDS", "SampleKind", "samples"]

SampleKind = Literal["journey", "shortcut"]
KINDS: tuple[SampleKind, ...] = ("journey", "shortcut")


def samples(
    trees: Iterable[Tree], kind: SampleKind, prompts: PromptSet, *, run: str
) -> Iterator[Sample]:
    """One sample of `kind` per tree that has one, in tree order, each built with the
    settings stored in its own tree."""
    for tree in trees:
        config = RunConfig.model_validate(tree.config)
        if kind == "shortcut":
            path = extract_shortcut(tree)
        else:
            path = extract_journey(
                tree,
                detours=config.journey.detours,
                detour_depth=config.journey.detour_depth,
                seed=config.seed,
            )
        if path is not None:
            yield linearize(path, tree, prompts, run=run, seed=config.seed)
