"""`journeygen stats` and export determinism, on hand-made samples and a scripted fake run."""

from __future__ import annotations

import json
from contextlib import chdir
from pathlib import Path

from click.testing import CliRunner, Result
from hand_cases import fake_run_inputs

from journeygen.cli import main
from journeygen.models import Provenance, Sample, Segment
from journeygen.view.stats import compute_stats, count_tokens


def sample(kind: str, thought: str, sources: list[str], reason: str | None = None) -> Sample:
    segments = [Segment(kind="step", node_id="1", text="x")]
    for source in sources:
        segments += [
            Segment(kind="wrong_step", node_id="2", text="y"),
            Segment(kind="reflection", node_id="2", text="z", source=source),  # type: ignore[arg-type]
            Segment(kind="backtrack", node_id="1", text="x"),
        ]
    return Sample(
        kind=kind,  # type: ignore[arg-type]
        prompt="q",
        thought=thought,
        solution="s",
        provenance=Provenance(
            run="r",
            problem_id=f"p{len(thought)}",
            node_ids=["1"],
            config_hash="h",
            path_source="policy",
            linearize_mode="rewrite" if reason is None and kind == "journey" else "template",
            linearize_reason=reason,
        ),
        segments=segments,
    )


def test_tokens_are_words_numbers_and_punctuation() -> None:
    assert count_tokens("3 + 5 = 8.") == 6
    assert count_tokens("Hmm, wait.") == 4


def test_stats_of_hand_made_samples() -> None:
    journeys = [
        sample("journey", "a" * 10, ["answer", "llm"]),
        sample(
            "journey", "b" * 20, ["arithmetic"], "fidelity check failed: dropped: x; numbers: 1"
        ),
        sample("journey", "c" * 40, ["answer"], "no rewrite: none cached and no backend"),
    ]
    shortcuts = [sample("shortcut", "one two.", [], None)]
    stats = compute_stats(
        "r", problems=5, trees=[], journeys=journeys, shortcuts=shortcuts, rejects=2
    )
    assert (stats.problems, stats.journeys, stats.shortcuts, stats.rejects) == (5, 3, 1, 2)
    assert stats.trees_with_journey == 3
    assert stats.detours_per_journey.values == [2, 1, 1]
    assert stats.detours_per_journey.mean == 1.33 and stats.detours_per_journey.median == 1
    assert stats.reflection_sources == {"answer": 2, "llm": 1, "arithmetic": 1}
    assert stats.lengths["journey"].chars.values == [10, 20, 40]
    assert stats.lengths["journey"].tokens.values == [1, 1, 1]
    assert stats.lengths["shortcut"].tokens.values == [3]
    fidelity = stats.fidelity
    assert (fidelity.requested, fidelity.checked, fidelity.passed) == (3, 2, 1)
    assert fidelity.pass_rate == 0.5 and fidelity.no_rewrite == 1
    assert fidelity.failures == {"dropped": 1, "numbers": 1}
    assert stats.linearize_modes == {"rewrite": 1, "template": 2}


def journeygen(*args: str | Path, cwd: Path) -> Result:
    """The command in-process (a subprocess per call would cost seconds of imports)."""
    with chdir(cwd):
        return CliRunner().invoke(main, [str(arg) for arg in args], catch_exceptions=False)


def fake_run(tmp_path: Path) -> None:
    problems, _ = fake_run_inputs(tmp_path, broken_line=2)  # the third line
    args = ("--backend", "fake", "--model", "script.json", "--width", "2", "--depth", "2")
    done = journeygen("generate", problems, *args, cwd=tmp_path)
    assert done.exit_code == 0, done.output


def test_stats_of_a_fake_run_as_json_and_as_tables(tmp_path: Path) -> None:
    fake_run(tmp_path)
    done = journeygen("stats", "demo", "--json", cwd=tmp_path)
    assert done.exit_code == 0, done.output
    stats = json.loads(done.stdout)
    # The fake answers without waiting, so each tree runs to its save before the next starts
    # and both read the cycling script from its start: "First I add" and "answer is 9" at
    # depth 1, then the correct "total is 8" and "answer is 7" under "First I add". Each
    # journey detours through the two wrong answers, 9 and 7, on the model's own path.
    assert (stats["problems"], stats["trees"], stats["journeys"], stats["shortcuts"]) == (
        2,
        2,
        2,
        2,
    )
    assert stats["rejects"] == 1  # the broken third line
    assert stats["detours_per_journey"]["values"] == [2, 2]
    assert stats["reflection_sources"] == {"answer": 4}
    assert stats["fidelity"]["pass_rate"] is None
    tables = journeygen("stats", "demo", "--linearize", "rewrite", cwd=tmp_path)
    assert tables.exit_code == 0, tables.output
    assert "reflection sources" in tables.stdout and "answer" in tables.stdout
    assert "0/0 passed (n/a); no rewrite 2" in tables.stdout
    missing = journeygen("stats", "nope", cwd=tmp_path)
    assert missing.exit_code != 0 and "no run at" in missing.output


def test_exports_repeat_byte_for_byte_and_the_journey_seed_changes_detours(tmp_path: Path) -> None:
    fake_run(tmp_path)

    def export(name: str, *knobs: str) -> bytes:
        out = tmp_path / name
        done = journeygen("export", "demo", "--kind", "journey", "-o", out, *knobs, cwd=tmp_path)
        assert done.exit_code == 0, done.output
        return out.read_bytes()

    assert export("a.jsonl") == export("b.jsonl")
    assert export("c.jsonl", "--journey-seed", "4") == export("d.jsonl", "--journey-seed", "4")
    by_seed = {export(f"s{seed}.jsonl", "--journey-seed", str(seed)) for seed in range(6)}
    assert len(by_seed) >= 2
    bad = journeygen("export", "demo", "--reflection-sources", "judge,oracle", cwd=tmp_path)
    assert bad.exit_code == 2 and "oracle" in bad.output
