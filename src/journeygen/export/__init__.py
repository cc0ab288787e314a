"""Export samples, step pairs and labelled paths as jsonl that trainers load as is."""

from journeygen.export.formats import (
    EXPORT_KINDS,
    FORMATS,
    ExportError,
    ExportKind,
    Format,
    Item,
    Options,
    check_options,
)
from journeygen.export.pairs import LabelledPath, StepPair, labelled_paths, step_pairs
from journeygen.export.think import THINK_STYLES, ThinkStyle, assistant_text
from journeygen.export.writer import (
    export_kinds,
    export_trees,
    provenance,
    provenance_path,
    write_export,
    write_rows,
    write_samples,
)

__all__ = [
    "EXPORT_KINDS",
    "FORMATS",
    "THINK_STYLES",
    "ExportError",
    "ExportKind",
    "Format",
    "Item",
    "LabelledPath",
    "Options",
    "StepPair",
    "ThinkStyle",
    "assistant_text",
    "check_options",
    "export_kinds",
    "export_trees",
    "labelled_paths",
    "provenance",
    "provenance_path",
    "step_pairs",
    "write_export",
    "write_rows",
    "write_samples",
]
