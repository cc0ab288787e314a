"""PRM800K rows (openai/prm800k README format) become our trees; a bad row names its field."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from journeygen.cli import main
from journeygen.models import Tree
from journeygen.problems import Reject
from journeygen.problems.prm800k import read_prm800k
from journeygen.store import RunStore

SAMPLE = Path(__file__).parent / "data" / "prm800k_sample.jsonl"


def shape(tree: Tree) -> list[tuple[object, ...]]:
    return [(n.id, n.parent, n.source, n.terminal, n.answer, n.label) for n in tree.nodes]


def test_sample_rows_become_exactly_the_expected_trees() -> None:
    items = list(read_prm800k(SAMPLE))
    assert all(isinstance(item, Tree) for item in items)
    first, second, third = (item for item in items if isinstance(item, Tree))

    # step 2 had three rated alternatives; the chosen +1 one carries the path on
    assert first.problem.id == "prm800k_sample-000001"
    assert (first.problem.question, first.problem.answer) == ("What is $2 + 3$?", "5")
    assert shape(first) == [
        ("1", None, "import", False, None, "correct"),
        ("1.1", "1", "import", False, None, "incorrect"),
        ("1.2", "1", "import", False, None, "correct"),
        ("1.3", "1", "import", False, None, "unknown"),
        ("1.2.1", "1.2", "import", True, "5", "correct"),
    ]
    assert first.node("1.1").text == "$2 + 3 = 6$."
    assert first.node("1.1").verdicts[0].reason == "rated -1 (wrong) by a PRM800K labeller"
    assert first.node("1.3").verdicts[0].reason.endswith("labeller and flagged")
    assert (first.stats.nodes, first.stats.correct_leaves, first.stats.incorrect_leaves) == (
        5,
        1,
        0,
    )
    assert first.strategy == "import" and first.status == "complete"

    # found_error: the path stops at the -1 step; the MATH reference becomes the correct path
    assert shape(second) == [
        ("1", None, "import", False, None, "correct"),
        ("1.1", "1", "import", True, "62", "incorrect"),
        ("ref1", None, "reference", False, None, "correct"),
        ("ref2", "ref1", "reference", False, None, "correct"),
        ("ref3", "ref2", "reference", True, "72", "correct"),
    ]
    assert second.problem.meta == {"source": "prm800k", "finish_reason": "found_error"}
    assert second.stats.nodes == 2  # what the labellers rated, without the reference

    # both completions rated -1: the labeller's own step is the one the path continues with
    assert shape(third) == [
        ("1", None, "import", False, None, "incorrect"),
        ("2", None, "import", False, None, "incorrect"),
        ("3", None, "import", False, None, "correct"),
        ("3.1", "3", "import", True, "3", "correct"),
    ]
    assert third.node("3").text == "Subtracting $4$ from both sides, $x = 7 - 4 = 3$."
    assert third.node("3").verdicts[0].reason.startswith("written by the PRM800K labeller")


def test_bad_rows_are_rejected_with_file_line_and_field(tmp_path: Path) -> None:
    good = SAMPLE.read_text().splitlines()[0]
    row = json.loads(good)
    out_of_range = json.loads(good)
    out_of_range["label"]["steps"][1]["chosen_completion"] = 3
    bad_rating = json.loads(good)
    bad_rating["label"]["steps"][0]["completions"][0]["rating"] = 2
    no_problem = {**row, "question": {"ground_truth_answer": "5"}}
    path = tmp_path / "rows.jsonl"
    lines = [good, json.dumps(out_of_range), json.dumps(bad_rating), json.dumps(no_problem), "{"]
    path.write_text("\n".join(lines) + "\n")
    items = list(read_prm800k(path))
    rejects = [str(item) for item in items if isinstance(item, Reject)]
    assert len(items) == 5 and isinstance(items[0], Tree)
    assert rejects == [
        f"{path}:2: field 'label.steps.1.chosen_completion': 3 is out of range (3 completions)",
        f"{path}:3: field 'label.steps.0.completions.0.rating': Input should be -1, 0 or 1",
        f"{path}:4: field 'question.problem': Field required",
        f"{path}:5: invalid JSON: Expecting property name enclosed in double quotes (column 2)",
    ]


def test_import_command_writes_a_run_that_show_and_export_read(tmp_path: Path) -> None:
    runner = CliRunner()
    trees = tmp_path / "trees"
    done = runner.invoke(
        main, ["import", "prm800k", str(SAMPLE), "--run", "prm", "--trees-dir", str(trees)]
    )
    assert done.exit_code == 0, done.output
    assert "imported 3 trees (11 steps, 4 labelled incorrect; 0 rows rejected)" in done.output
    store = RunStore(trees, "prm")
    manifest = store.read_manifest()
    assert manifest.problems == [f"prm800k_sample-00000{i}" for i in (1, 2, 3)]
    assert manifest.source == str(SAMPLE)
    assert [tree.problem.id for tree in store.trees()] == manifest.problems

    shown = runner.invoke(main, ["show", "prm", "prm800k_sample-000001", "--trees-dir", str(trees)])
    assert shown.exit_code == 0, shown.output
    assert "why: rated -1 (wrong) by a PRM800K labeller" in shown.output

    out = tmp_path / "journeys.jsonl"
    exported = runner.invoke(
        main,
        ["export", "prm", "--kind", "journey", "-o", str(out), "--trees-dir", str(trees)],
    )
    assert exported.exit_code == 0, exported.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    # the second tree's wrong step hangs below a right first step, not on the reference
    # path, so it gives no detour: journeys come from the first and third trees
    assert [row["messages"][0]["content"] for row in rows] == [
        "What is $2 + 3$?",
        "Solve $x + 4 = 7$.",
    ]
    assert "$2 + 3 = 6$." in rows[0]["messages"][-1]["content"]  # the wrong sibling as a detour
