"""Register exported files in a `dataset_info.json` beside them, as LLaMA-Factory's
data/README.md describes, so `dataset: NAME` works with `dataset_dir` set to that folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from journeygen.export.formats import ExportError, ExportKind
from journeygen.store import atomic_open

__all__ = ["DATASET_INFO", "dataset_entry", "register"]

DATASET_INFO = "dataset_info.json"

# ShareGPT rows as journeygen writes them: roles human / gpt / system under from / value.
SHAREGPT_TAGS = {
    "role_tag": "from",
    "content_tag": "value",
    "user_tag": "human",
    "assistant_tag": "gpt",
    "system_tag": "system",
}


def dataset_entry(file_name: str, kind: ExportKind) -> dict[str, Any]:
    """The description of one file: ShareGPT rows; preference rows are `ranking` data."""
    if kind == "dpo":
        return {
            "file_name": file_name,
            "formatting": "sharegpt",
            "ranking": True,
            "columns": {"messages": "conversations", "chosen": "chosen", "rejected": "rejected"},
            "tags": SHAREGPT_TAGS,
        }
    return {
        "file_name": file_name,
        "formatting": "sharegpt",
        "columns": {"messages": "conversations"},
        "tags": SHAREGPT_TAGS,
    }


def register(path: Path, kind: ExportKind) -> Path:
    """Add or replace the entry named after `path`'s stem, keeping the other entries."""
    info_path = path.with_name(DATASET_INFO)
    entries: dict[str, Any] = {}
    if info_path.is_file():
        try:
            entries = json.loads(info_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ExportError(
                f"{info_path}:{exc.lineno}: not valid JSON ({exc.msg}); fix or remove it"
            ) from exc
        if not isinstance(entries, dict):
            raise ExportError(f"{info_path}: must hold a JSON object of dataset descriptions")
    entries[path.stem] = dataset_entry(path.name, kind)
    with atomic_open(info_path) as handle:
        handle.write(json.dumps(dict(sorted(entries.items())), indent=2, ensure_ascii=False))
        handle.write("\n")
    return info_path
