"""The export phase of a run: each kind of sample from the saved trees, read from disk one at
a time so memory stays flat."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from journeygen.derive.samples import SampleKind, SampleSettings, kinds_of
from journeygen.derive.texts import TEXTS_FILE, TextCache
from journeygen.export import ExportKind, Options
from journeygen.export.parallel import export_run_trees
from journeygen.prompts import PromptSet
from journeygen.store import RunStore

__all__ = ["export_after_run", "export_run"]


def export_run(
    store: RunStore,
    prompts: PromptSet,
    targets: Mapping[SampleKind, Path],
    *,
    system: str | None = None,
    settings: SampleSettings | None = None,
) -> dict[str, int]:
    """Write each kind of sample from the run's saved trees to its file (each tree read once);
    return row counts. LLM texts come from the run's text cache unless `settings` says
    otherwise."""
    settings = settings or SampleSettings(texts=TextCache(store.dir / TEXTS_FILE))
    paths: dict[ExportKind, Path] = {kind: path for kind, path in targets.items()}
    counts = export_run_trees(  # OpenAI rows, R1 style: `write_samples`, every kind in one pass
        store,
        store.read_manifest().problems,
        paths,
        fmt="openai",
        options=Options(system=system),
        prompts=prompts,
        settings=settings,
    )
    return {kind: rows for kind, rows in counts.items()}


def export_after_run(
    store: RunStore, prompts: PromptSet, out: Path, *, settings: SampleSettings, system: str | None
) -> dict[str, int]:
    """Every kind of sample to `out/KIND.jsonl` (the texts were asked with each tree); return
    row counts."""
    kinds = kinds_of(store.read_manifest().config)
    targets = {kind: out / f"{kind}.jsonl" for kind in kinds}
    return export_run(store, prompts, targets, system=system, settings=settings)
