"""Rows to jsonl, atomically, with provenance in a `metadata` column or, for OpenAI (whose
fine-tuning files take no extra keys), in a line-aligned side file."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from journeygen.derive.samples import Built, SampleSettings, samples
from journeygen.export.formats import ExportKind, Format, Item, Options, check_options, row
from journeygen.export.llamafactory import register
from journeygen.export.pairs import labelled_paths, step_pairs
from journeygen.models import Sample, Tree
from journeygen.store import atomic_open

if TYPE_CHECKING:
    from journeygen.prompts import PromptSet

__all__ = [
    "KindFiles",
    "Lines",
    "export_kinds",
    "export_trees",
    "provenance",
    "provenance_path",
    "tree_lines",
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


# A row's line and its provenance line for the side file (None: provenance in the row)
Lines = list[tuple[str, str | None]]
TreeLines = Mapping[ExportKind, Lines]  # one tree's lines of each kind


def item_lines(item: Item, fmt: Format, options: Options) -> tuple[str, str | None]:
    """One item as written: its row line, and its provenance line when `fmt` keeps provenance
    in a side file (otherwise it is the row's `metadata` column)."""
    record = row(fmt, item, options)
    if fmt in SIDE_FILE_FORMATS:
        return _line(record), _line(provenance(item))
    record["metadata"] = provenance(item)
    return _line(record), None


class _Files:
    """The open files of one kind of row: the rows, and the provenance side file if any."""

    def __init__(self, stack: ExitStack, path: Path, side: bool) -> None:
        self.out = stack.enter_context(atomic_open(path))
        self.side = stack.enter_context(atomic_open(provenance_path(path))) if side else None
        self.rows = 0

    def write(self, lines: Lines) -> None:
        for row_line, side_line in lines:
            if self.side is not None and side_line is not None:
                self.side.write(side_line)
            self.out.write(row_line)
        self.rows += len(lines)


def write_rows(items: Iterable[Item], path: Path, *, fmt: Format, options: Options) -> int:
    """Write one row per item and its provenance; return the row count. A side file left
    from an earlier export to the same path is removed when this format needs none."""
    side = fmt in SIDE_FILE_FORMATS
    with ExitStack() as stack:
        files = _Files(stack, path, side)
        for item in items:
            files.write([item_lines(item, fmt, options)])
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


def tree_lines(
    tree: Tree,
    kinds: Iterable[ExportKind],
    *,
    fmt: Format,
    options: Options,
    prompts: PromptSet,
    run: str,
    settings: SampleSettings | None = None,
    built: Built | None = None,
) -> dict[ExportKind, Lines]:
    """Every line one tree adds to each kind's files: pure, so worker processes can make
    them for the writer (`export.parallel`) and the bytes do not depend on who made them.
    `built`: samples of some kinds built already with these settings (`write_texts`)."""

    def items(kind: ExportKind) -> Iterable[Item]:
        if built is not None and kind in built:
            return built[kind]
        return _items((tree,), kind, prompts, run, settings)

    return {kind: [item_lines(item, fmt, options) for item in items(kind)] for kind in kinds}


class KindFiles:
    """The open files of every kind of an export, each written atomically: nothing is in
    place until `close`, so an export stopped half way leaves the last complete one."""

    def __init__(self, stack: ExitStack, targets: Mapping[ExportKind, Path], fmt: Format) -> None:
        self.fmt = fmt
        self.targets = dict(targets)
        side = fmt in SIDE_FILE_FORMATS
        self.files = {kind: _Files(stack, path, side) for kind, path in targets.items()}

    def write(self, lines: TreeLines) -> None:
        for kind, out in self.files.items():
            out.write(lines[kind])

    def finish(self) -> dict[ExportKind, int]:
        """After the files are in place: drop stale side files, register LLaMA-Factory
        datasets; the row counts by kind."""
        for kind, path in self.targets.items():
            if self.fmt not in SIDE_FILE_FORMATS:
                provenance_path(path).unlink(missing_ok=True)
            if self.fmt == "llamafactory":
                register(path, kind)
        return {kind: out.rows for kind, out in self.files.items()}


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
    with ExitStack() as stack:
        files = KindFiles(stack, targets, fmt)
        for tree in trees:
            lines = tree_lines(
                tree, targets, fmt=fmt, options=options, prompts=prompts, run=run, settings=settings
            )
            files.write(lines)
    return files.finish()


def write_samples(samples: Iterable[Sample], path: Path, *, system: str | None = None) -> int:
    """OpenAI chat SFT rows in R1 style, provenance in the side file (what `generate` writes)."""
    return write_rows(samples, path, fmt="openai", options=Options(system=system))
