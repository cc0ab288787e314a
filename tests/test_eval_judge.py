"""eval-judge: judges scored against human step labels, in our format and PRM800K's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from journeygen.cli import main
from journeygen.judges.answer import AnswerJudge
from journeygen.judges.arithmetic import ArithmeticJudge
from journeygen.judges.calibration import evaluate, read_labelled

ROOT = Path(__file__).parent.parent
EXAMPLE = ROOT / "examples" / "labelled.jsonl"
PRM = Path(__file__).parent / "data" / "prm800k_sample.jsonl"


def test_example_file_reads_into_labelled_steps() -> None:
    steps, rejects = read_labelled(EXAMPLE)
    assert rejects == []
    assert len(steps) == 51
    assert sum(step.gold == "incorrect" for step in steps) == 20
    weng = [step for step in steps if step.problem.id == "weng"]
    assert [(s.node.id, s.node.terminal, s.gold) for s in weng] == [
        ("1", False, "correct"),
        ("1.1", False, "incorrect"),
        ("1.1.1", True, "incorrect"),
    ]
    assert [node.text for node in weng[2].path] == [weng[0].node.text, weng[1].node.text]
    assert weng[2].node.answer == "12" and weng[2].problem.answer == "10"


async def test_scores_on_the_example_file_match_the_hand_count() -> None:
    """Worked out by hand from examples/labelled.jsonl: 20 wrong steps among 51. The
    arithmetic judge catches the six explicit slips (weng, julie, albert, pens, notebooks,
    groups) and nothing else; the answer judge catches the nine wrong final answers."""
    steps, _ = read_labelled(EXAMPLE)
    arithmetic = await evaluate(ArithmeticJudge(), steps)
    assert (arithmetic.steps, arithmetic.wrong, arithmetic.flagged) == (51, 20, 6)
    assert (arithmetic.true_positives, arithmetic.precision, arithmetic.recall) == (6, 1.0, 0.3)
    assert arithmetic.f1 == pytest.approx(2 * 0.3 / 1.3)
    answer = await evaluate(AnswerJudge(), steps)
    assert (answer.flagged, answer.true_positives, answer.decided) == (9, 9, 16)
    assert answer.recall == pytest.approx(0.45)


async def test_prm800k_rows_count_every_rated_completion_and_leave_neutral_out() -> None:
    steps, rejects = read_labelled(PRM)
    assert rejects == []
    # 11 rated or labeller-written steps; one is rated 0 and is left out of the scores
    assert len(steps) == 11
    score = await evaluate(ArithmeticJudge(), steps)
    assert (score.skipped, score.steps, score.wrong) == (1, 10, 4)
    # it catches 2 + 3 = 6, 48 + 24 = 62 and 7 - 4 = 2; not "7 + 4 = 11" (right sum, wrong move)
    assert (score.flagged, score.true_positives) == (3, 3)


def test_bad_rows_are_named_and_the_rest_is_scored(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    rows = [
        {"question": "1 + 1?", "answer": 2, "steps": ["1 + 1 = 3.", "The answer is 3."],
         "labels": ["incorrect", "incorrect"]},
        {"question": "2 + 2?", "steps": ["2 + 2 = 4."], "labels": ["correct", "correct"]},
        {"question": "3 + 3?", "steps": ["3 + 3 = 6."], "labels": ["right"]},
    ]  # fmt: skip
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n" + PRM.read_text())
    steps, rejects = read_labelled(path)
    assert [str(r) for r in rejects] == [
        f"{path}:2: field 'labels': 1 steps but 2 labels",
        f"{path}:3: field 'labels.0': Input should be 'correct', 'incorrect' or 'unknown'",
    ]
    assert len(steps) == 2 + 11
    assert steps[0].problem.id == "mixed-000001" and steps[2].problem.id == "mixed-000004"


def test_command_prints_the_table(tmp_path: Path) -> None:
    done = CliRunner().invoke(
        main, ["eval-judge", str(EXAMPLE), "--judge", "arithmetic,answer", "--judge", "answer"]
    )
    assert done.exit_code == 0, done.output
    lines = done.output.splitlines()
    assert lines[0].split() == [
        "judge", "steps", "wrong", "flagged", "caught", "precision", "recall", "F1", "decided"
    ]  # fmt: skip
    assert lines[2].split() == ["arithmetic", "51", "20", "6", "6", "1.00", "0.30", "0.46", "6"]
    assert lines[3].split() == ["answer", "51", "20", "9", "9", "1.00", "0.45", "0.62", "16"]
    assert len(lines) == 5


def test_command_scores_the_llm_judge_on_a_scripted_backend(tmp_path: Path) -> None:
    script = tmp_path / "judge.json"
    script.write_text(
        json.dumps(
            {"responses": ['{"reason": "Looks wrong.", "label": "incorrect"}'], "cycle": True}
        )
    )
    done = CliRunner().invoke(
        main,
        ["eval-judge", str(EXAMPLE), "--judge", "llm", "--backend", "fake", "--model", str(script)],
    )
    assert done.exit_code == 0, done.output
    # flags all 51 steps: precision 20/51, recall 1
    assert done.output.splitlines()[2].split() == [
        "llm", "51", "20", "51", "20", "0.39", "1.00", "0.56", "51"
    ]  # fmt: skip


def test_command_refuses_rollout_and_unknown_judges() -> None:
    for name, message in (("rollout", "labels steps from a searched tree"), ("magic", "unknown judge")):
        done = CliRunner().invoke(main, ["eval-judge", str(EXAMPLE), "--judge", name])
        assert done.exit_code == 2 and message in done.output
