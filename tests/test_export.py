"""OpenAI chat SFT rows match golden files written from the documented format."""

from __future__ import annotations

from pathlib import Path

from journeygen.export import provenance_path, write_samples
from journeygen.models import Provenance, Sample

GOLDEN = Path(__file__).parent / "golden"


def sample(kind: str) -> Sample:
    return Sample(
        kind=kind,  # type: ignore[arg-type]
        prompt="Tom has 3 apples and buys 5 more. How many?",
        thought="The answer is 9.\n\nHmm, that gives 9.\n\nLet me start again.\n\n3 + 5 = 8.",
        solution="3 + 5 = 8.\n\nThe final answer is $\\boxed{8}$.",
        answer="8",
        provenance=Provenance(
            run="demo",
            problem_id="apples",
            node_ids=["2", "1.1"],
            config_hash="abc123",
            path_source="policy",
        ),
    )


def test_openai_rows_match_golden(tmp_path: Path) -> None:
    out = tmp_path / "journey.jsonl"
    assert write_samples([sample("journey")], out) == 1
    assert out.read_bytes() == (GOLDEN / "openai_journey.jsonl").read_bytes()
    assert (
        provenance_path(out).read_bytes()
        == (GOLDEN / "openai_journey.provenance.jsonl").read_bytes()
    )


def test_system_prompt_comes_first(tmp_path: Path) -> None:
    out = tmp_path / "shortcut.jsonl"
    write_samples([sample("shortcut")], out, system="Think step by step.")
    assert out.read_bytes() == (GOLDEN / "openai_shortcut_system.jsonl").read_bytes()


def test_no_samples_give_empty_files_and_leave_no_temp_files(tmp_path: Path) -> None:
    out = tmp_path / "journey.jsonl"
    assert write_samples([], out) == 0
    assert out.read_text() == "" and provenance_path(out).read_text() == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "journey.jsonl",
        "journey.provenance.jsonl",
    ]
