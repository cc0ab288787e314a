"""The ablation's data: one journey and one shortcut per problem from a run's trees (same
problems in both sets), as TRL prompt/completion rows, and eval problems kept apart from
the training problems by the decontamination index."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from journeygen.derive.samples import SampleSettings, samples
from journeygen.derive.texts import TEXTS_FILE, TextCache
from journeygen.export.think import ThinkStyle, assistant_text
from journeygen.models import Problem, Sample
from journeygen.problems import load_problems
from journeygen.problems.decontaminate import BenchmarkQuestion, ContaminationIndex
from journeygen.prompts import load_prompts
from journeygen.store import RunStore

__all__ = ["EvalSet", "PairedSets", "eval_set", "paired_sets", "training_rows"]


@dataclass(frozen=True)
class PairedSets:
    """Journeys and shortcuts of the same problems, in the same order (one of each per tree)."""

    journeys: list[Sample]
    shortcuts: list[Sample]
    trees: int  # trees read; those lacking either kind of sample are left out of both sets

    @property
    def questions(self) -> list[str]:
        return [sample.prompt for sample in self.journeys]

    @property
    def problem_ids(self) -> list[str]:
        return [sample.provenance.problem_id for sample in self.journeys]


def paired_sets(trees_dir: Path, run: str, prompts_dir: Path | None = None) -> PairedSets:
    """The first journey and the shortcut of every tree that has both, exactly as
    `journeygen export RUN` writes them (the run's stored settings and LLM texts)."""
    store = RunStore(trees_dir, run)
    trees = list(store.trees())
    prompts = load_prompts(prompts_dir)
    settings = SampleSettings(texts=TextCache(store.dir / TEXTS_FILE))
    journeys = _first_by_problem(samples(trees, "journey", prompts, run=run, settings=settings))
    shortcuts = _first_by_problem(samples(trees, "shortcut", prompts, run=run, settings=settings))
    both = [pid for pid in journeys if pid in shortcuts]
    return PairedSets(
        journeys=[journeys[pid] for pid in both],
        shortcuts=[shortcuts[pid] for pid in both],
        trees=len(trees),
    )


def _first_by_problem(found: Iterable[Sample]) -> dict[str, Sample]:
    """One sample per problem (a tree may give several journeys): the first, in tree order."""
    first: dict[str, Sample] = {}
    for sample in found:
        first.setdefault(sample.provenance.problem_id, sample)
    return first


def training_rows(found: Sequence[Sample], think: ThinkStyle) -> list[dict[str, Any]]:
    """TRL conversational prompt/completion rows: the loss falls on the assistant turn only."""
    return [
        {
            "prompt": [{"role": "user", "content": sample.prompt}],
            "completion": [{"role": "assistant", "content": assistant_text(sample, think)}],
        }
        for sample in found
    ]


@dataclass(frozen=True)
class EvalSet:
    """The eval problems used, and those left out with why (copies of a training problem,
    no gold answer, or a bad row)."""

    problems: list[Problem]
    dropped: list[dict[str, Any]]


def eval_set(
    path: Path, training: Sequence[str], training_ids: Sequence[str], size: int | None
) -> EvalSet:
    """The first `size` problems of `path` that have a gold answer and copy no training
    question (shared 13-gram or near copy, as `--decontaminate` decides)."""
    loaded, rejects = load_problems(path)
    dropped: list[dict[str, Any]] = [{"line": r.line, "reason": r.message} for r in rejects]
    index = ContaminationIndex()
    for line, question in enumerate(training):
        index.add(BenchmarkQuestion(training_ids[line], line + 1, question))
    kept: list[Problem] = []
    for problem in loaded:
        if size is not None and len(kept) >= size:
            break
        if problem.answer is None:
            dropped.append({"problem_id": problem.id, "reason": "no gold answer"})
            continue
        match = index.match(problem.question)
        if match is not None:
            dropped.append(
                {
                    "problem_id": problem.id,
                    "reason": f"copies training problem {match.benchmark.file} ({match.rule})",
                }
            )
            continue
        kept.append(problem)
    return EvalSet(problems=kept, dropped=dropped)
