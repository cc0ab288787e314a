"""eval-judge: judges scored against human step labels, in our format, PRM800K's and
ProcessBench's (with ProcessBench's first-error metric)."""

from __future__ import annotations

import asyncio
import json
import zlib
from collections.abc import Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner

from journeygen.cli import main
from journeygen.judges.answer import AnswerJudge
from journeygen.judges.arithmetic import ArithmeticJudge
from journeygen.judges.calibration import evaluate, read_labelled
from journeygen.models import Label, Node, Problem, Verdict

ROOT = Path(__file__).parent.parent
EXAMPLE = ROOT / "examples" / "labelled.jsonl"
PROCESSBENCH = ROOT / "examples" / "processbench.jsonl"
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
    # 9 of the 16 solutions have a wrong step. Each of the six slips the arithmetic judge
    # catches is its solution's first wrong step; the answer judge flags only final steps,
    # and only in `apples` is the final step the first wrong one. Error-free: nothing flagged.
    assert lines[6].split() == [
        "judge", "erroneous", "located", "error", "acc", "error-free", "passed", "correct",
        "acc", "F1",
    ]  # fmt: skip
    assert lines[8].split() == ["arithmetic", "9", "6", "66.7", "7", "7", "100.0", "80.0"]
    assert lines[9].split() == ["answer", "9", "1", "11.1", "7", "7", "100.0", "20.0"]
    assert len(lines) == 11


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
    assert done.stdout.splitlines()[2].split() == [
        "llm", "51", "20", "51", "20", "0.39", "1.00", "0.56", "51"
    ]  # fmt: skip
    # not a terminal: one progress line per tenth of the steps, on stderr, key-value pairs
    lines = done.stderr.splitlines()
    assert len(lines) == 10 and all(line.startswith("progress  steps ") for line in lines)
    last = dict(pair.split(" ", 1) for pair in lines[-1].split("  ")[1:])
    assert last["steps"] == "51/51" and last["requests"] == "51" and last["in-flight"] == "0"
    assert int(last["tokens"]) > 0 and last["cost"] == "$0.0000" and last["eta"] == "0:00:00"


def test_command_refuses_rollout_and_unknown_judges() -> None:
    for name, message in (
        ("rollout", "labels steps from a searched tree"),
        ("magic", "unknown judge"),
    ):
        done = CliRunner().invoke(main, ["eval-judge", str(EXAMPLE), "--judge", name])
        assert done.exit_code == 2 and message in done.output


class _Always:
    """A judge that gives every step one label and records what it was asked to judge."""

    def __init__(self, label: Label) -> None:
        self.name = f"always-{label}"
        self.label = label
        self.asked: list[str] = []

    async def judge(self, problem: Problem, path: Sequence[Node], node: Node) -> list[Verdict]:
        self.asked.append(f"{problem.id}:{len(path)}")
        return [Verdict(judge=self.name, label=self.label, reason="every step")]


def _with_gold_answers(tmp_path: Path) -> Path:
    """The ProcessBench fixture with a gold `answer` added to each row, worked out by hand."""
    gold = {"pb-01": 15, "pb-02": 260, "pb-03": 6, "pb-04": 480, "pb-05": 45,
            "pb-06": 36, "pb-07": 20, "pb-08": 14, "pb-09": 7, "pb-10": 42}  # fmt: skip
    rows = [json.loads(line) for line in PROCESSBENCH.read_text().splitlines()]
    path = tmp_path / "processbench-gold.jsonl"
    path.write_text("".join(json.dumps({**row, "answer": gold[row["id"]]}) + "\n" for row in rows))
    return path


def test_processbench_rows_are_labelled_up_to_their_first_wrong_step() -> None:
    steps, rejects = read_labelled(PROCESSBENCH)
    assert rejects == []
    assert len(steps) == 33
    pb05 = [step for step in steps if step.problem.id == "pb-05"]  # label 1 of 3 steps
    assert [step.gold for step in pb05] == ["correct", "incorrect", "unknown"]
    assert pb05[0].problem.question.startswith("Sam reads 15 pages")
    assert pb05[0].problem.answer is None  # ProcessBench rows carry no gold answer
    assert [(s.node.id, s.node.terminal, s.node.answer) for s in pb05] == [
        ("1", False, None),
        ("1.1", False, None),
        ("1.1.1", True, "55"),
    ]
    assert {step.solution for step in pb05} == {pb05[0].solution}
    assert pb05[0].solution is not None and pb05[0].solution.first_error == 1
    pb01 = [step for step in steps if step.problem.id == "pb-01"]  # label -1: all correct
    assert [step.gold for step in pb01] == ["correct"] * 3
    assert pb01[0].solution is not None and pb01[0].solution.first_error == -1


async def test_processbench_scores_on_the_fixture_match_the_hand_count() -> None:
    """Both metrics, counted by hand from examples/processbench.jsonl."""
    # pb-01..04 are right; pb-05..10 have one labelled wrong step each: 24 steps rated, 9
    # after a wrong one. The arithmetic judge finds the first wrong step of pb-05
    # (15 + 30 = 55), pb-06 (7 * 6 = 48) and pb-07 (5 * 24 = 100, a claim the answer does not
    # use); in pb-08 its first flag (50 - 23 = 28) comes after the wrong move (3 + 8 for 3
    # books at 8), and pb-09 and pb-10 go wrong with right sums. Without gold answers the
    # answer judge says nothing but unknown.
    steps, _ = read_labelled(PROCESSBENCH)
    arithmetic = await evaluate(ArithmeticJudge(), steps)
    assert (arithmetic.steps, arithmetic.wrong, arithmetic.skipped) == (24, 6, 9)
    assert (arithmetic.flagged, arithmetic.true_positives) == (3, 3)
    assert (arithmetic.erroneous, arithmetic.located) == (6, 3)
    assert (arithmetic.error_free, arithmetic.passed) == (4, 4)
    assert arithmetic.error_accuracy == pytest.approx(1 / 2)
    assert arithmetic.correct_accuracy == 1.0
    assert arithmetic.first_error_f1 == pytest.approx(2 * 0.5 * 1.0 / 1.5)
    answer = await evaluate(AnswerJudge(), steps)
    assert (answer.flagged, answer.decided, answer.located, answer.passed) == (0, 0, 0, 4)
    assert (answer.error_accuracy, answer.correct_accuracy) == (0.0, 1.0)
    assert answer.first_error_f1 == 0.0


async def test_a_gold_answer_added_to_processbench_rows_is_checked(tmp_path: Path) -> None:
    """A gold `answer` (not ProcessBench's) lets the answer judge guess final steps."""
    # It flags the final step of pb-05, 06, 08, 09 and 10; only in pb-09 is that the first
    # wrong step (the others went wrong earlier; their final steps are unrated). pb-07's
    # final answer is right despite its wrong step.
    steps, rejects = read_labelled(_with_gold_answers(tmp_path))
    assert rejects == [] and steps[0].problem.answer == "15"
    score = await evaluate(AnswerJudge(), steps)
    # rated final steps: four right ones and pb-09's wrong one
    assert (score.decided, score.flagged, score.true_positives) == (5, 1, 1)
    assert (score.erroneous, score.located, score.error_free, score.passed) == (6, 1, 4, 4)
    assert score.first_error_f1 == pytest.approx(2 * (1 / 6) * 1.0 / (1 / 6 + 1.0))


async def test_unrated_steps_are_judged_only_until_the_judge_flags_one() -> None:
    """An LLM judge is not paid for unrated steps that can no longer change its guess."""
    # a judge that flags every step is asked about the 24 rated steps alone; one that flags
    # nothing about all 33
    steps, _ = read_labelled(PROCESSBENCH)
    flagger = _Always("incorrect")
    score = await evaluate(flagger, steps)
    assert len(flagger.asked) == 24 and "pb-05:2" not in flagger.asked
    # it guesses step 0 everywhere: right for pb-06 and pb-08, wrong for every right solution
    assert (score.located, score.passed, score.first_error_f1) == (2, 0, 0.0)
    silent = _Always("unknown")
    score = await evaluate(silent, steps)
    assert len(silent.asked) == 33
    assert (score.steps, score.skipped, score.located, score.passed) == (24, 9, 0, 4)


class _Slow:
    """The arithmetic judge, answering after a delay that differs from step to step, so the
    answers of solutions judged at once arrive out of file order."""

    name = "slow"

    def __init__(self) -> None:
        self.inner = ArithmeticJudge()
        self.order: list[str] = []

    async def judge(self, problem: Problem, path: Sequence[Node], node: Node) -> list[Verdict]:
        await asyncio.sleep(zlib.crc32(f"{problem.id}:{node.id}".encode()) % 7 / 1000)
        self.order.append(f"{problem.id}:{node.id}")
        return await self.inner.judge(problem, path, node)


async def test_solutions_judged_at_once_give_the_same_score() -> None:
    """Several workers judge whole solutions at once, each solution's steps in order: the
    score is the one of a single worker, and every step still gets one progress tick."""
    steps, _ = read_labelled(PROCESSBENCH)
    alone = await evaluate(_Slow(), steps)
    judge, ticks = _Slow(), list[int]()
    together = await evaluate(judge, steps, workers=8, on_step=lambda: ticks.append(1))
    assert together == alone and len(ticks) == len(steps) == 33
    assert judge.order != sorted(
        judge.order, key=[f"{s.problem.id}:{s.node.id}" for s in steps].index
    )
    for problem in {step.problem.id for step in steps}:  # in order within a solution
        mine = [key for key in judge.order if key.startswith(problem + ":")]
        assert mine == sorted(mine, key=len)


def test_bad_processbench_rows_are_named(tmp_path: Path) -> None:
    good = {"id": "ok", "problem": "1 + 1?", "steps": ["1 + 1 = 2."], "label": -1}
    rows = [
        good,
        {**good, "label": 1},
        {**good, "label": -2},
        {**good, "label": "0"},
        {**good, "final_answer_correct": "yes"},
        {**good, "rating": 3},
    ]
    path = tmp_path / "pb.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    steps, rejects = read_labelled(path)
    assert len(steps) == 1 and steps[0].gold == "correct"
    assert [str(r) for r in rejects] == [
        f"{path}:2: field 'label': first wrong step 1, but the solution has 1 steps",
        f"{path}:3: field 'label': Input should be greater than or equal to -1",
        f"{path}:4: field 'label': Input should be a valid integer",
        f"{path}:5: field 'final_answer_correct': Input should be a valid boolean",
        f"{path}:6: field 'rating': Extra inputs are not permitted",
    ]


async def test_a_last_step_that_states_no_answer_is_wrong_even_with_the_gold_number(
    tmp_path: Path,
) -> None:
    """Only a stated answer counts, as in search: the gold number in passing is not one."""
    path = tmp_path / "unstated.jsonl"
    row = {"question": "48 clips in April, half as many in May. How many in all?", "answer": "72",
           "steps": ["In May she sold 48 / 2 = 24.", "In all she sold 48 + 24 = 72 clips."],
           "labels": ["correct", "correct"]}  # fmt: skip
    path.write_text(json.dumps(row) + "\n")
    steps, _ = read_labelled(path)
    last = steps[-1]
    assert last.node.terminal and last.node.answer is None
    (verdict,) = await AnswerJudge().judge(last.problem, last.path, last.node)
    assert verdict.label == "incorrect" and "states no final answer" in verdict.reason
    score = await evaluate(AnswerJudge(), steps)
    assert (score.flagged, score.true_positives, score.passed) == (1, 0, 0)


def test_command_prints_the_processbench_table() -> None:
    done = CliRunner().invoke(main, ["eval-judge", str(PROCESSBENCH), "--judge", "arithmetic"])
    assert done.exit_code == 0, done.output
    lines = done.output.splitlines()
    assert lines[2].split() == ["arithmetic", "24", "6", "3", "3", "1.00", "0.50", "0.67", "3"]
    assert "9 labelled unknown left out" in lines[3]
    assert lines[7].split() == ["arithmetic", "6", "3", "50.0", "4", "4", "100.0", "66.7"]
    assert lines[8].startswith("10 solutions")
