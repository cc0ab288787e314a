"""Every format x kind x think style matches a golden file written from the formats' docs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from export_cases import golden, sample, small_tree

from journeygen.export import (
    FORMATS,
    THINK_STYLES,
    ExportError,
    ExportKind,
    Format,
    Options,
    labelled_paths,
    provenance_path,
    step_pairs,
    write_export,
    write_samples,
)

SFT_CASES = [
    (fmt, kind, think)
    for fmt in FORMATS
    for kind in ("journey", "shortcut")
    for think in THINK_STYLES
]


def check_side_file(out: Path, fmt: Format, kind: str) -> None:
    """OpenAI rows take no extra keys: provenance goes to a line-aligned side file."""
    side = provenance_path(out)
    if fmt == "openai":
        assert side.read_bytes() == golden(f"openai_{kind}.provenance.jsonl")
    else:
        assert not side.exists()


def check_dataset_info(out: Path, fmt: Format, kind: str) -> None:
    info = out.with_name("dataset_info.json")
    if fmt != "llamafactory":
        assert not info.exists()
        return
    name = "dpo" if kind == "dpo" else "sft"
    expected = json.loads(golden(f"llamafactory_{name}_dataset_info.json"))
    (entry,) = expected.values()
    assert json.loads(info.read_text()) == {kind: {**entry, "file_name": f"{kind}.jsonl"}}
    if kind in ("journey", "dpo"):
        assert info.read_bytes() == golden(f"llamafactory_{name}_dataset_info.json")


@pytest.mark.parametrize(("fmt", "kind", "think"), SFT_CASES)
def test_sft_rows_match_golden(tmp_path: Path, fmt: Format, kind: ExportKind, think: str) -> None:
    out = tmp_path / f"{kind}.jsonl"
    options = Options(think=think)  # type: ignore[arg-type]
    assert write_export([sample(kind)], out, kind=kind, fmt=fmt, options=options) == 1
    assert out.read_bytes() == golden(f"{fmt}_{kind}_{think}.jsonl")
    check_side_file(out, fmt, kind)
    check_dataset_info(out, fmt, kind)


@pytest.mark.parametrize("fmt", FORMATS)
def test_system_prompt_comes_first(tmp_path: Path, fmt: Format) -> None:
    out = tmp_path / "journey.jsonl"
    options = Options(system="Think step by step.")
    write_export([sample("journey")], out, kind="journey", fmt=fmt, options=options)
    assert out.read_bytes() == golden(f"{fmt}_journey_r1_system.jsonl")


@pytest.mark.parametrize(
    ("kind", "options", "name"),
    [
        ("journey", Options(prompt_completion=True), "trl_journey_r1_prompt-completion"),
        (
            "shortcut",
            Options(think="plain", system="Think step by step.", prompt_completion=True),
            "trl_shortcut_plain_prompt-completion_system",
        ),
    ],
)
def test_trl_prompt_completion(
    tmp_path: Path, kind: ExportKind, options: Options, name: str
) -> None:
    out = tmp_path / f"{kind}.jsonl"
    write_export([sample(kind)], out, kind=kind, fmt="trl", options=options)
    assert out.read_bytes() == golden(f"{name}.jsonl")


@pytest.mark.parametrize("fmt", FORMATS)
def test_dpo_rows_match_golden(tmp_path: Path, fmt: Format) -> None:
    out = tmp_path / "dpo.jsonl"
    pairs = step_pairs(small_tree(), run="demo")
    assert write_export(pairs, out, kind="dpo", fmt=fmt, options=Options()) == 2
    assert out.read_bytes() == golden(f"{fmt}_dpo.jsonl")
    check_side_file(out, fmt, "dpo")
    check_dataset_info(out, fmt, "dpo")


def test_prm_rows_match_golden(tmp_path: Path) -> None:
    out = tmp_path / "prm.jsonl"
    paths = labelled_paths(small_tree(), run="demo")
    assert write_export(paths, out, kind="prm", fmt="trl", options=Options()) == 3
    assert out.read_bytes() == golden("trl_prm.jsonl")


def test_write_samples_is_openai_r1_as_generate_writes_it(tmp_path: Path) -> None:
    out = tmp_path / "journey.jsonl"
    assert write_samples([sample("journey")], out) == 1
    assert out.read_bytes() == golden("openai_journey_r1.jsonl")
    assert provenance_path(out).read_bytes() == golden("openai_journey.provenance.jsonl")


@pytest.mark.parametrize(
    ("fmt", "kind", "options", "message"),
    [
        ("openai", "prm", Options(), "openai has no per-step label format"),
        ("llamafactory", "prm", Options(), "--format trl"),
        ("trl", "prm", Options(system="Be brief."), "--system does not apply to prm"),
        ("trl", "dpo", Options(think="stratos"), "--think applies to journey, shortcut and"),
        ("openai", "journey", Options(prompt_completion=True), "--prompt-completion applies"),
        ("trl", "dpo", Options(prompt_completion=True), "--prompt-completion applies"),
    ],
)
def test_combinations_a_format_has_no_place_for_are_refused(
    tmp_path: Path, fmt: Format, kind: ExportKind, options: Options, message: str
) -> None:
    out = tmp_path / "rows.jsonl"
    with pytest.raises(ExportError, match=message):
        write_export([], out, kind=kind, fmt=fmt, options=options)
    assert list(tmp_path.iterdir()) == []


def test_dataset_info_keeps_other_entries(tmp_path: Path) -> None:
    write_export(
        [sample("journey")],
        tmp_path / "journey.jsonl",
        kind="journey",
        fmt="llamafactory",
        options=Options(),
    )
    pairs = step_pairs(small_tree(), run="demo")
    write_export(pairs, tmp_path / "dpo.jsonl", kind="dpo", fmt="llamafactory", options=Options())
    info = json.loads((tmp_path / "dataset_info.json").read_text())
    assert list(info) == ["dpo", "journey"]
    assert info["journey"] == json.loads(golden("llamafactory_sft_dataset_info.json"))["journey"]
    assert info["dpo"] == json.loads(golden("llamafactory_dpo_dataset_info.json"))["dpo"]


def test_broken_dataset_info_is_named_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "dataset_info.json").write_text('{\n  "a": 1,\n}\n')
    with pytest.raises(ExportError, match=r"dataset_info\.json:3: not valid JSON"):
        write_export(
            [sample("journey")],
            tmp_path / "journey.jsonl",
            kind="journey",
            fmt="llamafactory",
            options=Options(),
        )


def test_a_stale_side_file_goes_when_the_format_needs_none(tmp_path: Path) -> None:
    out = tmp_path / "journey.jsonl"
    write_samples([sample("journey")], out)
    assert provenance_path(out).exists()
    write_export([sample("journey")], out, kind="journey", fmt="trl", options=Options())
    assert not provenance_path(out).exists()
    assert out.read_bytes() == golden("trl_journey_r1.jsonl")
