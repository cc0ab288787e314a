"""Hand-built tree parts and fake-run inputs shared by several test files."""

from __future__ import annotations

import json
from pathlib import Path

from journeygen.judges.labels import backup_labels
from journeygen.models import Node, Problem, Verdict

PROBLEM = Problem(id="apples", question="Tom has 3 apples and buys 5 more. How many?", answer="8")


def leaf(
    node_id: str,
    parent: str | None,
    text: str,
    answer: str | None,
    *extra: Verdict,
    gold: str = "8",
    scored: bool = True,
    gold_words: str = "the gold answer",
) -> Node:
    """A terminal step whose `answer` verdict compares its final answer with `gold`; `scored`
    gives that verdict a 1.0/0.0 score, `extra` verdicts follow it."""
    ok = answer == gold
    reason = f"final answer {answer} " + ("matches" if ok else "does not match")
    verdict = Verdict(
        judge="answer",
        label="correct" if ok else "incorrect",
        score=(1.0 if ok else 0.0) if scored else None,
        reason=f"{reason} {gold_words} {gold}" if answer else "no final answer",
    )
    return Node(
        id=node_id,
        parent=parent,
        text=text,
        terminal=True,
        answer=answer,
        verdicts=[verdict, *extra],
    )


def judged_start(node_id: str = "1") -> Node:
    """The first step "Tom starts with 3 apples." with an LLM judge's `correct` verdict: the
    evidence an inner step needs when too few of its continuations reach the gold answer."""
    verdict = Verdict(
        judge="llm", label="correct", score=1.0, reason="it states the count the question gives"
    )
    return Node(id=node_id, parent=None, text="Tom starts with 3 apples.", verdicts=[verdict])


def apples_nodes(buys: str = "He buys 4 more.") -> list[Node]:
    """The apples hand tree, labels backed up; `buys` is the text of the wrong step 1.2.

    1  Tom starts with 3 apples.            (correct path)
    ├─ 1.1  3 + 5 = 8. The answer is 8.     (correct leaf)
    └─ 1.2  He buys 4 more.                 (wrong: its only leaf is wrong)
       └─ 1.2.1  3 + 4 = 7. The answer is 7.
    2  The answer is 9.                     (wrong leaf at the first step)
    3  Tom has no apples.                   (nothing below it finished: unknown)
    """
    nodes = [
        Node(id="1", parent=None, text="Tom starts with 3 apples."),
        leaf("2", None, "The answer is 9.", "9"),
        Node(id="3", parent=None, text="Tom has no apples."),
        leaf("1.1", "1", "3 + 5 = 8. The answer is 8.", "8"),
        Node(id="1.2", parent="1", text=buys),
        leaf("1.2.1", "1.2", "3 + 4 = 7. The answer is 7.", "7"),
    ]
    backup_labels(nodes, "8")
    return nodes


# Two problems for a CLI run on the fake backend, and the script it answers them with.
PROBLEMS = [
    {
        "id": "apples",
        "question": "Tom has 3 apples and buys 5 more. How many?",
        "answer": "8",
        "solution": "3 + 5 = 8.\nThe answer is 8.",
    },
    {
        "id": "pens",
        "question": "Ann has 10 pens and gives away 2. How many are left?",
        "answer": "8",
    },
]
SCRIPT = {
    "responses": [
        "First I add the numbers.",
        "The answer is 9.",
        "So the total is 8. The answer is 8.",
        "The answer is 7.",
    ],
    "cycle": True,
}


def fake_run_inputs(tmp_path: Path, broken_line: int = 1) -> tuple[Path, Path]:
    """`demo.jsonl` with PROBLEMS and one broken JSON line at index `broken_line` (line 2 by
    default), and `script.json` with SCRIPT, both in `tmp_path`."""
    problems = tmp_path / "demo.jsonl"
    lines = [json.dumps(row) for row in PROBLEMS]
    lines.insert(broken_line, '{"question": ')
    problems.write_text("\n".join(lines) + "\n")
    script = tmp_path / "script.json"
    script.write_text(json.dumps(SCRIPT))
    return problems, script
