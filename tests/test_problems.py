"""Loading problems: formats, rejects with file and line, safe ids, reference steps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from journeygen.models import SAFE_ID
from journeygen.problems import (
    Reject,
    RowError,
    boxed_answer,
    iter_problems,
    load_problems,
    normalize_row,
    safe_id,
    write_rejects,
)
from journeygen.problems.solution import reference_steps

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


def write_lines(path: Path, *rows: object) -> Path:
    """A jsonl file: dicts/lists are dumped as JSON, str and bytes are written as they are."""
    parts = []
    for row in rows:
        if isinstance(row, bytes):
            parts.append(row)
        elif isinstance(row, str):
            parts.append(row.encode())
        else:
            parts.append(json.dumps(row).encode())
    path.write_bytes(b"\n".join(parts) + b"\n")
    return path


# ---- GSM8K ---------------------------------------------------------------------------------


def test_gsm8k_sample_rows_give_gold_answer_and_clean_solution() -> None:
    problems, rejects = load_problems(DATA / "gsm8k_sample.jsonl")
    assert rejects == []
    assert [p.answer for p in problems] == ["18", "3", "70000", "540", "20"]
    first, second = problems[0], problems[1]
    assert first.id == "gsm8k_sample-000001"
    assert first.question.startswith("Janet\u2019s ducks lay 16 eggs per day.")
    assert first.solution == (
        "Janet sells 16 - 3 - 4 = 9 duck eggs a day.\n"
        "She makes 9 * 2 = $18 every day at the farmer\u2019s market."
    )
    assert first.meta == {"format": "gsm8k"}
    assert second.question == (
        "A robe takes 2 bolts of blue fiber and half that much white fiber.  "
        "How many bolts in total does it take?"
    )
    assert second.solution == (
        "It takes 2/2=1 bolt of white fiber\nSo the total amount of fabric is 2+1=3 bolts of fabric"
    )
    assert problems[3].solution == "He sprints 3*3=9 times\nSo he runs 9*60=540 meters"


def test_gsm8k_calc_marks_and_answer_line_never_reach_the_solution() -> None:
    problems, _ = load_problems(DATA / "gsm8k_sample.jsonl")
    for problem in problems:
        assert problem.solution is not None
        assert "<<" not in problem.solution and ">>" not in problem.solution
        assert "####" not in problem.solution


@pytest.mark.parametrize(
    ("tail", "gold"),
    [
        ("2,125", "2125"),
        ("1,000,000", "1000000"),
        (" 70000 ", "70000"),
        ("-3", "-3"),
        ("0.5", "0.5"),
    ],
)
def test_gsm8k_answer_loses_thousands_commas(tmp_path: Path, tail: str, gold: str) -> None:
    row = {"question": "How many?", "answer": f"It is 2+3=<<2+3=5>>5\n#### {tail}"}
    problems, rejects = load_problems(write_lines(tmp_path / "g.jsonl", row))
    assert rejects == []
    assert problems[0].answer == gold
    assert problems[0].solution == "It is 2+3=5"


def test_gsm8k_mark_with_nothing_after_is_a_reject(tmp_path: Path) -> None:
    row = {"question": "How many?", "answer": "It is 5\n####   "}
    _, rejects = load_problems(write_lines(tmp_path / "g.jsonl", row))
    assert [(r.line, r.field) for r in rejects] == [(1, "answer")]
    assert "nothing after '####'" in rejects[0].message


# ---- MATH and generic ----------------------------------------------------------------------


def test_math_answer_is_last_boxed_with_nested_braces(tmp_path: Path) -> None:
    rows = [
        {
            "problem": "Compute $\\frac{1}{\\sqrt{2}}$.",
            "solution": "First $\\boxed{1}$ is wrong. So $x = \\boxed{\\frac{1}{\\sqrt{2}}}$.",
            "level": "Level 2",
            "type": "Algebra",
        },
        {"problem": "p1", "solution": "So \\fbox{x^{2}} it is.", "level": "Level 1"},
        {"problem": "p2", "solution": "It is $\\boxed{5}$.", "answer": "6", "type": "Geometry"},
        {"problem": "p3", "solution": "No box here.", "level": "Level 5", "type": "Algebra"},
    ]
    problems, rejects = load_problems(write_lines(tmp_path / "m.jsonl", *rows))
    assert rejects == []
    assert [p.answer for p in problems] == ["\\frac{1}{\\sqrt{2}}", "x^{2}", "6", None]
    assert problems[0].meta == {"format": "math", "level": "Level 2", "type": "Algebra"}
    assert problems[0].question == "Compute $\\frac{1}{\\sqrt{2}}$."
    assert all(p.meta["format"] == "math" for p in problems)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\\boxed{a{b{c}}d}", "a{b{c}}d"),
        ("\\boxed{1} then \\boxed{2}", "2"),
        ("\\boxed{\\boxed{7}}", "\\boxed{7}"),  # the outer box is the answer
        ("\\boxed 5", "5"),
        ("\\boxed{\\{1, 2\\}}", "\\{1, 2\\}"),
        ("\\boxed{unclosed", None),
        ("\\boxedfoo{3}", None),
        ("no box", None),
    ],
)
def test_boxed_answer(text: str, expected: str | None) -> None:
    assert boxed_answer(text) == expected


def test_examples_math_file_loads_with_boxed_answers() -> None:
    problems, rejects = load_problems(ROOT / "examples" / "math.jsonl")
    assert rejects == []
    assert [p.answer for p in problems] == ["9", "4", "\\frac{3}{4}"]
    assert [p.id for p in problems] == ["math-000001", "math-000002", "math-000003"]


def test_generic_rows_numeric_answers_ids_and_extra_meta(tmp_path: Path) -> None:
    rows = [
        {"id": 7, "question": " What is 6*7? ", "answer": 42, "source": "quiz", "format": "x"},
        {"problem": "Half of 5?", "answer": 2.5},
        {"question": "No answer known."},
        {"question": "Blank answer.", "answer": "  ", "solution": "   "},
    ]
    problems, rejects = load_problems(write_lines(tmp_path / "gen.jsonl", *rows))
    assert rejects == []
    first, second, third, fourth = problems
    assert (first.id, first.question, first.answer) == ("7", "What is 6*7?", "42")
    assert first.meta == {"format": "generic", "source": "quiz", "row_format": "x"}
    assert (second.id, second.answer, second.meta) == ("gen-000002", "2.5", {"format": "generic"})
    assert third.answer is None and third.solution is None
    assert fourth.answer is None and fourth.solution is None


def test_question_wins_over_problem_which_is_kept_in_meta(tmp_path: Path) -> None:
    row = {"question": "Q?", "problem": "P?", "answer": "1"}
    problems, _ = load_problems(write_lines(tmp_path / "q.jsonl", row))
    assert problems[0].question == "Q?"
    assert problems[0].meta == {"format": "generic", "problem": "P?"}


def test_examples_problems_file_is_easy_and_complete() -> None:
    problems, rejects = load_problems(ROOT / "examples" / "problems.jsonl")
    assert rejects == []
    assert len(problems) == 8
    for problem in problems:
        assert problem.answer is not None and problem.answer.isdigit()
        assert problem.solution is not None
        steps = reference_steps(problem.solution)
        assert 2 <= len(steps) <= 3
        assert steps[-1] == f"The answer is {problem.answer}."


# ---- rejects -------------------------------------------------------------------------------


def test_examples_broken_file_rejects_each_bad_row_and_keeps_the_good() -> None:
    problems, rejects = load_problems(ROOT / "examples" / "broken.jsonl")
    assert [p.id for p in problems] == ["good-1", "good-2", "broken-000012"]
    assert [(r.line, r.field) for r in rejects] == [
        (2, None),  # invalid JSON
        (3, None),  # not an object
        (4, "question"),  # missing
        (5, "question"),  # list
        (7, "question"),  # empty (line 6 is blank and skipped)
        (8, None),  # invalid UTF-8
        (10, "id"),  # duplicate
        (11, "answer"),  # dict
    ]
    messages = [r.message for r in rejects]
    assert messages[0].startswith("invalid JSON: Unterminated string")
    assert messages[1] == "line is not a JSON object (got list)"
    assert messages[2] == "field 'question': missing (expected 'question' or 'problem')"
    assert messages[3] == "field 'question': expected a string, got list"
    assert messages[4] == "field 'question': empty"
    assert messages[5].startswith("invalid UTF-8 at byte ")
    assert messages[6] == "duplicate id 'good-1' (first on line 1)"
    assert messages[7] == "field 'answer': expected a string or number, got dict"
    assert all(r.path.endswith("broken.jsonl") for r in rejects)
    assert "\\xe9" in rejects[5].raw  # the bad byte stays visible in the rejects file


@pytest.mark.parametrize(
    ("bad", "field", "message"),
    [
        (b'{"question": "x", ', None, "invalid JSON: "),
        (b"42", None, "line is not a JSON object (got int)"),
        (b'"just text"', None, "line is not a JSON object (got str)"),
        (b'{"answer": "1"}', "question", "field 'question': missing"),
        (b'{"question": null}', "question", "field 'question': expected a string, got null"),
        (b'{"problem": {"a": 1}}', "problem", "field 'problem': expected a string, got dict"),
        (b'{"question": "\\n\\t "}', "question", "field 'question': empty"),
        (b'{"question": "q", "answer": [1]}', "answer", "expected a string or number, got list"),
        (b'{"question": "q", "answer": true}', "answer", "expected a string or number, got bool"),
        (b'{"question": "q", "solution": 3}', "solution", "expected a string, got int"),
        (b'{"question": "q", "id": 1.5}', "id", "expected a string or integer, got float"),
        (b'{"question": "q", "id": " "}', "id", "field 'id': empty"),
        (b'{"question": "q", "answer": NaN}', None, "invalid JSON: NaN is not valid JSON"),
        (b'{"question": "\\ud800"}', None, "unpaired surrogate"),
        (b'{"question": "ok \xff\xfe"}', None, "invalid UTF-8 at byte 17"),
        (b"[" * 100_000, None, "invalid JSON"),
    ],
)
def test_each_bad_row_is_a_reject_and_loading_goes_on(
    tmp_path: Path, bad: bytes, field: str | None, message: str
) -> None:
    path = write_lines(tmp_path / "p.jsonl", {"question": "first"}, bad, {"question": "last"})
    problems, rejects = load_problems(path)
    assert [p.question for p in problems] == ["first", "last"]
    assert len(rejects) == 1
    reject = rejects[0]
    assert (reject.line, reject.field) == (2, field)
    assert message in reject.message
    assert str(reject) == f"{path}:2: {reject.message}"


def test_blank_lines_are_skipped_and_line_numbers_stay_physical(tmp_path: Path) -> None:
    path = tmp_path / "b.jsonl"
    path.write_bytes(b'\n  \n{"question": "q"}\r\n\n{"oops": 1}\n\n')
    problems, rejects = load_problems(path)
    assert [p.id for p in problems] == ["b-000003"]
    assert [(r.line, r.raw) for r in rejects] == [(5, '{"oops": 1}')]


def test_byte_order_mark_on_first_line_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"question": "q"}\n')
    problems, rejects = load_problems(path)
    assert rejects == [] and problems[0].question == "q"


def test_missing_file_raises_at_once_with_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(FileNotFoundError, match=r"nope\.jsonl"):
        iter_problems(missing)  # not only once iterated
    with pytest.raises(FileNotFoundError, match=r"nope\.jsonl"):
        load_problems(str(missing))


def test_normalize_row_raises_row_error_with_field() -> None:
    with pytest.raises(RowError) as info:
        normalize_row({"question": ["x"]}, line=3, source="p.jsonl")
    assert info.value.field == "question"
    assert str(info.value) == "field 'question': expected a string, got list"
    problem = normalize_row({"question": "q"}, line=3, source="data/p.jsonl")
    assert problem.id == "p-000003"


def test_reject_str_is_file_line_message() -> None:
    reject = Reject("problems.jsonl", 3, "question", "field 'question': missing", "{}")
    assert str(reject) == "problems.jsonl:3: field 'question': missing"


# ---- ids -----------------------------------------------------------------------------------

UNSAFE = ["../../x", "a/b", "a:b", ".hidden", "..", "/", "x" * 300, "é", "a..b", "a b", "-1"]


def test_unsafe_ids_become_safe_distinct_and_stay_inside_the_folder(tmp_path: Path) -> None:
    ids = [safe_id(raw) for raw in UNSAFE]
    assert len(set(ids)) == len(UNSAFE)
    for raw, made in zip(UNSAFE, ids, strict=True):
        assert SAFE_ID.fullmatch(made) and ".." not in made, (raw, made)
        assert (tmp_path / f"{made}.json").resolve().parent == tmp_path.resolve()
    assert safe_id("a/b") != safe_id("a:b")  # same cleaned text, different hashes
    assert safe_id("q-1.v2_x") == "q-1.v2_x"  # already safe: unchanged


def test_unsafe_ids_in_a_file_load_as_safe_problems(tmp_path: Path) -> None:
    rows = [{"id": raw, "question": f"q{i}"} for i, raw in enumerate(UNSAFE)]
    problems, rejects = load_problems(write_lines(tmp_path / "ids.jsonl", *rows))
    assert rejects == []
    assert [p.id for p in problems] == [safe_id(raw) for raw in UNSAFE]


def test_generated_ids_are_deterministic_and_safe_for_odd_file_names(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "my problems..v1.jsonl", {"question": "a"}, {"question": "b"})
    first = [p.id for p in load_problems(path)[0]]
    again = [p.id for p in load_problems(path)[0]]
    assert first == again
    assert all(SAFE_ID.fullmatch(i) and ".." not in i for i in first)
    assert first[0].endswith("-000001") and first[1].endswith("-000002")
    long_stem = write_lines(tmp_path / ("s" * 200 + ".jsonl"), {"question": "a"})
    (problem,) = load_problems(long_stem)[0]
    assert len(problem.id) <= 128 and problem.id.endswith("-000001")


def test_generated_id_colliding_with_an_explicit_one_is_a_duplicate(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "c.jsonl", {"id": "c-000002", "question": "a"}, {"question": "b"})
    problems, rejects = load_problems(path)
    assert [p.id for p in problems] == ["c-000002"]
    assert rejects[0].message == "duplicate id 'c-000002' (first on line 1)"


# ---- limit and streaming -------------------------------------------------------------------


def test_limit_counts_good_problems_only(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "l.jsonl",
        {"question": "1"},
        b"bad",
        {"question": "2"},
        b"bad",
        {"question": "3"},
    )
    problems, rejects = load_problems(path, limit=2)
    assert [p.question for p in problems] == ["1", "2"]
    assert [r.line for r in rejects] == [2]  # the reject after the limit is not read
    assert load_problems(path, limit=0) == ([], [])
    assert len(load_problems(path, limit=10)[0]) == 3
    with pytest.raises(ValueError, match="limit"):
        load_problems(path, limit=-1)


def test_iter_problems_streams_in_file_order(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "s.jsonl", {"question": "1"}, b"[]", {"question": "2"})
    kinds = [type(item).__name__ for item in iter_problems(path)]
    assert kinds == ["Problem", "Reject", "Problem"]


# ---- write_rejects -------------------------------------------------------------------------


def test_write_rejects_round_trip_atomic_and_stale_file_removed(tmp_path: Path) -> None:
    _, rejects = load_problems(ROOT / "examples" / "broken.jsonl")
    out = tmp_path / "run" / "sub" / "rejects.jsonl"
    write_rejects(rejects, out)
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == len(rejects)
    for row, rej in zip(rows, rejects, strict=True):
        assert row == {
            "file": rej.path,
            "line": rej.line,
            "field": rej.field,
            "error": rej.message,
            "raw": rej.raw,
        }
    assert sorted(p.name for p in out.parent.iterdir()) == ["rejects.jsonl"]  # no temp left
    write_rejects([], out)
    assert not out.exists()
    write_rejects([], tmp_path / "never" / "rejects.jsonl")
    assert not (tmp_path / "never").exists()


# ---- reference_steps -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("solution", "steps"),
    [
        ("A is 2.\n\n  B is 3.  \nThe answer is 5.", ["A is 2.", "B is 3.", "The answer is 5."]),
        (
            "He pays 3.5 dollars. Then 2 more. So 5.5 total.",
            ["He pays 3.5 dollars.", "Then 2 more.", "So 5.5 total."],
        ),
        ("It is 2+2=<<2+2=4>>4 now", ["It is 2+2=4 now"]),
        ("one step only", ["one step only"]),
        ("", []),
        ("  \n \n", []),
        ("Is it 4? Yes. it is.", ["Is it 4?", "Yes. it is."]),  # lower case: no split
        ("Mr. Smith has 3. He buys 2.", ["Mr. Smith has 3.", "He buys 2."]),
        (
            "The sum is $1 + 2 = 3. 3 \\cdot 2 = 6$. So the answer is $\\boxed{6}$.",
            ["The sum is $1 + 2 = 3. 3 \\cdot 2 = 6$.", "So the answer is $\\boxed{6}$."],
        ),
        ("It costs $5. Then he pays $3. So $8.", ["It costs $5.", "Then he pays $3.", "So $8."]),
        ("It costs \\$5. Then $x = 1$. Done.", ["It costs \\$5.", "Then $x = 1$.", "Done."]),
        (
            "We get\n$$\nx = 1. Y = 2\n$$\nso done.",
            ["We get", "$$\nx = 1. Y = 2\n$$", "so done."],
        ),
        (
            "Then\n\\begin{align*}\na &= 1\\\\\nb &= 2\n\\end{align*}\nDone.",
            ["Then", "\\begin{align*}\na &= 1\\\\\nb &= 2\n\\end{align*}", "Done."],
        ),
    ],
)
def test_reference_steps(solution: str, steps: list[str]) -> None:
    assert reference_steps(solution) == steps


def test_reference_steps_strips_calc_marks_idempotently() -> None:
    problems, _ = load_problems(DATA / "gsm8k_sample.jsonl")
    raw = json.loads((DATA / "gsm8k_sample.jsonl").read_text(encoding="utf-8").splitlines()[0])
    worked = raw["answer"].split("####")[0]
    assert problems[0].solution is not None
    assert (
        reference_steps(worked)
        == reference_steps(problems[0].solution)
        == [
            "Janet sells 16 - 3 - 4 = 9 duck eggs a day.",
            "She makes 9 * 2 = $18 every day at the farmer\u2019s market.",
        ]
    )
