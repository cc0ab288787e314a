"""The export of a run's samples at its end: every kind as OpenAI rows (R1 style, as
`write_samples` writes them). Each tree's lines are made as soon as the run has its texts and
kept in a spool (`export.spool`), so after the last answer the export mostly writes them; the
trees the run did not reach (a failed one, those left after a budget stop) are read from
disk one at a time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from journeygen.derive.samples import Built, SampleKind, SampleSettings
from journeygen.export import ExportKind, Options
from journeygen.export.parallel import Made, export_run_trees
from journeygen.export.writer import Lines, tree_lines
from journeygen.models import Tree
from journeygen.prompts import PromptSet
from journeygen.store import RunStore

__all__ = ["RunExport"]


@dataclass(frozen=True)
class RunExport:
    """What a run's own export is made of: the kinds its strategy writes, its system prompt
    and its LLM texts (`settings`, filled tree by tree). One place, so the lines made during
    the run and those made at the end are the same bytes."""

    store: RunStore
    prompts: PromptSet
    kinds: tuple[SampleKind, ...]
    settings: SampleSettings
    system: str | None

    @property
    def options(self) -> Options:
        return Options(system=self.system)

    def lines(self, tree: Tree, built: Built | None = None) -> dict[ExportKind, Lines]:
        """One tree's lines of every kind (its texts must be in the settings by now), from
        `built` samples where given."""
        return tree_lines(
            tree,
            self.kinds,
            fmt="openai",
            options=self.options,
            prompts=self.prompts,
            run=self.store.run,
            settings=self.settings,
            built=built,
        )

    def write(
        self, out: Path, problem_ids: Sequence[str], made: Made | None = None
    ) -> dict[str, int]:
        """Every kind to `out/KIND.jsonl`, the trees of `problem_ids` (the run's, in order);
        `made`: lines made already. Returns row counts."""
        counts = export_run_trees(
            self.store,
            problem_ids,
            {kind: out / f"{kind}.jsonl" for kind in self.kinds},
            fmt="openai",
            options=self.options,
            prompts=self.prompts,
            settings=self.settings,
            made=made,
        )
        return {kind: rows for kind, rows in counts.items()}
