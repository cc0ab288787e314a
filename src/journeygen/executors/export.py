"""The export phase of a run: LLM texts the journeys need, then each kind of sample from the
saved trees, read from disk one at a time so memory stays flat."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import overload

from journeygen.backends.base import Backend
from journeygen.derive.samples import KINDS, SampleKind, SampleSettings, prepare_texts, samples
from journeygen.derive.texts import TEXTS_FILE, TextCache
from journeygen.export import write_samples
from journeygen.models import Tree
from journeygen.prompts import PromptSet
from journeygen.store import RunStore

__all__ = ["SavedTrees", "export_after_run", "export_run"]


def export_run(
    store: RunStore,
    prompts: PromptSet,
    targets: Mapping[SampleKind, Path],
    *,
    system: str | None = None,
    settings: SampleSettings | None = None,
) -> dict[str, int]:
    """Write each kind of sample from the run's saved trees to its file; return row counts.
    LLM texts come from the run's text cache unless `settings` says otherwise."""
    settings = settings or SampleSettings(texts=TextCache(store.dir / TEXTS_FILE))
    counts: dict[str, int] = {}
    for kind, path in targets.items():
        rows = samples(store.trees(), kind, prompts, run=store.run, settings=settings)
        counts[kind] = write_samples(rows, path, system=system)
    return counts


async def export_after_run(
    store: RunStore,
    ids: list[str],
    prompts: PromptSet,
    backend: Backend,
    out: Path,
    *,
    seed: int,
    system: str | None,
) -> dict[str, int]:
    """Write the LLM texts the journeys lack (through `backend`), then every kind of sample
    to `out/KIND.jsonl`; return row counts."""
    targets = {kind: out / f"{kind}.jsonl" for kind in KINDS}
    settings = SampleSettings(texts=TextCache(store.dir / TEXTS_FILE))
    saved = SavedTrees(store, ids)  # read from disk on each pass: memory stays flat
    await prepare_texts(saved, prompts, settings, backend, run=store.run, seed=seed)
    return export_run(store, prompts, targets, system=system, settings=settings)


class SavedTrees(Sequence[Tree]):
    """The run's saved trees as a sequence that loads each tree when it is read."""

    def __init__(self, store: RunStore, ids: list[str]) -> None:
        self.store = store
        self.ids = [i for i in ids if store.tree_path(i).is_file()]

    def __len__(self) -> int:
        return len(self.ids)

    @overload
    def __getitem__(self, index: int) -> Tree: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Tree]: ...
    def __getitem__(self, index: int | slice) -> Tree | Sequence[Tree]:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self))[index]]
        tree = self.store.load_tree(self.ids[index])
        assert tree is not None  # listed above, never deleted during a run
        return tree
