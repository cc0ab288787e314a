"""Decontamination against benchmark files (13-gram and fuzzy rules, `generate` and `export`
with `--decontaminate`) and repeated questions rejected at load."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hand_cases import fake_run_inputs

from journeygen.cli import main
from journeygen.problems import load_problems
from journeygen.problems.decontaminate import BenchmarkError, ContaminationIndex, read_benchmark
from journeygen.problems.normalize import normalized_text

SHEEP = (
    "A farmer has 1,000 sheep and sells 250 of them at the market on Monday, then buys 125 "
    "more on Tuesday. How many sheep does the farmer have now?"
)
# 25 words; the 13th ("train") is in every 13-word window, so changing it leaves no shared
# 13-gram and only the fuzzy rule can see the copy.
TRAIN = (
    "Every morning Maria walks from her house and then she takes the train to the city "
    "where she works all day at a small bakery"
)
PENS = "Ann has 10 pens and gives away 2. How many are left?"  # hand_cases.PROBLEMS[1]


def write_jsonl(path: Path, *rows: dict[str, Any]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def bench(tmp_path: Path) -> Path:
    """A benchmark in three row formats: generic, GSM8K (`####`), MATH (`\\boxed`)."""
    return write_jsonl(
        tmp_path / "bench.jsonl",
        {"question": "What is the capital of France?", "answer": "Paris"},
        {"question": SHEEP, "answer": "Sells then buys.\n#### 875"},
        {"problem": TRAIN + ".", "solution": "She rides the train. $\\boxed{1}$"},
    )


def test_numbers_are_spelled_one_way() -> None:
    assert normalized_text("1,000 and 1000.0 and 1000") == "1000 and 1000 and 1000"
    assert normalized_text("$2.50, 007; 3.14.") == "2.5 7 3.14"
    assert normalized_text("  Hello,\tWORLD!  ") == "hello world"


def test_reformatted_copy_matches_by_ngram(bench: Path) -> None:
    index = ContaminationIndex.from_files([bench])
    copy = SHEEP.upper().replace("1,000", "1000").replace("250", "250.0").replace(" ", "   ")
    found = index.match(copy)
    assert found is not None and found.rule == "ngram"
    assert (found.benchmark.file, found.benchmark.line) == (str(bench), 2)
    assert found.ngram == "a farmer has 1000 sheep and sells 250 of them at the market"


def test_short_question_matches_only_as_a_whole(bench: Path) -> None:
    index = ContaminationIndex.from_files([bench])
    found = index.match("what is the CAPITAL of france")
    assert found is not None and found.rule == "ngram" and found.benchmark.line == 1
    assert index.match("What is the capital of France and of Spain?") is None


def test_near_copy_with_one_word_changed_matches_by_fuzzy_ratio(bench: Path) -> None:
    words = TRAIN.split()
    assert len(words) == 25 and words[12] == "train"
    near = TRAIN.replace("train", "bus")
    assert ContaminationIndex.from_files([bench], threshold=100).match(near) is None  # no 13-gram
    found = ContaminationIndex.from_files([bench]).match(near)
    assert found is not None and found.rule == "fuzzy"
    assert found.benchmark.line == 3
    assert found.ratio is not None and 95 <= found.ratio < 100


def test_unrelated_question_sharing_words_does_not_match(bench: Path) -> None:
    index = ContaminationIndex.from_files([bench])
    assert index.match("A farmer has 12 cows. How many legs do the cows have in all?") is None
    assert index.match("Maria walks to the station and takes the bus to work.") is None


def test_a_copy_with_other_numbers_is_another_problem(tmp_path: Path) -> None:
    bench = write_jsonl(tmp_path / "b.jsonl", {"problem": "Compute $\\dbinom{505}{505}$."})
    index = ContaminationIndex.from_files([bench])
    assert index.match("Compute $\\dbinom{505}{504}$.") is None  # ratio 95.5, numbers differ
    assert index.match("compute \\binom{505}{505}") is not None


def test_json_list_benchmark_reports_the_line_a_row_starts_on(tmp_path: Path) -> None:
    path = tmp_path / "math.json"
    rows = [{"problem": "Find $x$ if $x+1=2$.", "solution": "$\\boxed{1}$"}, {"problem": SHEEP}]
    path.write_text(json.dumps(rows, indent=2))
    questions = read_benchmark(path)
    assert [q.question for q in questions] == [rows[0]["problem"], SHEEP]
    text = path.read_text().splitlines()
    assert [q.line for q in questions] == [i + 1 for i, t in enumerate(text) if t == "  {"]


def test_a_bad_benchmark_row_stops_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"question": "ok?"}) + "\n" + json.dumps({"answer": 3}) + "\n")
    with pytest.raises(BenchmarkError, match=r"bad\.jsonl:2: .*question"):
        read_benchmark(path)


def test_repeated_question_is_rejected_at_load(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "p.jsonl",
        {"id": "a", "question": "Tom has 3 apples. How many?", "answer": "3"},
        {"id": "b", "question": "What is 2+2?", "answer": "4"},
        {"id": "c", "question": "  tom HAS 3 apples -- how many ", "answer": "3"},
    )
    problems, rejects = load_problems(path)
    assert [p.id for p in problems] == ["a", "b"]
    assert [str(r) for r in rejects] == [f"{path}:3: same question as line 1"]


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(arg) for arg in args])


@pytest.fixture
def run_inputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, Path]:
    """demo.jsonl (apples, a broken line, pens), the fake script, and a benchmark whose line 2
    is the pens question re-cased and re-punctuated; the working folder is tmp_path."""
    monkeypatch.chdir(tmp_path)
    problems, script = fake_run_inputs(tmp_path)
    bench = write_jsonl(
        tmp_path / "gsm8k-test.jsonl",
        {"question": "Tom has 3 pears and eats 1. How many are left?", "answer": "#### 2"},
        {"question": "ann has 10 pens, and gives away 2 -- HOW many are left", "answer": "#### 8"},
    )
    return problems, script, bench


FAKE = ("--width", "2", "--depth", "2", "--backend", "fake", "--model")


def sample_ids(folder: Path) -> list[str]:
    return [row["problem_id"] for row in lines(folder / "journey.provenance.jsonl")]


def test_generate_skips_a_benchmark_copy(run_inputs: tuple[Path, Path, Path]) -> None:
    problems, script, bench = run_inputs
    result = invoke("generate", problems, *FAKE, script, "--decontaminate", bench)
    assert result.exit_code == 0, result.output
    assert "decontaminated 1" in result.stdout
    run = Path("trees/demo")
    assert (run / "apples.json").is_file() and not (run / "pens.json").exists()
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["problems"] == ["apples"] and manifest["decontaminate"] == [str(bench)]
    (row,) = lines(Path("outputs/demo/decontaminated.jsonl"))
    assert {k: row[k] for k in ("id", "file", "line", "rule", "stage")} == {
        "id": "pens",
        "file": str(problems),
        "line": 3,  # line 2 of demo.jsonl is the broken row
        "rule": "ngram",
        "stage": "generate",
    }
    assert (row["benchmark_file"], row["benchmark_line"]) == (str(bench), 2)
    assert row["ngram"] == normalized_text(PENS)
    assert sample_ids(Path("outputs/demo")) == ["apples"]

    again = invoke("generate", problems, *FAKE, script)  # without the flag: pens gets its tree
    assert again.exit_code == 0, again.output
    assert (run / "pens.json").is_file()
    assert not Path("outputs/demo/decontaminated.jsonl").exists()


@pytest.mark.parametrize("workers", ["1", "2"])  # 2: a worker process finds the copy (pens)
def test_export_drops_the_samples_of_a_benchmark_copy(
    run_inputs: tuple[Path, Path, Path], workers: str
) -> None:
    problems, script, bench = run_inputs
    assert invoke("generate", problems, *FAKE, script).exit_code == 0
    out = Path("outputs/demo")
    assert sorted(sample_ids(out)) == ["apples", "pens"]

    result = invoke("export", "demo", "--decontaminate", bench, "--workers", workers)
    assert result.exit_code == 0, result.output
    assert "journey: 1 rows" in result.stdout and "shortcut: 1 rows" in result.stdout
    assert "decontaminated: 1 problems dropped" in result.stdout
    assert sample_ids(out) == ["apples"]
    assert all(PENS not in json.dumps(row) for row in lines(out / "shortcut.jsonl"))
    (row,) = lines(out / "decontaminated.jsonl")
    assert (row["id"], row["stage"], row["line"]) == ("pens", "export", 3)
    assert (row["benchmark_file"], row["benchmark_line"]) == (str(bench), 2)


def test_generate_rejects_a_repeated_question_and_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    problems, script = fake_run_inputs(tmp_path)
    again = {"id": "again", "question": "TOM has 3 apples, and buys 5 more -- how MANY"}
    with problems.open("a") as handle:
        handle.write(json.dumps(again) + "\n")
    result = invoke("generate", problems, *FAKE, script)
    assert result.exit_code == 0, result.output
    assert "demo.jsonl:4: same question as line 1" in result.output
    rejects = lines(Path("outputs/demo/rejects.jsonl"))
    assert [(r["line"], r["error"]) for r in rejects][-1] == (4, "same question as line 1")
    assert Path("trees/demo/pens.json").is_file()
    assert not Path("trees/demo/again.json").exists()
