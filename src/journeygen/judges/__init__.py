"""Step judges and every other source of verdicts, in one registry that says what each one is.

Labelling, journeys and reflections ask `traits(name)` (a hard check? a graded score? a
reason written in words?) instead of keeping their own lists of judge names. The table names
each step judge's class as "module:Class" and imports it only when a run uses it, so reading
the registry (config validation, the CLI's help) loads no judge, sympy or SDK; the judges
themselves are built by `judges.base.make_judges`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BACKUP", "JUDGES", "JUDGE_NAMES", "Traits", "traits"]


@dataclass(frozen=True)
class Traits:
    """What a source of verdicts is.

    `hard`: a deterministic check whose `incorrect` is final. `graded`: its score says how
    plausible a step is (a hard pass/fail says nothing of that). `explains`: its reason says
    in words why a step is wrong, so a reflection may quote it. `step_judge`: the class
    ("module:Class") that judges each new step during search; None for a labelling step run
    after search or a verdict written by the search, an importer or a human. `asks_model`:
    it sends a request per step, so the search judges new steps all at once.
    """

    hard: bool = False
    graded: bool = False
    explains: bool = False
    step_judge: str | None = None
    asks_model: bool = False


BACKUP = "backup"  # the label backed up from a step's finished continuations (judges.labels)

# The judges a run can name in `judges.use`, in the order the CLI lists them.
JUDGES: dict[str, Traits] = {
    "answer": Traits(hard=True, step_judge="journeygen.judges.answer:AnswerJudge"),
    "arithmetic": Traits(hard=True, step_judge="journeygen.judges.arithmetic:ArithmeticJudge"),
    "llm": Traits(
        graded=True, explains=True, step_judge="journeygen.judges.llm:LLMJudge", asks_model=True
    ),
    "rollout": Traits(graded=True),  # a step's value against a threshold, after search
}
JUDGE_NAMES: tuple[str, ...] = tuple(JUDGES)

# Verdicts that no configured judge writes: labels backed up from continuations, the
# reference path, rollout's binary search for the first wrong step, imported human labels,
# the note on a step that adds nothing (judges.redundancy), and the dialogue critic's
# objection to a step it sent the policy back from (search.dialogue).
_OTHER_SOURCES: dict[str, Traits] = {
    BACKUP: Traits(),
    "redundant": Traits(),
    "reference": Traits(),
    "binary_search": Traits(graded=True, explains=True),
    "human": Traits(graded=True, explains=True),
    "critic": Traits(explains=True),
}
_UNKNOWN = Traits(graded=True, explains=True)  # a judge of a newer or foreign tree


def traits(name: str) -> Traits:
    """What the source of a verdict named `name` is."""
    return JUDGES.get(name) or _OTHER_SOURCES.get(name, _UNKNOWN)
