"""Every export loads with the Hugging Face `datasets` json loader, offline, as trainers do."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from export_cases import QUESTION, sample, small_tree

from journeygen.export import (
    ExportKind,
    Format,
    Item,
    Options,
    labelled_paths,
    step_pairs,
    write_export,
)

SFT = {
    "openai": ["messages"],
    "trl": ["messages", "metadata"],
    "sharegpt": ["conversations", "metadata"],
    "alpaca": ["instruction", "input", "output", "system", "metadata"],
    "llamafactory": ["conversations", "metadata"],
}
DPO = {
    "openai": ["input", "preferred_output", "non_preferred_output"],
    "trl": ["prompt", "chosen", "rejected", "metadata"],
    "sharegpt": ["conversations", "chosen", "rejected", "metadata"],
    "alpaca": ["instruction", "input", "chosen", "rejected", "system", "metadata"],
    "llamafactory": ["conversations", "chosen", "rejected", "metadata"],
}
CASES = [
    *((fmt, kind, columns) for fmt, columns in SFT.items() for kind in ("journey", "shortcut")),
    *((fmt, "dpo", columns) for fmt, columns in DPO.items()),
    ("trl", "prm", ["prompt", "completions", "labels", "metadata"]),
]


def items(kind: ExportKind) -> list[Item]:
    if kind == "dpo":
        return list(step_pairs(small_tree(), run="demo"))
    if kind == "prm":
        return list(labelled_paths(small_tree(), run="demo"))
    return [sample(kind), sample(kind)]


def load(path: Path, cache: Path) -> Any:
    import datasets  # after the offline switches are set

    datasets.disable_progress_bars()
    return datasets.load_dataset("json", data_files=str(path), split="train", cache_dir=str(cache))


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.mark.parametrize(("fmt", "kind", "columns"), CASES)
def test_loads_with_datasets(
    tmp_path: Path, fmt: Format, kind: ExportKind, columns: list[str]
) -> None:
    out = tmp_path / "out" / f"{kind}.jsonl"
    rows = items(kind)
    options = Options() if kind == "prm" else Options(system="Be brief.")
    write_export(rows, out, kind=kind, fmt=fmt, options=options)
    data = load(out, tmp_path / "cache")
    assert data.column_names == columns
    assert data.num_rows == len(rows)
    first = data[0]
    if kind == "prm":
        assert first["prompt"] == QUESTION and first["labels"] == [True, True]
    elif fmt == "openai" and kind == "dpo":
        assert first["input"]["messages"][-1] == {"role": "user", "content": QUESTION}
    elif fmt in ("openai", "trl"):
        assert first[columns[0]][0] == {"role": "system", "content": "Be brief."}
    elif fmt == "alpaca":
        assert (first["instruction"], first["system"]) == (QUESTION, "Be brief.")
    else:
        assert first["conversations"][1] == {"from": "human", "value": QUESTION}
    if "metadata" in columns:
        assert first["metadata"]["kind"] == kind
        assert first["metadata"]["problem_id"] == "pens"
    if fmt == "llamafactory":
        info = json.loads((out.parent / "dataset_info.json").read_text())
        assert set(info[kind]["columns"].values()) <= set(data.column_names)


def test_trl_prompt_completion_and_prm_types(tmp_path: Path) -> None:
    out = tmp_path / "journey.jsonl"
    options = Options(prompt_completion=True)
    write_export([sample("journey")], out, kind="journey", fmt="trl", options=options)
    data = load(out, tmp_path / "cache")
    assert data.column_names == ["prompt", "completion", "metadata"]
    assert data[0]["completion"][0]["role"] == "assistant"
    prm = tmp_path / "prm.jsonl"
    paths = labelled_paths(small_tree(), run="demo")
    write_export(paths, prm, kind="prm", fmt="trl", options=Options())
    features = load(prm, tmp_path / "cache2").features
    assert features["labels"].feature.dtype == "bool"
    assert features["completions"].feature.dtype == "string"
