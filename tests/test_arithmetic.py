"""The arithmetic judge checks explicit claims exactly and leaves look-alike text alone."""
# ruff: noqa: RUF001  (the judge reads the multiplication and minus signs models write)

from __future__ import annotations

import pytest

from journeygen.judges.arithmetic import ArithmeticJudge, check_claims
from journeygen.models import Node, Problem, Verdict

PROBLEM = Problem(id="p", question="?", answer="1")


@pytest.mark.parametrize(
    "text",
    [
        "Half of them is 48 / 2 = 24 clips.",
        "5 × 12 = 60",
        "3 x 4 = 12",
        "3 * 4 = 12 and 12 ÷ 3 = 4",
        "She pays 3 × $6 = $18.",
        "1,200 + 300 = 1,500 people",
        "1,000,000 / 1,000 = 1,000",
        "$1.50 × 4 = $6.00",
        "0.1 + 0.2 = 0.3",
        "10 / 4 = 2.5",
        "10 / 3 = 3.33",  # rounded to the places written
        "2/3 = 0.66",  # truncated to the places written
        "1/4 = 25%",
        "20% of 50 = 10",
        "50 × 20% = 10",
        "15 / 60 × 100 = 25%",
        "6 × 3/4 = 4 1/2 cups",
        "(3 + 5) × 2 = 16.",
        "10 - 2 − 3 = 5",
        "2^10 = 1024",
        "24 = 48 / 2",
        "3 × 3.3 ≈ 10",
        r"1/3 \approx 0.33",  # no `=` anywhere: the approximate signs alone make a claim
        r"$\frac{3}{4} \times 8 = 6$",
        r"$2^9\cdot 5^4 = 512\cdot 625 = 320,\!000$",
        "<<48/2=24>>24",
        "**3 + 4 = 7**",
    ],
)
def test_right_claims_hold(text: str) -> None:
    claims = check_claims(text)
    assert claims, f"no claim found in {text!r}"
    assert all(claim.holds for claim in claims), [c.reason for c in claims]


@pytest.mark.parametrize(
    ("text", "reasons"),
    [
        ("So 48 × 5 = 204 clips.", ["48 × 5 is 240, not 204"]),
        (r"2 \times 5 \approx 12", [r"2 \times 5 is 10, not 12"]),
        ("She earns 0.2 × 50 = $12.", ["0.2 × 50 is 10, not $12"]),
        ("He has 1,250 × 6 = 7,000 toys.", ["1,250 × 6 is 7500, not 7,000"]),
        ("8 × $1.25 = $10.50", ["8 × $1.25 is 10, not $10.50"]),
        ("10 / 3 = 3.4", ["10 / 3 is 10/3 (about 3.3333), not 3.4"]),
        ("7 / 2 = 3", ["7 / 2 is 3.5, not 3"]),
        ("20% of 50 = 12", ["20% of 50 is 10, not 12"]),
        ("1/4 = 20%", ["1/4 is 0.25, not 20%"]),
        ("3 + 5 = 2 × 5", ["3 + 5 is 8, but 2 × 5 is 10"]),
        ("5 / 0 = 0", ["5 / 0 divides by zero"]),
        ("3 × 4 = 12 and 12 + 5 = 18", ["12 + 5 is 17, not 18"]),
    ],
)
def test_wrong_claims_are_named_precisely(text: str, reasons: list[str]) -> None:
    assert [claim.reason for claim in check_claims(text) if not claim.holds] == reasons


def test_a_chain_is_read_as_running_work() -> None:
    right = check_claims("3 + 5 = 8 + 2 = 10")
    assert [(c.holds, c.reason) for c in right] == [(True, "3 + 5 = 8"), (True, "8 + 2 = 10")]
    wrong = check_claims("3 + 5 = 9 + 2 = 11")
    assert [(c.holds, c.reason) for c in wrong] == [
        (False, "3 + 5 is 8, not 9"),
        (True, "9 + 2 = 11"),
    ]
    assert [c.reason for c in check_claims("3 × 5 = 15 + 2 = 18") if not c.holds] == [
        "15 + 2 is 17, not 18"
    ]
    assert [c.reason for c in check_claims("2 + 2 = 4 = 5") if not c.holds] == ["4 is 4, not 5"]


@pytest.mark.parametrize(
    "text",
    [
        "The fair is on 2024-01-05 = a Friday.",
        "On 2024-01-05 = 5 people came.",
        "Pages 3-5 = 3 pages.",
        "Call 555-1234 for 10 = tickets.",
        "The train leaves at 3:30 = 210 minutes after noon.",
        "The ratio 2:3 = 4:6.",
        "Version 1.2.3 = 4",
        "On 01/05/2024 = 3",
        "5 apples × 3 = 15 apples",  # a unit inside the expression
        "2x + 3 = 7",
        "x = 5",
        "3x = 12",
        "f(3) = 9",
        "cell A2 = 5",
        "half of 10 = 5",
        "10 percent of 50 = 5",
        "12 = 1 dozen",
        "50 + 10% = 55",  # 10% of what? ambiguous
        "3 + 2 = 5x",
        "so 10-3=7",  # unspaced hyphens read as ranges: not checked
        "3 + 4 ≠ 8 and 2 + 2 <= 5",
    ],
)
def test_text_that_only_looks_like_arithmetic_is_left_alone(text: str) -> None:
    assert [c for c in check_claims(text) if not c.holds] == []


def test_look_alikes_do_not_hide_a_real_claim_in_the_same_step() -> None:
    text = "On 2024-01-05 at 3:30, call 555-1234: 4 × 6 = 26 seats."
    assert [c.reason for c in check_claims(text)] == ["4 × 6 is 24, not 26"]


async def test_judge_marks_a_wrong_step_incorrect_with_every_failed_claim() -> None:
    node = Node(id="1", parent=None, text="So 48 × 5 = 204 and 204 + 6 = 210, but 3 + 3 = 7.")
    verdicts = await ArithmeticJudge().judge(PROBLEM, [], node)
    assert verdicts == [
        Verdict(
            judge="arithmetic",
            label="incorrect",
            score=0.0,
            reason="48 × 5 is 240, not 204; 3 + 3 is 6, not 7",
        )
    ]


async def test_judge_lists_right_claims_without_claiming_the_step_is_right() -> None:
    node = Node(id="1", parent=None, text="48 / 2 = 24 and 24 × 3 = 72.", terminal=True)
    verdicts = await ArithmeticJudge().judge(PROBLEM, [], node)
    assert verdicts == [
        Verdict(
            judge="arithmetic",
            label="unknown",
            score=None,
            reason="checked 48 / 2 = 24; 24 × 3 = 72",
        )
    ]


async def test_judge_says_nothing_about_a_step_without_claims() -> None:
    node = Node(id="1", parent=None, text="On 2024-01-05 she bought some pens.")
    assert await ArithmeticJudge().judge(PROBLEM, [], node) == []
