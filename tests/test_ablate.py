"""`journeygen ablate` at toy scale on CPU: a fake-backend run of 4 short problems, the
embedded SmolLM2 fine-tuned for 2 steps on its journeys and on its shortcuts, 3 eval
problems. Checks what any run must show (the table, equal steps, three different sets of
outputs, the eval set kept apart from the training problems), never the accuracy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from journeygen.ablate.data import eval_set
from journeygen.ablate.evaluate import reflects
from journeygen.ablate.report import COLUMNS
from journeygen.cli import main

# Four short problems (short prompts keep the toy fine-tunes cheap) with reference solutions,
# which (always) are the correct paths; the fake model's answers are the wrong detours.
TRAIN = [
    {"question": "Tom has 3 apples and buys 5 more. How many apples?", "answer": "8",
     "solution": "Tom has 3 + 5 = 8 apples.\nThe answer is 8."},
    {"question": "Ann has 10 pens and gives away 2. How many pens are left?", "answer": "8",
     "solution": "10 - 2 = 8 pens are left.\nThe answer is 8."},
    {"question": "A box holds 6 eggs. How many eggs are in 4 boxes?", "answer": "24",
     "solution": "4 * 6 = 24 eggs.\nThe answer is 24."},
    {"question": "Sam reads 7 pages a day. How many pages in 3 days?", "answer": "21",
     "solution": "7 * 3 = 21 pages.\nThe answer is 21."},
]  # fmt: skip
SCRIPT = {
    "responses": [
        "First I add the numbers: 16 + 3 = 19.",
        "The answer is 7.",
        "So the total is 19 * 2 = 38. The answer is 38.",
    ],
    "cycle": True,
}
EVAL = [
    {"question": TRAIN[1]["question"], "answer": "8"},  # a training problem: left out
    {"question": "Lia has 4 cups and buys 9 more. How many cups?", "answer": "13"},
    {"question": "A bag has 12 sweets and Bo eats 5. How many are left?", "answer": "7"},
    {"question": "Each car has 4 wheels. How many wheels do 5 cars have?", "answer": "20"},
    {"question": "Mia has 2 dogs. How many legs do they have?", "answer": "8"},
]
LONG = (
    "Janet's ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes "
    "muffins for her friends every day with four. How many eggs are left each day?"
)


def _write_jsonl(rows: list[dict[str, object]], path: Path) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


@pytest.fixture(scope="module")
def ablated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """The folder of the toy run after `journeygen ablate`, and what the command printed on
    stdout and stderr."""
    cwd = tmp_path_factory.mktemp("ablate")
    script = cwd / "script.json"
    script.write_text(json.dumps(SCRIPT))
    dirs = ["--trees-dir", str(cwd / "trees"), "--out-dir", str(cwd / "outputs")]
    problems = _write_jsonl(TRAIN, cwd / "toy.jsonl")
    generate = ["generate", str(problems), "--backend", "fake",
                "--model", str(script), "--width", "2", "--keep", "1", "--depth", "2",
                "--reference-path", "always", *dirs]  # fmt: skip
    result = CliRunner().invoke(main, generate)
    assert result.exit_code == 0, result.output
    eval_file = _write_jsonl(EVAL, cwd / "eval.jsonl")
    ablate = ["ablate", "toy", "--eval", str(eval_file), "--eval-size", "3", "--max-steps", "2",
              "--batch-size", "2", "--max-length", "160", "--lr", "5e-4",
              "--max-new-tokens", "8", "--eval-batch-size", "2", *dirs]  # fmt: skip
    result = CliRunner().invoke(main, ablate)
    assert result.exit_code == 0, result.output
    return cwd / "outputs" / "toy" / "ablate", result.stdout, result.stderr


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _outputs(folder: Path, model: str) -> list[dict[str, Any]]:
    return _rows(folder / f"eval-{model}.jsonl")


@pytest.mark.train
def test_table_has_one_row_per_model_with_every_column(ablated: tuple[Path, str, str]) -> None:
    folder, printed, _ = ablated
    lines = printed.splitlines()
    assert lines[0] == "| " + " | ".join(COLUMNS) + " |"
    assert [line.split(" | ")[0] for line in lines[2:]] == ["| base", "| journey", "| shortcut"]
    assert all(line.count("|") == len(COLUMNS) + 1 for line in lines)
    assert (folder / "table.md").read_text() == printed


@pytest.mark.train
def test_both_sets_train_the_same_steps_on_the_same_problems(
    ablated: tuple[Path, str, str],
) -> None:
    folder, _, _ = ablated
    report = json.loads((folder / "ablate.json").read_text())
    rows = {row["model"]: row for row in report["rows"]}
    assert rows["base"]["train"] is None
    journey, shortcut = rows["journey"]["train"], rows["shortcut"]["train"]
    assert journey["steps"] == shortcut["steps"] == 2
    assert journey["examples"] == shortcut["examples"] == 4 == report["settings"]["paired_problems"]
    # the same 4 problems seen (2 steps x 2), each journey its shortcut plus a detour
    assert journey["tokens"] > shortcut["tokens"] > 0
    prompts = {
        kind: [row["prompt"] for row in _rows(folder / f"train-{kind}.jsonl")]
        for kind in ("journey", "shortcut")
    }
    assert prompts["journey"] == prompts["shortcut"]
    first = _rows(folder / "train-journey.jsonl")[0]
    assert "<think>" in first["completion"][0]["content"]


@pytest.mark.train
def test_three_models_were_evaluated_and_answer_differently(ablated: tuple[Path, str, str]) -> None:
    folder, _, _ = ablated
    outputs = {model: _outputs(folder, model) for model in ("base", "journey", "shortcut")}
    ids = [[row["problem_id"] for row in rows] for rows in outputs.values()]
    assert ids[0] == ids[1] == ids[2] and len(ids[0]) == 3
    texts = {model: [row["output"] for row in rows] for model, rows in outputs.items()}
    assert texts["base"] != texts["journey"] != texts["shortcut"] != texts["base"]
    for rows in outputs.values():
        for row in rows:
            assert 0 < row["tokens"] <= 8
            assert row["correct"] in (True, False) and row["reason"]


@pytest.mark.train
def test_each_eval_reports_progress_after_every_batch(ablated: tuple[Path, str, str]) -> None:
    folder, _, said = ablated
    for model in ("base", "journey", "shortcut"):
        tokens = [row["tokens"] for row in _outputs(folder, model)]
        lines = [line for line in said.splitlines() if line.startswith(f"{model}: ")]
        # 3 eval problems in batches of 2: after 2 answers, then after all 3
        progress = [line for line in lines if " answered, " in line]
        assert [line.split(" answered")[0] for line in progress] == [
            f"{model}: 2/3",
            f"{model}: 3/3",
        ]
        assert f" {sum(tokens[:2]):,} tokens, " in progress[0]
        assert f" {sum(tokens):,} tokens, " in progress[1]
        assert progress[1].endswith("about 0 s left")


@pytest.mark.train
def test_eval_copy_of_a_training_problem_is_left_out(ablated: tuple[Path, str, str]) -> None:
    folder, _, _ = ablated
    dropped = _rows(folder / "eval-dropped.jsonl")
    assert [row["problem_id"] for row in dropped] == ["eval-000001"]
    assert "copies training problem" in dropped[0]["reason"]
    kept = {row["problem_id"] for row in _outputs(folder, "base")}
    assert kept == {"eval-000002", "eval-000003", "eval-000004"}


def test_eval_set_drops_near_copies_and_problems_without_gold(tmp_path: Path) -> None:
    rows = [
        {"question": LONG.replace("16 eggs", "16  eggs").upper(), "answer": "18"},
        {"question": "How many legs do 3 cats have?"},
        {"question": "How many legs do 3 dogs have?", "answer": "12"},
    ]
    found = eval_set(_write_jsonl(rows, tmp_path / "eval.jsonl"), [LONG], ["ducks"], size=5)
    assert [problem.question for problem in found.problems] == [rows[2]["question"]]
    assert [row["reason"] for row in found.dropped] == [
        "copies training problem ducks (ngram)",
        "no gold answer",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Wait. Let me recompute that: 3 + 4 is 7.", True),
        ("Let me go back to where I had: 9 eggs.", True),
        ("Hmm, that doesn't look right.", True),
        ("Janet sells 16 - 3 - 4 = 9 eggs. The answer is 18.", False),
        ("She waited for the bus; the answer is 4.", False),
    ],
)
def test_reflects_finds_reflections_and_backtracks_only(text: str, expected: bool) -> None:
    assert reflects(text) is expected


def test_ablate_help_loads_no_torch(tmp_path: Path) -> None:
    probe = (
        "import sys\nfrom journeygen.cli import main\n"
        "try:\n    main(['ablate', '--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'transformers', 'trl'}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert "--base-model" in done.stdout
    assert done.stdout.splitlines()[-1] == "[]"
