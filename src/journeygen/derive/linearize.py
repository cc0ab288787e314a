"""Turn a reflected journey or a shortcut into training text (`template` mode) with the phrases
in `prompts/phrases.yaml`, stock markers ("Wait.", "Hmm.") capped in density."""

from __future__ import annotations

import functools
import random
import re
from typing import TYPE_CHECKING

from journeygen.derive.reflect import Phrases
from journeygen.models import Journey, Provenance, Sample, Segment, Tree

if TYPE_CHECKING:  # a type only: importing the prompts module loads yaml
    from journeygen.prompts import PromptSet

__all__ = ["Markers", "linearize"]


@functools.lru_cache(maxsize=8)
def _leading(markers: tuple[str, ...]) -> re.Pattern[str]:
    """A reflection's opening stock marker, from the marker phrases; built once per phrase
    set (60 us a sample when each `linearize` built it)."""
    heads = {re.split(r"[,.!?]", m)[0].strip() for m in markers}
    alternatives = "|".join(sorted(map(re.escape, heads), key=len, reverse=True))
    return re.compile(rf"^(?:{alternatives})\b[,.!?]*\s*", re.I)


class Markers:
    """Opens reflections with a stock marker at most once per `every` segments: a reflection
    that already starts with one keeps it only when a marker is due, else loses it."""

    def __init__(self, prompts: PromptSet, rng: random.Random, every: int) -> None:
        self.phrases = Phrases(prompts, rng)
        self.rng = rng
        self.every = every
        self.last: int | None = None
        self.leading = _leading(tuple(prompts.phrase_list("markers")))

    def apply(self, position: int, text: str) -> str:
        due = self.last is None or position - self.last >= self.every
        if self.leading.match(text):
            if due:
                self.last = position
                return text
            rest = self.leading.sub("", text, count=1)
            return rest[:1].upper() + rest[1:]
        if due and self.rng.random() < 2 / 3:  # not every due reflection: vary the rhythm
            self.last = position
            return f"{self.phrases.pick('markers')} {text}"
        return text


_STEP_KINDS = ("step", "wrong_step", "answer")


def _render(segment: Segment, phrases: Phrases, step: str) -> str:
    """One segment as text; `step` is the template of a step (looked up once a walk)."""
    if segment.kind in _STEP_KINDS:
        return step.format(text=segment.text)
    if segment.kind == "backtrack":
        if segment.node_id is None:
            return phrases.pick("backtrack_start")
        return phrases.pick("backtrack_step", text=segment.text)
    if segment.source is None:
        raise ValueError(f"reflection on {segment.node_id} has no source: reflect() it first")
    return segment.text


def _thought(journey: Journey, prompts: PromptSet, key: str, marker_every: int) -> str:
    """The walk as text. A walk of steps alone (a shortcut) picks no phrase or marker, so no
    generator is seeded for it (seeding one from `key` is ~15 us a sample)."""
    step = prompts.phrase("step")
    if all(segment.kind in _STEP_KINDS for segment in journey.segments):
        return "\n\n".join(step.format(text=segment.text) for segment in journey.segments)
    rng = random.Random(key)
    phrases = Phrases(prompts, rng)
    markers = Markers(prompts, rng, marker_every)
    parts = []
    for position, segment in enumerate(journey.segments):
        text = _render(segment, phrases, step)
        parts.append(markers.apply(position, text) if segment.kind == "reflection" else text)
    return "\n\n".join(parts)


def linearize(
    journey: Journey,
    tree: Tree,
    prompts: PromptSet,
    *,
    run: str,
    seed: int,
    marker_every: int = 4,
    index: int = 0,
) -> Sample:
    """One sample: the walk as a long thought, the correct path as the final solution."""
    key = f"{seed}\x1f{tree.problem.id}\x1f{journey.kind}" + (f"\x1f{index}" if index else "")
    correct = [seg for seg in journey.segments if seg.kind in ("step", "answer")]
    final = correct[-1]
    answer = tree.problem.answer
    if answer is None and final.node_id is not None:
        answer = tree.node(final.node_id).answer
    solution = prompts.phrase("solution").format(
        steps="\n".join(seg.text for seg in correct), answer=answer or ""
    )
    return Sample(
        kind=journey.kind,
        prompt=tree.problem.question,
        thought=_thought(journey, prompts, key, marker_every),
        solution=solution,
        answer=answer,
        provenance=Provenance(
            run=run,
            problem_id=tree.problem.id,
            node_ids=journey.node_ids,
            config_hash=tree.config_hash,
            path_source=journey.path_source,
        ),
        segments=journey.segments,
    )
