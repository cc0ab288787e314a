"""Turn a journey or shortcut into training text with the phrases in `prompts/phrases.yaml`."""

from __future__ import annotations

import random

from journeygen.models import Journey, Provenance, Sample, Segment, Tree
from journeygen.prompts import PromptSet

__all__ = ["linearize"]


class _Phrases:
    """Seeded phrase picker that never says the same stock phrase twice in a row."""

    def __init__(self, prompts: PromptSet, rng: random.Random) -> None:
        self.prompts = prompts
        self.rng = rng
        self.last: dict[str, str] = {}

    def pick(self, key: str, **fields: str) -> str:
        choices = self.prompts.phrase_list(key)
        fresh = [c for c in choices if c != self.last.get(key)] or choices
        choice = self.rng.choice(fresh)
        self.last[key] = choice
        return choice.format(**fields)


def _render(segment: Segment, tree: Tree, phrases: _Phrases, prompts: PromptSet) -> str:
    if segment.kind in ("step", "wrong_step", "answer"):
        return prompts.phrase("step").format(text=segment.text)
    if segment.kind == "backtrack":
        if segment.node_id is None:
            return phrases.pick("backtrack_start")
        return phrases.pick("backtrack_step", text=segment.text)
    wrong = tree.node(segment.node_id) if segment.node_id else None
    if wrong is not None and wrong.terminal:
        if wrong.answer is None:
            return phrases.pick("reflection_no_answer")
        return phrases.pick("reflection_answer", answer=wrong.answer)
    return phrases.pick("reflection_reason", reason=segment.text.rstrip("."))


def linearize(journey: Journey, tree: Tree, prompts: PromptSet, *, run: str, seed: int) -> Sample:
    """One sample: the walk as a long thought, the correct path as the final solution."""
    rng = random.Random(f"{seed}\x1f{tree.problem.id}\x1f{journey.kind}")
    phrases = _Phrases(prompts, rng)
    thought = "\n\n".join(_render(seg, tree, phrases, prompts) for seg in journey.segments)
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
        thought=thought,
        solution=solution,
        answer=answer,
        provenance=Provenance(
            run=run,
            problem_id=tree.problem.id,
            node_ids=journey.node_ids,
            config_hash=tree.config_hash,
            path_source=journey.path_source,
        ),
    )
