"""Rows to jsonl, atomically, with provenance in a `metadata` column or, for OpenAI (whose
fine-tuning files take no extra keys), in a line-aligned side file."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from journeygen.derive.samples import SampleSettings, samples
from journeygen.export.formats import ExportKind, Format, Item, Options, check_options, row
from journeygen.export.llamafactory import register
from journeygen.export.pairs import labelled_paths, step_pairs
from journeygen.models import Sample, Tree
from journeygen.store import atomic_open

if TYPE_CHECKING:
    from journeygen.prompts import PromptSet

__all__ = [
    "export_kinds",
    "export_trees",
    "provenance",
    "provenance_path",
    "write_export",
    "write_rows",
    "write_samples",
]

SIDE_FILE_FORMATS: frozenset[Format] = frozenset({"openai"})


def _line(obj: Any) -> str:
    """One jsonl line: compact JSON, UTF-8 text as is. Plain `json`: the jsonlines package
    wrote the same bytes but cost every `export` and `generate` 25-50 ms to import."""
    return json.dumps(obj, ensure_ascii=False) + "\n"


def provenance_path(path: Path) -> Path:
    """`journey.jsonl` → `journey.provenance.jsonl`: line N describes row N."""
    return path.with_name(f"{path.stem}.provenance.jsonl")


def provenance(item: Item) -> dict[str, Any]:
    """Where a row came from: kind, run, problem, tree nodes, config hash, path source."""
    if not isinstance(item, Sample):
        return item.provenance()
    source = item.provenance
    return {
        "kind": item.kind,
        "run": source.run,
        "problem_id": source.problem_id,
        "node_ids": source.node_ids,
        "config_hash": source.config_hash,
        "path_source": source.path_source,
        "linearize_mode": source.linearize_mode,
        "linearize_reason": source.linearize_reason,
    }


class _Files:
    """The open files of one kind of row: the rows, and the provenance side file if any."""

    def __init__(self, stack: ExitStack, path: Path, side: bool) -> None:
        self.out = stack.enter_context(atomic_open(path))
        self.side = stack.enter_context(atomic_open(provenance_path(path))) if side else None
        self.rows = 0

    def write(self, item: Item, fmt: Format, options: Options) -> None:
        record = row(fmt, item, options)
        if self.side is not None:
            self.side.write(_line(provenance(item)))
        else:
            record["metadata"] = provenance(item)
        self.out.write(_line(record))
        self.rows += 1


def write_rows(items: Iterable[Item], path: Path, *, fmt: Format, options: Options) -> int:
    """Write one row per item and its provenance; return the row count. A side file left
    from an earlier export to the same path is removed when this format needs none."""
    side = fmt in SIDE_FILE_FORMATS
    with ExitStack() as stack:
        files = _Files(stack, path, side)
        for item in items:
            files.write(item, fmt, options)
    if not side:
        provenance_path(path).unlink(missing_ok=True)
    return files.rows


def write_export(
    items: Iterable[Item], path: Path, *, kind: ExportKind, fmt: Format, options: Options
) -> int:
    """Check the options, write the rows, and register them for LLaMA-Factory if asked."""
    check_options(fmt, kind, options)
    count = write_rows(items, path, fmt=fmt, options=options)
    if fmt == "llamafactory":
        register(path, kind)
    return count


def _items(
    trees: Iterable[Tree],
    kind: ExportKind,
    prompts: PromptSet,
    run: str,
    settings: SampleSettings | None = None,
) -> Iterator[Item]:
    if kind == "dpo":
        for tree in trees:
            yield from step_pairs(tree, run=run)
    elif kind == "prm":
        for tree in trees:
            yield from labelled_paths(tree, run=run)
    else:
        yield from samples(trees, kind, prompts, run=run, settings=settings)


def export_trees(
    trees: Iterable[Tree],
    path: Path,
    *,
    kind: ExportKind,
    fmt: Format,
    options: Options,
    prompts: PromptSet,
    run: str,
    settings: SampleSettings | None = None,
) -> int:
    """Write one kind of row from saved trees to `path`; return the row count. `settings`:
    journey knobs over the trees' own and the run's LLM texts (see `samples`)."""
    items = _items(trees, kind, prompts, run, settings)
    return write_export(items, path, kind=kind, fmt=fmt, options=options)


def export_kinds(
    trees: Iterable[Tree],
    targets: Mapping[ExportKind, Path],
    *,
    fmt: Format,
    options: Options,
    prompts: PromptSet,
    run: str,
    settings: SampleSettings | None = None,
) -> dict[ExportKind, int]:
    """`export_trees` for every kind in `targets` in one pass over `trees`, so each tree is
    read and validated once: the same bytes in each file. Returns row counts by kind."""
    for kind in targets:
        check_options(fmt, kind, options)
    side = fmt in SIDE_FILE_FORMATS
    with ExitStack() as stack:
        files = {kind: _Files(stack, path, side) for kind, path in targets.items()}
        for tree in trees:
            for kind, out in files.items():
                for item in _items((tree,), kind, prompts, run, settings):
                    out.write(item, fmt, options)
    for kind, path in targets.items():
        if not side:
            provenance_path(path).unlink(missing_ok=True)
        if fmt == "llamafactory":
            register(path, kind)
    return {kind: out.rows for kind, out in files.items()}


def write_samples(samples: Iterable[Sample], path: Path, *, system: str | None = None) -> int:
    """OpenAI chat SFT rows in R1 style, provenance in the side file (what `generate` writes)."""
    return write_rows(samples, path, fmt="openai", options=Options(system=system))
